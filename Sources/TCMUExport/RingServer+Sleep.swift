import SCSIController

/// A pipelined worker's sleep, on a queue with a completion interrupt: instead of spinning on the
/// completion queue (and yielding now and then), it blocks in poll(2) until the device raises the
/// queue's vector or, when it has a free slot, the kernel kicks. On a small machine the CPU it
/// leaves is the one the kernel's side of every command (the initiator, sd, LIO, TCMU, the
/// emulated device) needs.
extension RingServer {
    /// The longest sleep: bounds what an interrupt that never comes costs, and lets the
    /// pipeline's watchdog run between sleeps.
    static let sleepMilliseconds: Int32 = 10

    /// Sleeps until a completion may be there on `worker`'s queue, or (`ringToo`, and no other
    /// worker waits for it) the kernel's kick, which is then taken. Responses are kicked before
    /// any sleep (`claim` returns `.kick` first), so the kernel never waits on a sleeping worker.
    func sleepOnCompletions(_ worker: RingWorker, ringToo: Bool) {
        let pair = worker.queue.queuePair
        let kick = ringToo ? doorbell.kickDescriptor : -1
        // One waiter for the kick at a time (the uio device has one event count per open file).
        let watchKick = kick >= 0 && state.withLock { state in
            guard !state.kickWaiter else { return false }
            state.kickWaiter = true
            return true
        }
        sleeps.add(1, ordering: .relaxed)
        let wake = pair.waitForCompletion(alsoWatching: watchKick ? kick : -1, timeoutMilliseconds: Self.sleepMilliseconds)
        if wake.contains(.other), doorbell.waitForKick(milliseconds: 0) { kernelKicks.add(1, ordering: .relaxed) }
        if watchKick { state.withLock { $0.kickWaiter = false } }
        if wake.isEmpty, pair.completionPending { lostWakeups.add(1, ordering: .relaxed) }
    }
}
