/// The Identify Controller data structure (CNS 01h), 4096 bytes (NVMe Base 2.0, figure
/// "Identify - Identify Controller Data Structure"). Only the fields this driver uses are
/// decoded; `encode()` writes them back at the same offsets (the mock serves it that way).
/// The offsets are in `IdentifyController.Offset`.
public struct IdentifyController: Sendable, Hashable {
    /// Size of the structure in bytes.
    public static let size = 4096

    /// PCI Vendor ID.
    public var vid: UInt16 = 0
    /// PCI Subsystem Vendor ID.
    public var ssvid: UInt16 = 0
    /// Serial Number, 20 ASCII characters.
    public var serialNumber: String = ""
    /// Model Number, 40 ASCII characters.
    public var modelNumber: String = ""
    /// Firmware Revision, 8 ASCII characters.
    public var firmwareRevision: String = ""
    /// IEEE OUI Identifier (3 bytes, least significant first).
    public var ieee: UInt32 = 0
    /// Maximum Data Transfer Size as a power of two in units of CAP.MPSMIN; 0 means no limit.
    public var mdts: UInt8 = 0
    /// Controller ID.
    public var cntlid: UInt16 = 0
    /// Version the controller implements (same layout as the VS register).
    public var ver: UInt32 = 0
    /// RTD3 Resume Latency in microseconds (0: not reported).
    public var rtd3r: UInt32 = 0
    /// RTD3 Entry Latency in microseconds (0: not reported): how long a normal shutdown may take.
    public var rtd3e: UInt32 = 0
    /// Optional Admin Command Support.
    public var oacs: UInt16 = 0
    /// Abort Command Limit, 0's based.
    public var acl: UInt8 = 0
    /// Asynchronous Event Request Limit, 0's based.
    public var aerl: UInt8 = 0
    /// Log Page Attributes.
    public var lpa: UInt8 = 0
    /// Error Log Page Entries, 0's based.
    public var elpe: UInt8 = 0
    /// Number of Power States Support, 0's based (0: one power state). A device model that
    /// fills `powerStates` sets this to their count - 1.
    public var npss: UInt8 = 0
    /// Submission Queue Entry Size: required (3:0) and maximum (7:4), as powers of two.
    public var sqes: UInt8 = 0x66
    /// Completion Queue Entry Size: required (3:0) and maximum (7:4), as powers of two.
    public var cqes: UInt8 = 0x44
    /// Maximum Outstanding Commands (fabrics); 0 on PCIe.
    public var maxcmd: UInt16 = 0
    /// Number of Namespaces: the largest namespace ID the controller supports.
    public var nn: UInt32 = 0
    /// Optional NVM Command Support.
    public var oncs: OptionalNVMCommands = []
    /// Fused Operation Support: bit 0 Compare and Write.
    public var fuses: UInt16 = 0
    /// Format NVM Attributes.
    public var fna: UInt8 = 0
    /// Volatile Write Cache: bit 0 present.
    public var vwc: UInt8 = 0
    /// Atomic Write Unit Normal, 0's based blocks.
    public var awun: UInt16 = 0
    /// Atomic Write Unit Power Fail, 0's based blocks.
    public var awupf: UInt16 = 0
    /// Atomic Compare & Write Unit, 0's based blocks.
    public var acwu: UInt16 = 0
    /// SGL Support.
    public var sgls: UInt32 = 0
    /// Maximum Number of Allowed Namespaces.
    public var mnan: UInt32 = 0
    /// NVM Subsystem NVMe Qualified Name.
    public var subnqn: String = ""
    /// Power State Descriptors PS0...PSn (at most 32); decoding reads NPSS + 1 of them.
    public var powerStates: [PowerStateDescriptor] = [PowerStateDescriptor()]

