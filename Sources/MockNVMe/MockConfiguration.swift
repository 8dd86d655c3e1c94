import Logging
import NVMe

/// One namespace of the mock: its size, logical block size, identifiers and where its durable
/// data lives. Checked when a controller is made (`MockConfiguration.validate()`).
public struct MockNamespace: Sendable, Hashable {
    /// Namespace Size (NSZE) in logical blocks, at least 1. Storage is sparse, so 66 TB costs
    /// nothing until written.
    public var blockCount: UInt64
    /// Logical block size in bytes: 512 or 4096.
    public var blockSize: Int
    /// A file for the durable layer (what survives a power cut), or nil to keep it in memory.
    /// The file is created if missing and sized to blockCount x blockSize as a sparse file, so
    /// unwritten blocks cost no disk; an existing file keeps its data, which is how a new
    /// controller on the same file sees a "reboot". The volatile write cache stays in memory:
    /// Flush, FUA and a normal shutdown write to the file (Flush and shutdown also fdatasync),
    /// a power cut or dropping the controller loses what is only cached. One controller at a
    /// time should use a file. Open with `MockController.open(configuration:iommu:)` to get
    /// a file error as a thrown `MockStorageError`.
    public var backingFile: String?
    /// Namespace Globally Unique Identifier: 16 bytes, not all zero, or nil for none. Reported in
    /// Identify Namespace bytes 104-119 (zeros when nil) and as an NIDT 02h descriptor (CNS 03h).
    public var nguid: [UInt8]?
    /// IEEE Extended Unique Identifier: 8 bytes, not all zero, or nil for none. Reported in
    /// Identify Namespace bytes 120-127 (zeros when nil) and as an NIDT 01h descriptor (CNS 03h).
    public var eui64: [UInt8]?
    /// Namespace UUID: 16 bytes, not all zero, or nil for none. Reported only as an NIDT 03h
    /// descriptor (CNS 03h); Identify Namespace has no field for it.
    public var uuid: [UInt8]?

    /// A namespace of `blockCount` blocks; by default 512-byte blocks kept in memory, with no
    /// identifiers.
    public init(blockCount: UInt64, blockSize: Int = 512, backingFile: String? = nil,
                nguid: [UInt8]? = nil, eui64: [UInt8]? = nil, uuid: [UInt8]? = nil) {
        self.blockCount = blockCount
        self.blockSize = blockSize
        self.backingFile = backingFile
        self.nguid = nguid
        self.eui64 = eui64
        self.uuid = uuid
    }

    /// log2 of the block size, as the LBA format stores it.
    var blockShift: Int { blockSize == 512 ? 9 : 12 }
}

/// How the mock runs the commands a doorbell write announces.
public enum ExecutionMode: Sendable, Hashable {
    /// The doorbell write processes the new entries on the caller's thread before it returns:
    /// deterministic, and the cheapest way to measure driver cost.
    case inline
    /// A device thread picks up doorbells and posts each completion `latency` after it fetched
    /// the command; with `outOfOrder`, completions that fall due together are posted shuffled
    /// and latencies are jittered (0.5x-1.5x), as a real device with parallel media would.
    case threaded(latency: Duration, outOfOrder: Bool)
}

