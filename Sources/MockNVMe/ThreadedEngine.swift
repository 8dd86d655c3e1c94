import Dispatch
import Foundation
import Synchronization

/// The device thread of `.threaded` mode: it wakes on doorbells (a semaphore), runs new
/// commands, and posts each completion when its latency has passed.
///
/// It holds the shared core, not the `MockController`, so the controller can go away; its
/// deinit stops the thread.
final class ThreadedEngine: Sendable {
    private let core: MockCore
    private let wakeup = DispatchSemaphore(value: 0)
    private let outOfOrder: Bool
    private let finished = DispatchSemaphore(value: 0)

    init(core: MockCore, outOfOrder: Bool) {
        self.core = core
        self.outOfOrder = outOfOrder
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "mock-nvme-device"
        thread.start()
    }

    /// Called after a register write that may have given the device work.
    func signal() { wakeup.signal() }

    /// Stops the thread and waits for it to leave the core.
    func stop() {
        core.withController { $0.engineStopRequested = true }
        wakeup.signal()
        finished.wait()
    }

    private func run() {
        while true {
            let now = ContinuousClock.now
            let (stop, next) = core.withController { state in
                (state.engineStopRequested, state.engineStopRequested ? nil : state.engineStep(now: now, outOfOrder: outOfOrder))
            }
            if stop { break }
            if let next {
                let wait = now.duration(to: next)
                let nanoseconds = max(0, wait.components.seconds * 1_000_000_000 + wait.components.attoseconds / 1_000_000_000)
                _ = wakeup.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
            } else {
                wakeup.wait()
            }
        }
        finished.signal()
    }
}
