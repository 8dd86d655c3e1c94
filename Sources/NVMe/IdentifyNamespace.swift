/// The Identify Namespace data structure for the NVM command set (CNS 00h), 4096 bytes
/// (NVM Command Set 1.0, figure "Identify - Identify Namespace Data Structure").
/// The offsets are in `IdentifyNamespace.Offset`.
public struct IdentifyNamespace: Sendable, Hashable {
    /// Size of the structure in bytes.
    public static let size = 4096

    /// Namespace Size in logical blocks.
    public var nsze: UInt64 = 0
    /// Namespace Capacity in logical blocks.
    public var ncap: UInt64 = 0
    /// Namespace Utilization in logical blocks.
    public var nuse: UInt64 = 0
    /// Namespace Features (bit 0: thin provisioning; bit 1: NAWUN/NAWUPF/NACWU valid).
    public var nsfeat: UInt8 = 0
    /// Number of LBA Formats, 0's based.
    public var nlbaf: UInt8 = 0
    /// Formatted LBA Size: format index low bits (3:0), extended metadata (4), index high bits (6:5).
    public var flbas: UInt8 = 0
    /// Metadata Capabilities.
    public var mc: UInt8 = 0
    /// End-to-end Data Protection Capabilities.
    public var dpc: UInt8 = 0
    /// End-to-end Data Protection Type Settings.
    public var dps: UInt8 = 0
    /// Namespace Multi-path I/O and Namespace Sharing Capabilities.
    public var nmic: UInt8 = 0
    /// Deallocate Logical Block Features: bits 2:0 = 001b means deallocated blocks read as zeros.
    public var dlfeat: UInt8 = 0
    /// Namespace Atomic Write Unit Normal, 0's based.
    public var nawun: UInt16 = 0
    /// Namespace Atomic Write Unit Power Fail, 0's based.
    public var nawupf: UInt16 = 0
    /// Namespace Atomic Compare & Write Unit, 0's based.
    public var nacwu: UInt16 = 0
    /// Namespace Optimal I/O Boundary, in logical blocks.
    public var noiob: UInt16 = 0
    /// Namespace Preferred Write Granularity, 0's based.
    public var npwg: UInt16 = 0
    /// Namespace Preferred Deallocate Granularity, 0's based.
    public var npdg: UInt16 = 0
    /// Namespace Optimal Write Size, 0's based.
    public var nows: UInt16 = 0
    /// Namespace Globally Unique Identifier (16 bytes, all zero when absent).
    public var nguid: [UInt8] = Array(repeating: 0, count: 16)
    /// IEEE Extended Unique Identifier (8 bytes, all zero when absent).
    public var eui64: [UInt8] = Array(repeating: 0, count: 8)
    /// LBA Format descriptors; `nlbaf + 1` of them are valid.
    public var lbaFormats: [LBAFormat] = [LBAFormat(metadataSize: 0, lbaDataSizeShift: 9, relativePerformance: 0)]

    /// A 512-byte-block namespace with every other field zero; a device model fills in the rest.
    public init() {}

    /// Index of the LBA format in use (FLBAS bits 3:0 plus bits 6:5 as the high bits).
    public var formattedLBAIndex: Int { Int(flbas & 0xF) | Int((flbas >> 5) & 0x3) << 4 }
    /// The LBA format in use.
    public var formattedLBAFormat: LBAFormat {
        // A decoded structure always has NLBAF + 1 formats; a hand-built one may have none, and
        // then 512-byte blocks, the smallest the NVM command set allows, are assumed.
        lbaFormats.indices.contains(formattedLBAIndex) ? lbaFormats[formattedLBAIndex] : lbaFormats.first ?? LBAFormat(lbaDataSizeShift: 9)
    }
    /// Logical block size in bytes.
    public var blockSize: Int { 1 << Int(formattedLBAFormat.lbaDataSizeShift) }
    /// Whether deallocated blocks read back as all zeros (DLFEAT bits 2:0 = 001b).
    public var deallocatedBlocksReadZero: Bool { dlfeat & 0b111 == 0b001 }

