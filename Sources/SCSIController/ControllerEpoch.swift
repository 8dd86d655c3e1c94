import DMAMapper
import Synchronization

/// What a controller shares with its I/O queue pairs so that each queue pair's owner thread - and
/// only it - puts its own rings and trackers right after a controller reset or stop.
///
/// `value` is `generation << 1 | stopped`. Recovery publishes a new generation only once the reset
/// is complete (controller enabled, admin queue working, Number of Queues set), so an owner that
/// sees it may rebuild its queue at once; stop, or a recovery that failed, sets the stopped bit.
/// A queue pair compares `value` with the epoch its rings belong to once per doorbell and once per
/// poll pass: one load, no lock.
@usableFromInline final class ControllerEpoch: Sendable {
    @usableFromInline let value = Atomic<Int>(0)
    private let owner = SanitizedMutex(WeakCore())

    private struct WeakCore: Sendable { weak var core: ControllerCore? }

    init() {}

    /// Controller resets completed so far.
    var generation: Int { value.load(ordering: .acquiring) >> 1 }
    /// Whether the controller was stopped (or could not be recovered).
    var isStopped: Bool { value.load(ordering: .acquiring) & 1 == 1 }

    /// Announces a completed reset: queue owners rebuild their queues when they next look.
    func publishReset() { value.wrappingAdd(2, ordering: .releasing) }

    /// Announces that no queue may be used again: owners end their outstanding commands.
    func publishStopped() { value.bitwiseOr(1, ordering: .releasing) }

    /// Names the controller that re-creates queues after a reset (held weakly: queue pairs must
    /// not keep their controller alive, the controller owns them).
    func attach(_ core: ControllerCore) { owner.withLock { $0.core = core } }

    /// Re-creates `pair`'s completion and submission queues in the controller, for its owner thread
    /// after a reset. Returns the epoch the new queues belong to.
    func reconnect(_ pair: QueuePair) throws(ControllerError) -> Int {
        guard let core = owner.withLock({ $0.core }) else { throw .stopped }
        return try core.recreate(pair)
    }
}
