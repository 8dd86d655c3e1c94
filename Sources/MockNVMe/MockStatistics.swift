/// Counters a test can assert on (`MockController.statistics`).
public struct MockStatistics: Sendable, Hashable {
    /// Read and Compare commands that passed the namespace, range and size checks (the SMART /
    /// Health log's Host Read Commands).
    public var hostReadCommands: UInt64
    /// Write commands that passed the namespace, range and size checks (the SMART / Health log's
    /// Host Write Commands).
    public var hostWriteCommands: UInt64
    /// Bytes read by host commands, in 512-byte units.
    public var dataUnitsRead512: UInt64
    /// Bytes written by host commands, in 512-byte units.
    public var dataUnitsWritten512: UInt64
    /// Blocks written but not yet durable.
    public var dirtyCachedBlocks: Int
    /// Storage chunks in memory (64 blocks each).
    public var storedChunks: Int
    /// Commands held by fault injection.
    public var heldCommands: Int
    /// Asynchronous Event Requests waiting for an event.
    public var outstandingAsyncEventRequests: Int
    /// Entries ever added to the Error Information log.
    public var errorCount: UInt64
    /// MMIO doorbell writes received since creation: every write in the doorbell area, whatever
    /// its queue or value (`MockController.mmioDoorbellWrites` reads this alone, cheaply).
    public var mmioDoorbellWrites: UInt64
    /// MMIO writes to each Submission Queue Tail doorbell, indexed by queue identifier (0: admin).
    public var submissionTailDoorbellWrites: [UInt64]
    /// MMIO writes to each Completion Queue Head doorbell, indexed by queue identifier (0: admin).
    public var completionHeadDoorbellWrites: [UInt64]
}