/// Everything about the mock's geometry and capabilities a test may want to vary.
public struct MockConfiguration: Sendable {
    /// A name for messages (`DeviceInterface.name`).
    public var name = "mock-nvme"
    /// Namespaces 1...count, in order.
    public var namespaces: [MockNamespace] = [MockNamespace(blockCount: 1 << 21, blockSize: 512)]
    /// Maximum Data Transfer Size: 2^mdts units of the minimum page size; 0 means unlimited.
    /// At most 4 GiB (12 + mpsmin + mdts <= 32).
    public var mdts: UInt8 = 5
    /// CAP.MPSMIN: smallest memory page size, 2^(12 + n); 0...15.
    public var mpsmin: UInt8 = 0
    /// CAP.MPSMAX: largest memory page size, 2^(12 + n); mpsmin...15.
    public var mpsmax: UInt8 = 4
    /// I/O submission and completion queues the controller can grant (Number of Queues), 1...65535.
    public var ioQueueCount: Int = 16
    /// CAP.MQES: largest queue size, 0's based; at least 1 (two entries).
    public var mqes: UInt16 = 1023
    /// CAP.CQR: queues must be physically contiguous (PC=1).
    public var contiguousQueuesRequired = true
    /// CAP.DSTRD: doorbells are (4 << dstrd) bytes apart; 0...15.
    public var doorbellStride: UInt8 = 0
    /// CAP.TO in 500 ms units.
    public var timeout: UInt8 = 20
    /// Advertise and accept SGLs for NVM commands (SGLS = 01b, byte aligned).
    public var sglSupported = true
    /// Identify Controller VWC bit 0: a volatile write cache is present (and enabled after reset).
    public var volatileWriteCache = true
    /// Whether a shutdown (CC.SHN, normal or abrupt) makes the volatile write cache durable.
    /// False models a controller that relies on the host's Flush before shutdown (nothing in
    /// the spec requires the shutdown to write the cache back): the handshake still completes
    /// (CSTS.SHST = complete), but a power cut afterwards loses every write not flushed or FUA.
    public var shutdownPersistsWriteCache = true
    /// FUSES bit 0: fused Compare and Write. Needs Compare in `optionalNVMCommands`: the first
    /// command of the pair is a Compare.
    public var compareAndWrite = true
    /// Identify Controller ONCS: the optional NVM commands the controller supports, any of
    /// `implementedOptionalNVMCommands`. One left out completes with Invalid Command Opcode
    /// (SCT 0h, SC 01h), as on a controller that lacks it.
    public var optionalNVMCommands: OptionalNVMCommands = Self.implementedOptionalNVMCommands
    /// OACS bit 8: Doorbell Buffer Config (shadow doorbells and EventIdx, admin 7Ch) is offered.
    /// Off, the command completes with Invalid Command Opcode, as on a controller without it.
    public var doorbellBufferConfig = true
    /// AERL: Asynchronous Event Requests outstanding at once, 0's based.
    public var aerl: UInt8 = 3
    /// ACL: Abort commands outstanding at once, 0's based; more complete with Abort Command
    /// Limit Exceeded. An Abort is outstanding until its completion is posted, so only the
    /// threaded mode (or a full admin completion queue) can have more than one.
    public var acl: UInt8 = 3
    /// Error Information log entries kept (ELPE + 1), 1...256.
    public var errorLogEntries = 16
    /// Power states PS0...PSn (Identify Controller NPSS and descriptors; Power Management
    /// feature), 1 to 32 of them; PS0 must be operational, as it is the state after a reset.
    /// The mock processes commands the same in every state (a host that submits I/O in a
    /// non-operational state makes a real controller wake up, which costs only time).
    public var powerStates: [PowerStateDescriptor] = [
        PowerStateDescriptor(maximumPowerCentiwatts: 2500, entryLatency: 0, exitLatency: 0, relativePerformance: 0),
        PowerStateDescriptor(maximumPowerCentiwatts: 1200, entryLatency: 50, exitLatency: 50, relativePerformance: 1),
        PowerStateDescriptor(maximumPowerCentiwatts: 50, nonOperational: true, entryLatency: 5000, exitLatency: 10000,
                             relativePerformance: 2),
    ]
    /// Identify Controller serial number (up to 20 ASCII characters).
    public var serialNumber = "MOCK00000001"
    /// Identify Controller model number (up to 40 ASCII characters).
    public var modelNumber = "SwiftNVMe Mock Controller"
    /// Identify Controller firmware revision (up to 8 ASCII characters).
    public var firmwareRevision = "1.0"
    /// MSI-X vectors the controller has, 1...2048 (a PCIe function's MSI-X table holds at most
    /// 2048). Create I/O Completion Queue with IEN set refuses a vector beyond them with Invalid
    /// Interrupt Vector; a completion posted to a queue with IEN set raises its vector, which
    /// signals the eventfd the host gave it (`MockController.setInterruptTriggers`). With 1, the
    /// default, only vector 0 exists: I/O queues with interrupts share the admin queue's vector.
    public var interruptVectors = 1
    /// Inline or threaded execution.
    public var executionMode: ExecutionMode = .inline
    /// Null-device mode: Read/Write/Compare/Verify/Write Zeroes/DSM succeed at once with no data
    /// moved and nothing stored. For measuring driver cost, not for checking data.
    public var discardData = false
    /// Seed for probabilistic fault injection and out-of-order shuffling.
    public var randomSeed: UInt64 = 0x5EED
    /// Where the mock reports notable events (fatal configuration, DMA faults).
    public var logger: Logger? = nil

    /// The defaults above: one 1 GiB namespace of 512-byte blocks, MDTS 5 (128 KiB with 4 KiB
    /// pages), 16 I/O queues, SGLs, a write cache, three power states, inline execution.
    public init() {}

    /// The optional NVM commands the mock can execute: Compare (ONCS bit 0), Dataset Management
    /// (bit 2), Write Zeroes (bit 3) and Verify (bit 7). The other ONCS bits (Write Uncorrectable,
    /// Save/Select in features, reservations, Timestamp, Copy) name things it does not model.
    public static let implementedOptionalNVMCommands: OptionalNVMCommands = [.compare, .datasetManagement, .writeZeroes, .verify]

    /// The smallest memory page size in bytes (MDTS and PRP page units).
    public var minimumPageSize: Int { 1 << (12 + Int(mpsmin)) }

    /// The maximum data transfer in bytes, or nil when MDTS is 0 (no limit).
    public var maximumTransferBytes: Int? { mdts == 0 ? nil : minimumPageSize << Int(mdts) }
}
