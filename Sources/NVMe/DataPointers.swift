/// A PRP entry is a 64-bit memory page address; only the first entry of a command may carry an
/// offset into its page, and bits 1:0 are always zero (dword alignment).
public enum PRP {
    /// Entries in one PRP list page: the last entry of a full page chains to the next list page.
    @inlinable public static func entriesPerListPage(pageSize: Int) -> Int { pageSize / 8 }
}

/// A 16-byte SGL descriptor (NVMe Base 2.0, "SGL Descriptor Format").
/// Bytes 0-7 address, 8-11 length, 12-14 reserved, byte 15 identifier: type (7:4), subtype (3:0).
public struct SGLDescriptor: Sendable, Hashable, BitwiseCopyable {
    /// Bytes 0-7.
    public var low: UInt64
    /// Bytes 8-15.
    public var high: UInt64

    public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    public init(type: SGLDescriptorType, subtype: UInt8 = 0, address: UInt64, length: UInt32) {
        low = address
        high = UInt64(length) | UInt64((type.rawValue << 4) | (subtype & 0xF)) << 56
    }

    /// Wire size in bytes.
    public static let size = 16

    /// Address field (bytes 0-7).
    @inlinable public var address: UInt64 { low }
    /// Length field (bytes 8-11).
    @inlinable public var length: UInt32 { UInt32(truncatingIfNeeded: high) }
    /// SGL Identifier byte (byte 15).
    @inlinable public var identifier: UInt8 { UInt8(truncatingIfNeeded: high >> 56) }
    /// Descriptor type, or nil for a reserved type.
    @inlinable public var type: SGLDescriptorType? { SGLDescriptorType(rawValue: identifier >> 4) }
    /// Descriptor subtype (0 = address, 1 = offset).
    @inlinable public var subtype: UInt8 { identifier & 0xF }
}

/// SGL descriptor types.
public enum SGLDescriptorType: UInt8, Sendable, CaseIterable {
    case dataBlock = 0x0
    case bitBucket = 0x1
    case segment = 0x2
    case lastSegment = 0x3
    case keyedDataBlock = 0x4
    case transportDataBlock = 0x5
}

/// A Dataset Management range (NVM Command Set, "Dataset Management - Range Definition"): 16 bytes.
public struct DatasetManagementRange: Sendable, Hashable, BitwiseCopyable {
    /// Context Attributes (bytes 0-3).
    public var contextAttributes: UInt32
    /// Length in logical blocks (bytes 4-7); not 0's based.
    public var blockCount: UInt32
    /// Starting LBA (bytes 8-15).
    public var startingLBA: UInt64

    public init(contextAttributes: UInt32 = 0, blockCount: UInt32, startingLBA: UInt64) {
        self.contextAttributes = contextAttributes
        self.blockCount = blockCount
        self.startingLBA = startingLBA
    }

    public static let size = 16
}

/// Dataset Management CDW11 attribute bits.
public enum DatasetManagementAttribute {
    /// Integral Dataset for Read.
    public static let integralRead: UInt32 = 1 << 0
    /// Integral Dataset for Write.
    public static let integralWrite: UInt32 = 1 << 1
    /// Deallocate.
    public static let deallocate: UInt32 = 1 << 2
}
