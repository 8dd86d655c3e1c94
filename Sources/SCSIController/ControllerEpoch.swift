import DMAMapper
import Synchronization

/// What a controller shares with its I/O queue pairs so that each queue pair's owner thread - and
/// only it - puts its own rings and trackers right after a controller reset or stop.
///
/// It is the one owner of the controller's run state: `value` is
/// `generation << 2 | stopping << 1 | stopped`.
/// - Recovery publishes a new generation only once the reset is complete (controller enabled,
///   admin queue working, Number of Queues set), so an owner that sees it may rebuild its queue at once.
/// - `stopping`: stop() has begun (or recovery gave up). New requests are refused from here on;
///   the queues still run, so stop can flush through one and commands in flight still complete.
/// - `stopped`: no queue may be used again; each owner ends its outstanding commands and closes
///   its queue. Stop sets it after the flush; a recovery that failed sets it with `stopping`.
///
/// A queue pair compares `value` with the epoch its rings belong to once per doorbell and once per
/// poll pass: one load, no lock.
@usableFromInline final class ControllerEpoch: Sendable {
    @usableFromInline let value = Atomic<Int>(0)
    private let owner = SanitizedMutex(WeakCore())

    private struct WeakCore: Sendable { weak var core: ControllerCore? }

    init() {}

    static let stoppedBit = 1
    static let stoppingBit = 2
    static let generationUnit = 4

    /// Controller resets completed so far.
    var generation: Int { value.load(ordering: .acquiring) / Self.generationUnit }
    /// Whether stop() has begun or recovery gave up: no new request may start. Sequentially
    /// consistent, like the queue claims it is checked against (see `ControllerCore.stop`).
    var isStopping: Bool { value.load(ordering: .sequentiallyConsistent) & Self.stoppingBit != 0 }

    /// Whether `observed` (a `value`) differs from `epoch` (the one a queue's rings belong to)
    /// only by the stopping bit: the rings are still good, nothing was reset or stopped.
    static func onlyStopping(_ observed: Int, since epoch: Int) -> Bool {
        observed & ~stoppingBit == epoch & ~stoppingBit && observed & stoppedBit == 0
    }

    /// Announces a completed reset: queue owners rebuild their queues when they next look.
    func publishReset() { value.wrappingAdd(Self.generationUnit, ordering: .releasing) }

    /// Announces that stop has begun: new requests are refused, the queues still run. Returns
    /// false when it had begun already (stop runs once).
    func publishStopping() -> Bool {
        value.bitwiseOr(Self.stoppingBit, ordering: .sequentiallyConsistent).oldValue & Self.stoppingBit == 0
    }

    /// Announces that no queue may be used again (and that no request may start): owners end
    /// their outstanding commands.
    func publishStopped() { value.bitwiseOr(Self.stoppedBit | Self.stoppingBit, ordering: .sequentiallyConsistent) }

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
