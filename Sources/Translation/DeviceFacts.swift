import NVMe

/// One logical unit: an active namespace. LUN n is the n-th active NSID in ascending order.
public struct LogicalUnit: Sendable, Equatable {
    /// Namespace ID.
    public var nsid: UInt32
    /// The namespace's Identify data.
    public var namespace: IdentifyNamespace {
        didSet { (blockSize, blockCount) = Self.geometry(namespace) }
    }
    /// Logical block size in bytes, read from `namespace` once (`geometry`), as the READ/WRITE
    /// fast path needs it on every I/O.
    public private(set) var blockSize: Int
    /// Number of logical blocks (NSZE), read from `namespace` once with the block size.
    public private(set) var blockCount: UInt64

    /// The unit for namespace `nsid`, its block size and count taken from `namespace` now.
    public init(nsid: UInt32, namespace: IdentifyNamespace) {
        self.nsid = nsid
        self.namespace = namespace
        (blockSize, blockCount) = Self.geometry(namespace)
    }

    /// The Identify data comes from an untrusted device: a block size shift too large is clamped
    /// so it cannot overflow the arithmetic, and a namespace whose format index names no LBA
    /// format takes `IdentifyNamespace.formattedLBAFormat`'s fallback (the first format, or
    /// 512-byte blocks when it lists none) rather than trapping; such a namespace is merely
    /// useless, never a crash.
    static func geometry(_ namespace: IdentifyNamespace) -> (blockSize: Int, blockCount: UInt64) {
        (1 << min(Int(namespace.formattedLBAFormat.lbaDataSizeShift), 30), namespace.nsze)
    }
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
    /// HBA constraint: most segments (NVMe commands of at most `maximumSegmentBytes`) one task may
    /// be split into; informational here, since `maximumTransferBytes` already includes it.
    public var maximumSegmentCount: Int
    /// HBA constraint: maximum bytes per segment; 0 when not constrained.
    public var maximumSegmentBytes: Int
    /// How many ranges one Dataset Management command may carry (NVMe allows 256).
    public var maximumDeallocateRanges: Int
    /// Most blocks one UNMAP may deallocate in total (MAXIMUM UNMAP LBA COUNT); FFFFFFFFh means
    /// no maximum (SBC-4 6.6.4), only the parameter list's size bounds it.
    public var maximumDeallocateBlocks: UInt32
    /// Most blocks one Dataset Management range may carry (the controller's DMRSL; FFFFFFFFh, the
    /// 32-bit NLB field's own limit, when it reports none). A longer UNMAP descriptor is split
    /// over several ranges.
    public var maximumBlocksPerDeallocateRange: UInt32
    /// NPSS from Identify Controller: power states 0...NPSS exist and NPSS draws the least power.
    /// START STOP UNIT picks power states from it (Reference "START STOP UNIT"); 0 (one state,
    /// the one the controller is in) means there is never a power state to set.
    public var lowestPowerState: UInt8
    /// Whether the volatile write cache was enabled when the engine attached (Get Features): a
    /// constant, reported as WCE's default value (MODE SENSE, PC 10b). The current WCE is the
    /// controller's, one setting for every LUN; the engine passes it to `translate` on each call.
    public var volatileWriteCacheEnabledAtAttach: Bool

