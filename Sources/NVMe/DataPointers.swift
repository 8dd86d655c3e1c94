/// A PRP entry is a 64-bit memory page address; only the first entry of a command may carry an
/// offset into its page, and bits 1:0 are always zero (dword alignment).
public enum PRP {
    /// Bytes of one PRP entry: a 64-bit address.
    public static let entrySize = 8

    /// Entries in one PRP list page of `pageSize` bytes (CC.MPS): 512 for 4 KiB pages. When a
    /// transfer needs more, the last entry of a full page points at the next list page instead.
    @inlinable public static func entriesPerListPage(pageSize: Int) -> Int { pageSize / 8 }
}

/// A 16-byte SGL descriptor (NVMe Base 2.0, "SGL Descriptor Format").
/// Bytes 0-7 address, 8-11 length, 12-14 reserved, byte 15 identifier: type (7:4), subtype (3:0).
public struct SGLDescriptor: Sendable, Hashable, BitwiseCopyable {
    /// Bytes 0-7.
    public var low: UInt64
    /// Bytes 8-15.
    public var high: UInt64

    /// A descriptor from its two little-endian halves, as read from a data pointer or a segment.
    public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    /// A descriptor of `type` for `length` bytes at `address`; the subtype's low 4 bits go to
    /// identifier bits 3:0 (0 for an address, 1 for an offset), the reserved bytes 12-14 stay zero.
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

/// SGL descriptor types (NVMe Base 2.0, figure "SGL Descriptor Type"), identifier bits 7:4.
public enum SGLDescriptorType: UInt8, Sendable, CaseIterable {
    /// 0h: Data Block - a run of host memory holding data.
    case dataBlock = 0x0
    /// 1h: Bit Bucket - data the host does not want (reads) and the controller discards.
    case bitBucket = 0x1
    /// 2h: Segment - points at the next SGL segment, which is followed by more.
    case segment = 0x2
    /// 3h: Last Segment - points at the final SGL segment.
    case lastSegment = 0x3
    /// 4h: Keyed Data Block - host memory named by a key (fabrics).
    case keyedDataBlock = 0x4
    /// 5h: Transport Data Block - data carried by the transport (fabrics).
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

    /// A range of `blockCount` blocks from `startingLBA`, with the given context attributes.
    public init(contextAttributes: UInt32 = 0, blockCount: UInt32, startingLBA: UInt64) {
        self.contextAttributes = contextAttributes
        self.blockCount = blockCount
        self.startingLBA = startingLBA
    }

    /// Wire size in bytes.
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
