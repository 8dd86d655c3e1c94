import NVMe

/// A block-level NVMe operation for the engine to run. These are not queue entries: the engine
/// splits reads and writes by its own limits (MDTS, segments, Write Zeroes' 16-bit block count),
/// builds the entries and runs the operations of one plan in order, stopping at the first error.
///
/// Buffer offsets are byte offsets into the task's own data buffer.
public enum NVMeOperation: Sendable, Equatable {
    /// NVM Read of `blocks` blocks into the task buffer at `bufferOffset`.
    case read(nsid: UInt32, lba: UInt64, blocks: UInt32, fua: Bool, bufferOffset: Int)
    /// NVM Write of `blocks` blocks from the task buffer at `bufferOffset`.
    case write(nsid: UInt32, lba: UInt64, blocks: UInt32, fua: Bool, bufferOffset: Int)
    /// NVM Compare of the media against the task buffer at `bufferOffset`.
    case compare(nsid: UInt32, lba: UInt64, blocks: UInt32, bufferOffset: Int)
    /// NVM Verify (no data transfer).
    case verify(nsid: UInt32, lba: UInt64, blocks: UInt32)
    /// NVM Flush of the namespace's volatile write cache.
    case flush(nsid: UInt32)
    /// NVM Write Zeroes; `deallocate` sets DEAC so the controller may deallocate the range.
    case writeZeroes(nsid: UInt32, lba: UInt64, blocks: UInt32, deallocate: Bool)
    /// Dataset Management with the Deallocate attribute over `ranges` (each at most 2^32-1 blocks;
    /// at most `DeviceFacts.maximumDeallocateRanges` of them).
    case deallocate(nsid: UInt32, ranges: [DatasetManagementRange])
    /// WRITE SAME with a non-zero block: the one block at `sourceOffset` of the task buffer is
    /// written to every block of the range (the engine replicates it into a scratch buffer).
    case writeRepeatingBlock(nsid: UInt32, lba: UInt64, blocks: UInt32, sourceOffset: Int)
    /// Fused Compare (data at `compareOffset`) and Write (data at `writeOffset`). On a compare
    /// failure the engine reports `NVMeResult.miscompareOffset` or the media data it read.
    /// `fua` applies to the write.
    case compareAndWrite(nsid: UInt32, lba: UInt64, blocks: UInt32, compareOffset: Int, writeOffset: Int, fua: Bool)
    /// Set Features, Volatile Write Cache (FID 06h), WCE as given.
    case setVolatileWriteCache(enabled: Bool)
    /// Set Features, Power Management (FID 02h): CDW11 POWER STATE (bits 4:0) as given, WORKLOAD
    /// HINT 0. START STOP UNIT's translation (Reference "START STOP UNIT").
    case setPowerState(UInt8)
}

/// Why the engine itself ended an operation the device had not completed.
public enum EngineAbort: Sendable, Equatable {
    /// The command outlived its timeout and the engine aborted it (NVMe Abort or a reset).
    case timeout
    /// A controller reset started elsewhere took the command with it.
    case reset
}

/// How one NVMe operation (or one piece of it, when the engine split it) ended.
public struct NVMeResult: Sendable, Equatable {
    /// Index into the plan's operation list.
    public var operationIndex: Int
    /// The completion's status field.
    public var status: CompletionStatus
    /// Bytes of the task buffer this operation moved.
    public var bytesTransferred: Int
    /// For a compare failure: offset of the first differing byte from the start of the compared
    /// data, when the engine knows it.
    public var miscompareOffset: Int?
    /// For a compare failure: the media data the engine read back, so translation can find the
    /// first differing byte itself (used when `miscompareOffset` is nil).
    public var mediaData: [UInt8]?
    /// For a media error: the first failing LBA when known (from the Error Information log).
    public var failingLBA: UInt64?
    /// Set when the engine, not the device, ended the operation; it then decides the sense
    /// whatever `status` says (the engine may have had to put a placeholder there).
    public var engineAbort: EngineAbort?

    /// A result for operation `operationIndex`; the compare, media-error and engine-abort details
    /// default to unknown (nil).
    public init(operationIndex: Int, status: CompletionStatus, bytesTransferred: Int = 0,
                miscompareOffset: Int? = nil, mediaData: [UInt8]? = nil, failingLBA: UInt64? = nil,
                engineAbort: EngineAbort? = nil) {
        self.operationIndex = operationIndex
        self.status = status
        self.bytesTransferred = bytesTransferred
        self.miscompareOffset = miscompareOffset
        self.mediaData = mediaData
        self.failingLBA = failingLBA
        self.engineAbort = engineAbort
    }
}