    /// Facts for translation. The defaults describe a target with no HBA segment limits, NVMe's
    /// 256 Dataset Management ranges, no UNMAP or range length limit (FFFFFFFFh), one power state
    /// and the write cache disabled.
    public init(controller: IdentifyController, luns: [LogicalUnit], maximumTransferBytes: Int,
                controllerMaximumTransferBytes: Int? = nil, maximumSegmentCount: Int = 1,
                maximumSegmentBytes: Int = 0, maximumDeallocateRanges: Int = 256,
                maximumDeallocateBlocks: UInt32 = 0xFFFF_FFFF, maximumBlocksPerDeallocateRange: UInt32 = 0xFFFF_FFFF,
                lowestPowerState: UInt8 = 0, volatileWriteCacheEnabledAtAttach: Bool = false) {
        self.controller = controller
        self.luns = luns
        self.maximumTransferBytes = maximumTransferBytes
        self.controllerMaximumTransferBytes = controllerMaximumTransferBytes
        self.maximumSegmentCount = maximumSegmentCount
        self.maximumSegmentBytes = maximumSegmentBytes
        self.maximumDeallocateRanges = maximumDeallocateRanges
        self.maximumDeallocateBlocks = maximumDeallocateBlocks
        self.maximumBlocksPerDeallocateRange = maximumBlocksPerDeallocateRange
        self.lowestPowerState = lowestPowerState
        self.volatileWriteCacheEnabledAtAttach = volatileWriteCacheEnabledAtAttach
    }

    /// The logical unit for a LUN, nil when no such namespace is active.
    func unit(_ lun: UInt64) -> LogicalUnit? { lun < UInt64(luns.count) ? luns[Int(lun)] : nil }
    /// Whether blocks can be unmapped (Dataset Management present). This one predicate decides
    /// everything SBC-4 4.7 ties together: LBPME and LBPRZ in READ CAPACITY (16); LBPU, LBPWS,
    /// LBPWS10, LBPRZ and PROVISIONING TYPE in VPD B2h; the UNMAP command and WRITE SAME's UNMAP
    /// bit in the supported-commands table. Without it the unit is fully provisioned.
    var supportsDeallocate: Bool { controller.oncs.contains(.datasetManagement) }
    var supportsWriteZeroes: Bool { controller.oncs.contains(.writeZeroes) }
    var hasVolatileWriteCache: Bool { controller.volatileWriteCachePresent }
    /// COMPARE AND WRITE needs both the fused operation and the Compare command.
    var supportsCompareAndWrite: Bool { controller.supportsCompareAndWrite && controller.oncs.contains(.compare) }
}

/// Per-LUN state that outlives one command; owned by the engine and passed `inout`. State the
/// LUNs share (the write cache, NVMe's being the controller's) is not here: the engine owns it.
public struct LogicalUnitState: Sendable, Equatable {
    /// D_SENSE of the Control mode page: descriptor format sense when true.
    public var descriptorSense: Bool
    /// A unit attention to report on the next command (other than INQUIRY, REPORT LUNS and
    /// REQUEST SENSE), e.g. `SenseCondition.powerOnReset` after attach or reset.
    public var pendingUnitAttention: SenseCondition?
    /// A deferred error (reported with response code 71h/73h) for the next command.
    public var deferredError: SenseCondition?
    /// Stopped by START STOP UNIT: media access answers NOT READY until started again.
    public var stopped: Bool

    /// Whether a media command must go through `translate` rather than the READ/WRITE fast path:
    /// a unit attention or deferred error waits to be reported, or the unit is stopped.
    public var needsAttention: Bool { pendingUnitAttention != nil || deferredError != nil || stopped }

    /// A unit state as given; the defaults are fixed-format sense, nothing pending and started.
    public init(descriptorSense: Bool = false, pendingUnitAttention: SenseCondition? = nil,
                deferredError: SenseCondition? = nil, stopped: Bool = false) {
        self.descriptorSense = descriptorSense
        self.pendingUnitAttention = pendingUnitAttention
        self.deferredError = deferredError
        self.stopped = stopped
    }

    /// The state of a freshly attached unit: a POWER ON RESET unit attention to report.
    public static var attached: LogicalUnitState { LogicalUnitState(pendingUnitAttention: .powerOnReset) }

    /// Establishes a unit attention for this unit, as `SCSIResponse.unitAttentionForOtherLUNs`
    /// asks. One waits at a time: a unit attention already pending stays, since the first one
    /// reported (POWER ON RESET above all) tells the initiator to re-read what it cached anyway.
    public mutating func establish(_ unitAttention: SenseCondition) {
        if pendingUnitAttention == nil { pendingUnitAttention = unitAttention }
    }
}
