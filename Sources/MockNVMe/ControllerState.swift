import SeededRandom
import DMAMapper
import Logging
import NVMe

/// A completion on its way to a completion queue.
struct PendingCompletion {
    var sqid: UInt16
    var commandID: UInt16
    var status: CompletionStatus
    var dw0: UInt32 = 0
    var hostile: HostileCompletion? = nil
    /// The completion of an Abort command: it counts against ACL until posted.
    var isAbort = false
}

/// A completion the threaded engine posts once `due` has passed.
struct ScheduledCompletion {
    var due: ContinuousClock.Instant
    var completion: PendingCompletion
}

/// What executing a command produced.
enum Disposition {
    /// Post a completion with this status and Dword 0.
    case done(CompletionStatus, UInt32)
    /// Completes later (Asynchronous Event Request, a command held by fault injection).
    case held
}

/// The controller's state: registers, queues, features, logs, media. `MockCore` guards it (the
/// controller path holds every lock; an I/O queue pair's fast path, its own lock, touches only
/// its pair's slots), so it has no locking of its own; the methods in the other files of this
/// module extend it by concern.
///
/// A struct, not a class: accesses to a class's stored properties pay dynamic exclusivity
/// checks, dozens per command, which made the inline null device several times slower.
struct ControllerState {
    let configuration: MockConfiguration
    let iommu: SoftwareIOMMU
    let capabilities: ControllerCapabilities
    let logger: Logger?
    /// Doorbell stride in bytes (4 << CAP.DSTRD).
    let strideBytes: Int
    let inline: Bool

    // Registers.
    var cc = ControllerConfiguration()
    var csts = ControllerStatus()
    var aqa: UInt32 = 0
    var asq: UInt64 = 0
    var acq: UInt64 = 0
    var intms: UInt32 = 0
    /// Surprise removal: reads return all ones, nothing else happens.
    var removed = false

    // Queues, indexed by queue identifier (0 = admin).
    let submissionQueues: QueueSlots<SubmissionQueue>
    let completionQueues: QueueSlots<CompletionQueue>
    /// Page lists of non-contiguous queues: key 2 * qid for an SQ, 2 * qid + 1 for a CQ.
    var queuePages: [Int: [UInt64]] = [:]
    /// Completions waiting for room, per completion queue.
    var parkedCompletions: [[PendingCompletion]]
    /// Memory page size from CC.MPS while enabled.
    var pageSize = 4096
    /// Doorbell Buffer Config since the last reset: I/O queues use shadow doorbells.
    var doorbellBuffers: DoorbellBuffers?
    /// Per queue identifier: host I/O and MMIO doorbell writes counted on that queue pair
    /// (kept per queue so each queue pair's fast path counts in its own slot).
    let queueCounters: QueueSlots<QueueCounters>
    /// Per I/O queue pair: the host memory its fast path reached, kept between doorbells while the
    /// IOMMU's mappings are unchanged (see `QueueFastPath`).
    let fastPathTranslations: QueueSlots<IOTLB>
    /// MMIO writes at doorbell offsets that name no queue (between strides, beyond the queues).
    var strayDoorbellWrites: UInt64 = 0
    /// Per MSI-X vector, the eventfd it signals (-1: none); the controller's own duplicates,
    /// closed by `MockController` (`setInterruptTriggers`).
    var interruptTriggers: [Int32] = []
    /// Bumped at every locked entry point: ring translations are cached for one epoch only.
    var epoch: UInt64 = 0

    // Features.
    var grantedSubmissionQueues: Int
    var grantedCompletionQueues: Int
    /// Set Features Number of Queues has allocated queues since the last reset.
    var queueCountAllocated = false
    var writeCacheEnabled: Bool
    var arbitration: UInt32 = 0
    /// Power Management feature value: PS (bits 4:0) and WH (bits 7:5).
    var powerManagement: UInt32 = 0

    // Commands that complete later.
    var held: [PendingCompletion] = []
    var asyncEventRequests: [UInt16] = []
    /// Events not yet reported, as their completion Dword 0.
    var pendingEvents: [UInt32] = []
    var asyncEventMask = AsyncEventMask()
    var scheduled: [ScheduledCompletion] = []
    /// Abort commands executed whose completions are not posted yet (limited by ACL).
    var outstandingAborts = 0

    // Logs and statistics.
    var errorLog: ErrorLog
    var health = HealthCounters()
    var dataPointerFaults: [DataPointerFault] = []