    /// Whether a volatile write cache is present (VWC bit 0).
    public var volatileWriteCachePresent: Bool { vwc & 1 == 1 }
    /// Whether SGLs are supported for NVM commands (SGLS bits 1:0 non-zero).
    public var supportsSGL: Bool { sgls & 0b11 != 0 }
    /// Whether SGL data blocks must be dword aligned (SGLS bits 1:0 = 10b).
    public var sglRequiresDwordAlignment: Bool { sgls & 0b11 == 0b10 }
    /// Whether Compare and Write may be fused (FUSES bit 0).
    public var supportsCompareAndWrite: Bool { fuses & 1 == 1 }
    /// OACS bit 8: the controller supports Doorbell Buffer Config (shadow doorbells, NVMe 1.3).
    public var supportsDoorbellBufferConfig: Bool { oacs & (1 << 8) != 0 }

    /// The maximum transfer in bytes for a given minimum page size, or nil when unlimited.
    public func maximumTransferBytes(minimumPageSize: Int) -> Int? {
        mdts == 0 ? nil : minimumPageSize << Int(mdts)
    }

    /// An all-zero structure except SQES 66h and CQES 44h (64- and 16-byte entries); a device
    /// model fills in the rest.
    public init() {}

    /// Decodes the structure from 4096 bytes.
    /// - Precondition: `bytes` holds at least `IdentifyController.size` bytes.
    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= Self.size, "Identify Controller is 4096 bytes")
        vid = bytes.le(UInt16.self, at: Offset.vid)
        ssvid = bytes.le(UInt16.self, at: Offset.ssvid)
        serialNumber = ASCIIField.decode(bytes, at: Offset.sn, length: 20)
        modelNumber = ASCIIField.decode(bytes, at: Offset.mn, length: 40)
        firmwareRevision = ASCIIField.decode(bytes, at: Offset.fr, length: 8)
        ieee = UInt32(bytes[Offset.ieee]) | UInt32(bytes[Offset.ieee + 1]) << 8 | UInt32(bytes[Offset.ieee + 2]) << 16
        mdts = bytes[Offset.mdts]
        cntlid = bytes.le(UInt16.self, at: Offset.cntlid)
        ver = bytes.le(UInt32.self, at: Offset.ver)
        rtd3r = bytes.le(UInt32.self, at: Offset.rtd3r)
        rtd3e = bytes.le(UInt32.self, at: Offset.rtd3e)
        oacs = bytes.le(UInt16.self, at: Offset.oacs)
        acl = bytes[Offset.acl]
        aerl = bytes[Offset.aerl]
        lpa = bytes[Offset.lpa]
        elpe = bytes[Offset.elpe]
        npss = bytes[Offset.npss]
        // NPSS is 0's based and the table holds 32 descriptors, so a larger value is capped.
        let states = min(Int(npss), 31) + 1
        powerStates = (0..<states).map { PowerStateDescriptor(bytes: bytes, at: Offset.psd + PowerStateDescriptor.size * $0) }
        sqes = bytes[Offset.sqes]
        cqes = bytes[Offset.cqes]
        maxcmd = bytes.le(UInt16.self, at: Offset.maxcmd)
        nn = bytes.le(UInt32.self, at: Offset.nn)
        oncs = OptionalNVMCommands(rawValue: bytes.le(UInt16.self, at: Offset.oncs))
        fuses = bytes.le(UInt16.self, at: Offset.fuses)
        fna = bytes[Offset.fna]
        vwc = bytes[Offset.vwc]
        awun = bytes.le(UInt16.self, at: Offset.awun)
        awupf = bytes.le(UInt16.self, at: Offset.awupf)
        acwu = bytes.le(UInt16.self, at: Offset.acwu)
        sgls = bytes.le(UInt32.self, at: Offset.sgls)
        mnan = bytes.le(UInt32.self, at: Offset.mnan)
        subnqn = ASCIIField.decode(bytes, at: Offset.subnqn, length: 256).replacingNULs()
    }

    /// Encodes the decoded fields at their offsets; every other byte is zero.
    /// - Precondition: `bytes` holds at least `IdentifyController.size` bytes.
    public func encode(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.size, "Identify Controller is 4096 bytes")
        for index in 0..<Self.size { bytes[index] = 0 }
        bytes.storeLE(vid, at: Offset.vid)
        bytes.storeLE(ssvid, at: Offset.ssvid)
        ASCIIField.encode(serialNumber, into: bytes, at: Offset.sn, length: 20)
        ASCIIField.encode(modelNumber, into: bytes, at: Offset.mn, length: 40)
        ASCIIField.encode(firmwareRevision, into: bytes, at: Offset.fr, length: 8)
        bytes[Offset.ieee] = UInt8(truncatingIfNeeded: ieee)
        bytes[Offset.ieee + 1] = UInt8(truncatingIfNeeded: ieee >> 8)
        bytes[Offset.ieee + 2] = UInt8(truncatingIfNeeded: ieee >> 16)
        bytes[Offset.mdts] = mdts
        bytes.storeLE(cntlid, at: Offset.cntlid)
        bytes.storeLE(ver, at: Offset.ver)
        bytes.storeLE(rtd3r, at: Offset.rtd3r)
        bytes.storeLE(rtd3e, at: Offset.rtd3e)
        bytes.storeLE(oacs, at: Offset.oacs)
        bytes[Offset.acl] = acl
        bytes[Offset.aerl] = aerl
        bytes[Offset.lpa] = lpa
        bytes[Offset.elpe] = elpe
        bytes[Offset.npss] = npss
        for (index, state) in powerStates.prefix(32).enumerated() {
            state.encode(into: bytes, at: Offset.psd + PowerStateDescriptor.size * index)
        }
        bytes[Offset.sqes] = sqes
        bytes[Offset.cqes] = cqes
        bytes.storeLE(maxcmd, at: Offset.maxcmd)
        bytes.storeLE(nn, at: Offset.nn)
        bytes.storeLE(oncs.rawValue, at: Offset.oncs)
        bytes.storeLE(fuses, at: Offset.fuses)
        bytes[Offset.fna] = fna
        bytes[Offset.vwc] = vwc
        bytes.storeLE(awun, at: Offset.awun)
        bytes.storeLE(awupf, at: Offset.awupf)
        bytes.storeLE(acwu, at: Offset.acwu)
        bytes.storeLE(sgls, at: Offset.sgls)
        bytes.storeLE(mnan, at: Offset.mnan)
        let nqn = Array(subnqn.utf8.prefix(255))
        for (index, byte) in nqn.enumerated() { bytes[Offset.subnqn + index] = byte }
    }

    /// The encoded 4096 bytes.
    public func encoded() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.size)
        out.withUnsafeMutableBytes { encode(into: $0) }
        return out
    }
}

