import NVMe

/// One logical unit: an active namespace. LUN n is the n-th active NSID in ascending order.
public struct LogicalUnit: Sendable, Equatable {
    /// Namespace ID.
    public var nsid: UInt32
    /// The namespace's Identify data.
    public var namespace: IdentifyNamespace

    public init(nsid: UInt32, namespace: IdentifyNamespace) {
        self.nsid = nsid
        self.namespace = namespace
    }

    /// Logical block size in bytes. The shift comes from an untrusted device: it is clamped so a
    /// bogus LBA format cannot overflow the arithmetic (the namespace is then merely useless).
    var blockSize: Int { 1 << min(Int(namespace.formattedLBAFormat.lbaDataSizeShift), 30) }
    /// Number of logical blocks (NSZE).
    var blockCount: UInt64 { namespace.nsze }
}

/// Everything translation knows about the target, gathered by the engine at attach time.
public struct DeviceFacts: Sendable, Equatable {
    /// Identify Controller data.
    public var controller: IdentifyController
    /// One entry per active namespace, in LUN order.
    public var luns: [LogicalUnit]
    /// The largest transfer one SCSI task may carry, in bytes, after the HBA constraints
    /// (reported as MAXIMUM TRANSFER LENGTH in VPD B0h); 0 means not reported.
    public var maximumTransferBytes: Int
    /// The controller's own limit (MDTS x CAP.MPSMIN) in bytes, nil when unlimited; with
    /// `maximumSegmentBytes` it gives OPTIMAL TRANSFER LENGTH: a transfer within both needs no splitting.
    public var controllerMaximumTransferBytes: Int?
    /// HBA constraint: maximum segment count per transfer (informational: a task is one segment).
    public var maximumSegmentCount: Int
    /// HBA constraint: maximum bytes per segment; 0 when not constrained.
    public var maximumSegmentBytes: Int
    /// How many ranges one Dataset Management command may carry (NVMe allows 256).
    public var maximumDeallocateRanges: Int
    /// Most blocks one UNMAP may deallocate in total (MAXIMUM UNMAP LBA COUNT).
    public var maximumDeallocateBlocks: UInt32
    /// Whether the volatile write cache was enabled when the device was attached (Get Features).
    public var volatileWriteCacheEnabled: Bool

    public init(controller: IdentifyController, luns: [LogicalUnit], maximumTransferBytes: Int,
                controllerMaximumTransferBytes: Int? = nil, maximumSegmentCount: Int = 1,
                maximumSegmentBytes: Int = 0, maximumDeallocateRanges: Int = 256,
                maximumDeallocateBlocks: UInt32 = 0xFFFF_FFFF, volatileWriteCacheEnabled: Bool = false) {
        self.controller = controller
        self.luns = luns
        self.maximumTransferBytes = maximumTransferBytes
        self.controllerMaximumTransferBytes = controllerMaximumTransferBytes
        self.maximumSegmentCount = maximumSegmentCount
        self.maximumSegmentBytes = maximumSegmentBytes
        self.maximumDeallocateRanges = maximumDeallocateRanges
        self.maximumDeallocateBlocks = maximumDeallocateBlocks
        self.volatileWriteCacheEnabled = volatileWriteCacheEnabled
    }

    /// The logical unit for a LUN, nil when no such namespace is active.
    func unit(_ lun: UInt64) -> LogicalUnit? { lun < UInt64(luns.count) ? luns[Int(lun)] : nil }
    /// Whether UNMAP / WRITE SAME with UNMAP can deallocate (Dataset Management present).
    var supportsDeallocate: Bool { controller.oncs.contains(.datasetManagement) }
    var supportsWriteZeroes: Bool { controller.oncs.contains(.writeZeroes) }
    var hasVolatileWriteCache: Bool { controller.volatileWriteCachePresent }
}

/// Per-LUN state that outlives one command; owned by the engine and passed `inout`.
public struct LogicalUnitState: Sendable, Equatable {
    /// D_SENSE of the Control mode page: descriptor format sense when true.
    public var descriptorSense: Bool
    /// WCE as last set (MODE SELECT) or as found at attach time.
    public var writeCacheEnabled: Bool
    /// A unit attention to report on the next command (other than INQUIRY, REPORT LUNS and
    /// REQUEST SENSE), e.g. `SenseCondition.powerOnReset` after attach or reset.
    public var pendingUnitAttention: SenseCondition?
    /// A deferred error (reported with response code 71h/73h) for the next command.
    public var deferredError: SenseCondition?
    /// Stopped by START STOP UNIT: media access answers NOT READY until started again.
    public var stopped: Bool

    public init(descriptorSense: Bool = false, writeCacheEnabled: Bool = false,
                pendingUnitAttention: SenseCondition? = nil, deferredError: SenseCondition? = nil,
                stopped: Bool = false) {
        self.descriptorSense = descriptorSense
        self.writeCacheEnabled = writeCacheEnabled
        self.pendingUnitAttention = pendingUnitAttention
        self.deferredError = deferredError
        self.stopped = stopped
    }

    /// The state of a freshly attached unit: WCE from the device, a POWER ON RESET unit attention.
    public init(attachedTo facts: DeviceFacts) {
        self.init(writeCacheEnabled: facts.hasVolatileWriteCache && facts.volatileWriteCacheEnabled,
                  pendingUnitAttention: .powerOnReset)
    }
}
