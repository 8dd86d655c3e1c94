/// The bound on every loop that waits for the controller (I/O requests, admin commands, register
/// waits). The loop counts its passes without progress and, every so many of them, makes a check;
/// the watchdog then backs off from spinning to short sleeps and measures how long nothing has
/// happened. The clock is read only at those checks, never per pass.
struct Watchdog {
    /// How long a loop may go without progress before it must end (the command timeout).
    let limitNanoseconds: UInt64
    private var lastProgress: UInt64 = 0

    init(timeoutMilliseconds: Int) {
        limitNanoseconds = UInt64(max(1, timeoutMilliseconds)) * 1_000_000
    }

    /// At a check made after `idlePasses` passes without progress, `checkInterval` passes after
    /// the previous check: how long the loop has gone without progress as of `now`, in nanoseconds.
    mutating func idleNanoseconds(idlePasses: Int, checkInterval: Int, now: UInt64) -> UInt64 {
        // The first check since the last progress starts the measurement.
        if idlePasses <= checkInterval { lastProgress = now }
        // After a while of idle spinning, let other threads (a device thread) run.
        if idlePasses > 16 * checkInterval { RegisterWaits.pause() }
        return now &- lastProgress
    }

    /// Whether the loop has gone without progress for longer than its limit (see `idleNanoseconds`).
    mutating func exceeded(idlePasses: Int, checkInterval: Int, now: UInt64) -> Bool {
        idleNanoseconds(idlePasses: idlePasses, checkInterval: checkInterval, now: now) > limitNanoseconds
    }
}