    // Media.
    var namespaces: [NamespaceStorage]
    var walker: DataTransferWalker
    /// One block of scratch for Write and Compare.
    let scratch = ScratchBlock()
    var compareBuffer: UnsafeMutableRawPointer { scratch.bytes }
    /// Configuration values read per command, copied out of `configuration` so reading them never
    /// touches its strings and arrays.
    let discardData: Bool
    let identifyController: IdentifyController
    /// The LBA commands' checks, in plain values (see `BlockCommandChecks`).
    let checks: BlockCommandChecks
    let namespaceGeometryStorage: NamespaceGeometryStorage
    /// Whether queue pairs' fast paths may run (inline null device, operational, no fault armed):
    /// derived from the state above by `refreshFastPathOpen`, which the controller path runs
    /// before it lets the queue locks go, so a fast path reads one flag.
    private(set) var fastPathOpen = false

    // Fault injection and randomness.
    var faultRules: [FaultRule] = []
    var faultRandom: SplitMix64
    var scheduleRandom: SplitMix64
    var engineStopRequested = false
    /// Set by doorbells in threaded mode: the engine has something to look at.
    var engineWork = false

    /// `backingFiles`: one per namespace, nil for the in-memory ones (MockController opens them).
    init(configuration: MockConfiguration, iommu: SoftwareIOMMU, backingFiles: sending [BackingFile?]) {
        self.configuration = configuration
        self.iommu = iommu
        self.logger = configuration.logger
        var cap = ControllerCapabilities(rawValue: 0)
        cap.mqes = configuration.mqes
        cap.cqr = configuration.contiguousQueuesRequired
        cap.to = configuration.timeout
        cap.dstrd = configuration.doorbellStride
        cap.css = 0x01
        cap.mpsmin = configuration.mpsmin
        cap.mpsmax = configuration.mpsmax
        capabilities = cap
        strideBytes = 4 << Int(configuration.doorbellStride)
        if case .inline = configuration.executionMode { inline = true } else { inline = false }
        submissionQueues = QueueSlots(count: configuration.ioQueueCount + 1)
        completionQueues = QueueSlots(count: configuration.ioQueueCount + 1)
        parkedCompletions = Array(repeating: [], count: configuration.ioQueueCount + 1)
        queueCounters = QueueSlots(count: configuration.ioQueueCount + 1, initial: QueueCounters())
        fastPathTranslations = QueueSlots(count: configuration.ioQueueCount + 1, initial: IOTLB())
        grantedSubmissionQueues = configuration.ioQueueCount
        grantedCompletionQueues = configuration.ioQueueCount
        writeCacheEnabled = configuration.volatileWriteCache
        errorLog = ErrorLog(capacity: configuration.errorLogEntries)
        namespaces = zip(configuration.namespaces, backingFiles).map {
            NamespaceStorage(blockSize: $0.blockSize, blockCount: $0.blockCount, backing: $1)
        }
        // Room for a transfer of MDTS (1 MiB when unlimited) in 4 KiB pieces, bounded so a huge
        // MDTS costs nothing up front: a larger transfer grows the list once and keeps it.
        let maxPages = (configuration.maximumTransferBytes ?? (1 << 20)) / 4096 + 2
        walker = DataTransferWalker(iommu: iommu, expectedSegments: min(maxPages, 1026))
        discardData = configuration.discardData
        identifyController = IdentifyData.controller(configuration)
        namespaceGeometryStorage = NamespaceGeometryStorage(configuration.namespaces)
        checks = BlockCommandChecks(sglSupported: configuration.sglSupported, maximumTransferBytes: configuration.maximumTransferBytes,
                                    geometry: UnsafePointer(namespaceGeometryStorage.geometry.baseAddress!),
                                    namespaceCount: configuration.namespaces.count)
        faultRandom = SplitMix64(seed: configuration.randomSeed)
        scheduleRandom = SplitMix64(seed: configuration.randomSeed ^ 0xA5A5_A5A5)
        scheduled.reserveCapacity(1024)
        held.reserveCapacity(16)
    }

    /// Commands are processed only by an enabled, healthy, present controller.
    var isOperational: Bool { csts.rdy && !csts.cfs && !removed }

    /// Recomputes `fastPathOpen` (the controller path, before it releases the queue locks).
    mutating func refreshFastPathOpen() {
        fastPathOpen = inline && discardData && faultRules.isEmpty && isOperational
    }

    /// Host I/O counted on every queue since creation.
    var hostIO: HostIOCounters {
        queueCounters.reduce(into: HostIOCounters()) { $0.add($1!.hostIO) }
    }

    /// MMIO doorbell writes received since creation, at any doorbell offset.
    var mmioDoorbellWritesTotal: UInt64 {
        queueCounters.reduce(strayDoorbellWrites) { $0 &+ $1!.submissionTailWrites &+ $1!.completionHeadWrites }
    }

    /// Reports a condition that makes the controller fail (CSTS.CFS), e.g. a fault on its own rings.
    mutating func fail(_ reason: String) {
        csts.cfs = true
        logger?.error("mock controller fatal status: \(reason)")
    }
}

/// A 4 KiB scratch block owned by the controller state (a class so the struct needs no deinit).
final class ScratchBlock {
    let bytes = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 64)
    deinit { bytes.deallocate() }
}
