/// The bound on every loop that waits for the controller (I/O requests, admin commands): it
/// decides when a loop that made no progress looks at the device and its deadlines, backs off
/// from spinning to short sleeps, and measures how long nothing has happened. The clock is read
/// only at those checks, never per pass.
struct Watchdog {
    /// How long a loop may go without progress before it must end (the command timeout).
    let limitNanoseconds: UInt64
    /// Idle passes between two checks.
    let checkInterval: Int
    private var idlePasses = 0
    private var progressedSinceCheck = true
    private var lastProgress: UInt64 = 0

    init(timeoutMilliseconds: Int, checkInterval: Int = 256) {
        limitNanoseconds = UInt64(max(1, timeoutMilliseconds)) * 1_000_000
        self.checkInterval = checkInterval
    }

    /// Call once per loop pass. Returns true when the loop should check the device and its deadlines now.
    mutating func pass(progressed: Bool) -> Bool {
        if progressed {
            idlePasses = 0
            progressedSinceCheck = true
            return false
        }
        idlePasses += 1
        guard idlePasses % checkInterval == 0 else { return false }
        // After a while of idle spinning, let other threads (a device thread) run.
        if idlePasses > 16 * checkInterval { RegisterWaits.pause() }
        return true
    }

    /// Notes progress the loop made outside `pass` (an Abort sent, a reset started).
    mutating func noteProgress() { progressedSinceCheck = true }

    /// At a check: how long the loop has gone without progress, in nanoseconds, as of `now`.
    mutating func idleNanoseconds(now: UInt64) -> UInt64 {
        if progressedSinceCheck {
            progressedSinceCheck = false
            lastProgress = now
        }
        return now &- lastProgress
    }

    /// Whether the loop has gone without progress for longer than its limit, as of `now`.
    mutating func exceeded(now: UInt64) -> Bool { idleNanoseconds(now: now) > limitNanoseconds }
}