    /// Decodes the structure from 4096 bytes; `lbaFormats` gets NLBAF + 1 descriptors (at most 64).
    /// - Precondition: `bytes` holds at least `IdentifyNamespace.size` bytes.
    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= Self.size, "Identify Namespace is 4096 bytes")
        nsze = bytes.le(UInt64.self, at: Offset.nsze)
        ncap = bytes.le(UInt64.self, at: Offset.ncap)
        nuse = bytes.le(UInt64.self, at: Offset.nuse)
        nsfeat = bytes[Offset.nsfeat]
        nlbaf = bytes[Offset.nlbaf]
        flbas = bytes[Offset.flbas]
        mc = bytes[Offset.mc]
        dpc = bytes[Offset.dpc]
        dps = bytes[Offset.dps]
        nmic = bytes[Offset.nmic]
        dlfeat = bytes[Offset.dlfeat]
        nawun = bytes.le(UInt16.self, at: Offset.nawun)
        nawupf = bytes.le(UInt16.self, at: Offset.nawupf)
        nacwu = bytes.le(UInt16.self, at: Offset.nacwu)
        noiob = bytes.le(UInt16.self, at: Offset.noiob)
        npwg = bytes.le(UInt16.self, at: Offset.npwg)
        npdg = bytes.le(UInt16.self, at: Offset.npdg)
        nows = bytes.le(UInt16.self, at: Offset.nows)
        nguid = Array(bytes[Offset.nguid..<(Offset.nguid + 16)])
        eui64 = Array(bytes[Offset.eui64..<(Offset.eui64 + 8)])
        lbaFormats = (0...Int(min(nlbaf, 63))).map { index in
            LBAFormat(raw: bytes.le(UInt32.self, at: Offset.lbaf + 4 * index))
        }
    }

    /// Encodes the decoded fields at their offsets; every other byte is zero.
    /// - Precondition: `bytes` holds at least `IdentifyNamespace.size` bytes.
    public func encode(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.size, "Identify Namespace is 4096 bytes")
        for index in 0..<Self.size { bytes[index] = 0 }
        bytes.storeLE(nsze, at: Offset.nsze)
        bytes.storeLE(ncap, at: Offset.ncap)
        bytes.storeLE(nuse, at: Offset.nuse)
        bytes[Offset.nsfeat] = nsfeat
        bytes[Offset.nlbaf] = nlbaf
        bytes[Offset.flbas] = flbas
        bytes[Offset.mc] = mc
        bytes[Offset.dpc] = dpc
        bytes[Offset.dps] = dps
        bytes[Offset.nmic] = nmic
        bytes[Offset.dlfeat] = dlfeat
        bytes.storeLE(nawun, at: Offset.nawun)
        bytes.storeLE(nawupf, at: Offset.nawupf)
        bytes.storeLE(nacwu, at: Offset.nacwu)
        bytes.storeLE(noiob, at: Offset.noiob)
        bytes.storeLE(npwg, at: Offset.npwg)
        bytes.storeLE(npdg, at: Offset.npdg)
        bytes.storeLE(nows, at: Offset.nows)
        for (index, byte) in nguid.prefix(16).enumerated() { bytes[Offset.nguid + index] = byte }
        for (index, byte) in eui64.prefix(8).enumerated() { bytes[Offset.eui64 + index] = byte }
        for (index, format) in lbaFormats.prefix(64).enumerated() {
            bytes.storeLE(format.raw, at: Offset.lbaf + 4 * index)
        }
    }

    /// The encoded 4096 bytes.
    public func encoded() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.size)
        out.withUnsafeMutableBytes { encode(into: $0) }
        return out
    }
}

/// An LBA Format descriptor: Metadata Size (15:0), LBA Data Size as a power of two (23:16),
/// Relative Performance (25:24).
public struct LBAFormat: Sendable, Hashable {
    /// MS: metadata bytes per logical block (0: no metadata).
    public var metadataSize: UInt16
    /// LBADS: the logical block size as a power of two (9 for 512 bytes, 12 for 4096).
    public var lbaDataSizeShift: UInt8
    /// RP: relative performance, 0 (best) to 3 (degraded).
    public var relativePerformance: UInt8

    /// A descriptor from its fields; only the low 2 bits of `relativePerformance` are kept on the wire.
    public init(metadataSize: UInt16 = 0, lbaDataSizeShift: UInt8, relativePerformance: UInt8 = 0) {
        self.metadataSize = metadataSize
        self.lbaDataSizeShift = lbaDataSizeShift
        self.relativePerformance = relativePerformance
    }

    /// Decodes the 32-bit descriptor as it sits in Identify Namespace (bits 31:26 reserved).
    public init(raw: UInt32) {
        metadataSize = UInt16(truncatingIfNeeded: raw)
        lbaDataSizeShift = UInt8(truncatingIfNeeded: raw >> 16)
        relativePerformance = UInt8(truncatingIfNeeded: raw >> 24) & 0b11
    }

    /// The 32-bit descriptor as Identify Namespace carries it.
    public var raw: UInt32 {
        UInt32(metadataSize) | UInt32(lbaDataSizeShift) << 16 | UInt32(relativePerformance & 0b11) << 24
    }
}