/// ONCS - Optional NVM Command Support bits.
public struct OptionalNVMCommands: OptionSet, Sendable, Hashable {
    /// The ONCS field, bytes 521:520 of Identify Controller.
    public let rawValue: UInt16
    /// Wraps an ONCS value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// Bit 0: Compare.
    public static let compare = OptionalNVMCommands(rawValue: 1 << 0)
    /// Bit 1: Write Uncorrectable.
    public static let writeUncorrectable = OptionalNVMCommands(rawValue: 1 << 1)
    /// Bit 2: Dataset Management.
    public static let datasetManagement = OptionalNVMCommands(rawValue: 1 << 2)
    /// Bit 3: Write Zeroes.
    public static let writeZeroes = OptionalNVMCommands(rawValue: 1 << 3)
    /// Bit 4: the Save field of Set Features and the Select field of Get Features.
    public static let saveAndSelectFeatures = OptionalNVMCommands(rawValue: 1 << 4)
    /// Bit 5: reservations.
    public static let reservations = OptionalNVMCommands(rawValue: 1 << 5)
    /// Bit 6: the Timestamp feature.
    public static let timestamp = OptionalNVMCommands(rawValue: 1 << 6)
    /// Bit 7: Verify.
    public static let verify = OptionalNVMCommands(rawValue: 1 << 7)
    /// Bit 8: Copy.
    public static let copy = OptionalNVMCommands(rawValue: 1 << 8)
}

extension String {
    /// SUBNQN is NUL padded rather than space padded.
    func replacingNULs() -> String { split(separator: "\0", maxSplits: 1).first.map(String.init) ?? "" }
}
