import DMAMapper
import NVMe

/// One I/O queue pair with the request breaker above it. Owned by one thread: every method
/// runs on the owner's thread, polls on it, and returns when the request is complete. A second
/// thread calling in while a request runs is refused (`requestRefused`), not let loose on the rings.
public final class IOQueue: @unchecked Sendable {
    /// The raw queue pair, for callers that batch their own commands (benchmarks, async layers).
    /// Keep the `IOQueue` (or its controller) alive while using it: they keep the controller up.
    public let queuePair: QueuePair
    /// One page of DMA memory for parameter data this queue builds (Dataset Management ranges).
    let scratch: DMABuffer
    /// The controller state this queue works against; held strongly, so the queue stays usable
    /// (or says the controller is stopped) whatever its owner does with the `NVMeController`.
    let core: ControllerCore
    /// What a block request is checked against (the namespaces, the HBA constraints).
    let limits: RequestLimits

    init(queuePair: QueuePair, scratch: DMABuffer, core: ControllerCore) {
        self.queuePair = queuePair
        self.scratch = scratch
        self.core = core
        limits = RequestLimits(core)
    }

    /// Queue identifier.
    public var id: UInt16 { queuePair.id }
    /// Doorbell register writes made on this queue (see `QueuePair.mmioDoorbellWrites`).
    public var mmioDoorbellWrites: Int { queuePair.mmioDoorbellWrites }
}

/// The outcome of a block request: how much moved and, on failure, the first error.
public struct BlockOutcome: Sendable {
    /// Bytes the request asked to move.
    public var requestedBytes: Int
    /// Bytes of the leading pieces that completed successfully before the first failed piece.
    public var bytesTransferred: Int
    /// NVMe commands the request was broken into.
    public var commands: Int
    /// The first error (lowest piece), or nil on success.
    public var error: ControllerError?
    /// The NVMe status of the first failed piece, when the failure was a status.
    public var status: CompletionStatus?
    /// Bytes not transferred.
    public var residual: Int { requestedBytes - bytesTransferred }
    /// Whether every piece succeeded. (A pattern, not `error == nil`: that compares through
    /// `Equatable` and copies the error.)
    public var succeeded: Bool {
        if case .none = error { return true }
        return false
    }

    /// The bytes moved when every piece succeeded; otherwise throws the first error (the outcome
    /// still says how much moved before it). For callers that treat a partial transfer as a failure.
    @discardableResult
    public func get() throws(ControllerError) -> Int {
        if let error { throw error }
        return bytesTransferred
    }
}
