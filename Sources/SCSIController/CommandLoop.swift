import NVMe

/// One NVMe command of a plan, with its data pointer range.
struct PlannedCommand {
    var entry: SubmissionQueueEntry
    var dataIOVA: UInt64 = 0
    var dataLength: Int = 0
}

/// What a request asks of one queue: `count` commands submitted in order, several in flight.
/// Generic (not closures) so the block path allocates nothing.
protocol CommandPlan {
    /// For messages: "Read", "Flush", "Compare and Write".
    var name: String { get }
    /// Commands in the plan.
    var count: Int { get }
    /// Commands that must sit in adjacent SQ slots under one doorbell (2 for a fused pair).
    var groupSize: Int { get }
    func command(_ index: Int) -> PlannedCommand
    /// The error for command `index` completing with the failed `status`.
    func failure(_ index: Int, status: CompletionStatus) -> ControllerError
}

extension CommandPlan {
    var groupSize: Int { 1 }
}

/// How a plan ended: the lowest failed command and its error, if any.
struct PlanResult {
    /// Lowest index of a command that failed, or -1 when the whole request failed (fatal status,
    /// hostile completion, no progress); nil when every command succeeded.
    var firstFailed: Int?
    var error: ControllerError?
    var status: CompletionStatus?

    /// Records a failure unless a lower command already failed.
    mutating func fail(_ index: Int, _ error: ControllerError, status: CompletionStatus? = nil) {
        guard index < (firstFailed ?? .max) else { return }
        firstFailed = index
        self.error = error
        self.status = status
    }
}

/// The one loop every request waits in: submit, ring once per batch, poll, and while nothing
/// happens let the watchdog check the device, the deadlines (NVMe Abort, then a controller reset)
/// and the no-progress bound. It ends when every command it submitted has completed or was
/// dropped by a reset or stop, or when the device is gone or no longer ready (commands then left
/// outstanding carry this request's number in their tags, so no later request mistakes them).
extension ControllerCore {
    /// Runs `plan` on `queue`, claiming the queue for the calling thread for its duration.
    func drive<Plan: CommandPlan>(_ plan: Plan, on queue: QueuePair) -> PlanResult {
        guard queue.claim() else {
            var result = PlanResult()
            result.fail(0, isStopped ? .stopped
                : .requestRefused(reason: "queue \(queue.id) is in use by another thread; a queue belongs to one thread"))
            return result
        }
        defer { queue.releaseClaim() }
        return driveClaimed(plan, on: queue, whileStopping: false)
    }

    /// `drive` for a caller that has claimed `queue` already (stop's Flush, which also runs while stopping).
    func driveClaimed<Plan: CommandPlan>(_ plan: Plan, on queue: QueuePair, whileStopping: Bool) -> PlanResult {
        var result = PlanResult()
        guard whileStopping || !isStopped else {
            result.fail(0, .stopped)
            return result
        }
        if queue.state.pointee.epoch != epoch.value.load(ordering: .acquiring) {
            // Reset since this queue last looked: re-create it before submitting, so this request's
            // commands are not the ones the catch-up drops (what it drops was abandoned earlier).
            _ = queue.catchUp { _ in }
        }
        let request = queue.nextRequestNumber()
        var next = 0
        var completed = 0
        var watchdog = Watchdog(timeoutMilliseconds: options.commandTimeoutMilliseconds)
        var timeouts = TimeoutRecord()
        let hostileAtStart = queue.hostileCompletionCount

        // Submitting stops at the first failure; the loop then waits for what is in flight.
        while completed < next || (next < plan.count && result.firstFailed == nil) {
            var progressed = false
            if next < plan.count, result.firstFailed == nil, queue.isClosed {
                result.fail(next, queue.closeReason ?? .stopped)  // stopped, or recovery could not re-create it
            }
            while next < plan.count, result.firstFailed == nil, queue.canSubmit(plan.groupSize) {
                for _ in 0..<plan.groupSize {
                    let command = plan.command(next)
                    let outcome = queue.submit(command.entry, dataIOVA: command.dataIOVA, dataLength: command.dataLength,
                                               tag: UInt64(request) << 32 | UInt64(next))
                    guard outcome == .submitted else {
                        result.fail(next, outcome == .closed ? queue.closeReason ?? .stopped
                            : .requestRefused(reason: "\(plan.name) of \(command.dataLength) bytes exceeds the \(queue.maximumDataLength)-byte command maximum"))
                        break
                    }
                    next += 1
                    progressed = true
                }
            }
            queue.ringDoorbell()
            let handled = queue.poll { completion in
                guard completion.tag >> 32 == UInt64(request) else { return }  // an abandoned earlier request's command
                let index = Int(truncatingIfNeeded: completion.tag & 0xFFFF_FFFF)
                guard index < next else { return }
                completed += 1
                if let drop = completion.droppedBy {
                    result.fail(index, drop == .controllerStopped ? .stopped
                        : timeouts.error(for: index) ?? .abortedByReset(command: plan.name))
                } else if !completion.status.isSuccess {
                    let error = completion.status.matches(.abortRequested) ? timeouts.error(for: index) : nil
                    result.fail(index, error ?? plan.failure(index, status: completion.status), status: completion.status)
                }
            }
            if queue.hostileCompletionCount != hostileAtStart, result.firstFailed != -1, let anomaly = queue.anomalies.last {
                result.fail(-1, anomaly)
            }
            guard watchdog.pass(progressed: progressed || handled > 0) else { continue }
            if case .abandon = watch(queue, plan: plan, request: request, whileStopping: whileStopping,
                                     watchdog: &watchdog, timeouts: &timeouts, result: &result) {
                break
            }
        }
        return result
    }

    /// What the loop does after a check.
    private enum WatchVerdict { case keepWaiting, abandon }

    /// The checks made while a request waits: stopped, device gone or not ready (the request ends
    /// at once), CSTS.CFS (reset), expired deadlines (Abort, then reset) and no progress at all
    /// for longer than the command timeout (reset). After a reset the loop keeps polling: the
    /// queue's catch-up hands every outstanding command back as dropped.
    private func watch<Plan: CommandPlan>(_ queue: QueuePair, plan: Plan, request: UInt32, whileStopping: Bool,
                                          watchdog: inout Watchdog, timeouts: inout TimeoutRecord,
                                          result: inout PlanResult) -> WatchVerdict {
        if !whileStopping && isStopped {
            result.fail(-1, .stopped)
            return .abandon
        }
        let seenEpoch = queue.state.pointee.epoch
        do {
            try RegisterWaits.checkAlive(device: device, during: plan.name)
        } catch {
            switch error {
            case .controllerFatal:
                // Whoever resets first reports the fatal status; the others' commands come back
                // dropped by that reset at their next poll.
                if recover(reason: "\(error)", seenEpoch: seenEpoch) { result.fail(-1, error) }
                watchdog.noteProgress()
                return .keepWaiting
            case .controllerNotReady where changed(since: seenEpoch):
                return .keepWaiting  // another thread was resetting it; the next poll catches up
            default:
                result.fail(-1, error)
                return .abandon
            }
        }
        let now = MonotonicClock.nanoseconds()
        let milliseconds = options.commandTimeoutMilliseconds
        let expired = now > watchdog.limitNanoseconds ? queue.expired(before: now - watchdog.limitNanoseconds) : []
        for stuck in expired {
            let ours = stuck.tag >> 32 == UInt64(request) ? Int(truncatingIfNeeded: stuck.tag & 0xFFFF_FFFF) : nil
            switch abortOrReset(stuck, on: queue, seenEpoch: seenEpoch, at: now) {
            case .abortSent:
                if let ours {
                    timeouts.note(ours, .commandTimedOut(command: plan.name, queueID: queue.id, commandID: stuck.commandID,
                                                         milliseconds: milliseconds, recovery: "it was aborted with NVMe Abort"))
                }
                watchdog.noteProgress()
            case .reset(let why):
                if let ours {
                    timeouts.note(ours, .commandTimedOut(command: plan.name, queueID: queue.id, commandID: stuck.commandID,
                                                         milliseconds: milliseconds,
                                                         recovery: "\(why), so the controller was reset and its queues re-created"))
                }
                watchdog.noteProgress()
                return .keepWaiting
            case .alreadyReset:
                return .keepWaiting
            }
        }
        if watchdog.exceeded(now: now) {
            let detail = queue.stallDescription
            if recover(reason: "\(plan.name) on queue \(queue.id) made no progress: \(detail)", seenEpoch: seenEpoch) {
                result.fail(-1, .noProgress(command: plan.name, queueID: queue.id, milliseconds: milliseconds, detail: detail))
            }
            watchdog.noteProgress()
        }
        return .keepWaiting
    }
}

/// The timeout errors a request's commands earned, by command index (the lowest is kept apart
/// so the common single-stuck-command case needs no allocation).
struct TimeoutRecord {
    private var first: (index: Int, error: ControllerError)?
    private var others: [Int: ControllerError] = [:]

    mutating func note(_ index: Int, _ error: ControllerError) {
        if first == nil || first!.index == index { first = (index, error) } else { others[index] = error }
    }

    func error(for index: Int) -> ControllerError? {
        if let first, first.index == index { return first.error }
        return others.isEmpty ? nil : others[index]
    }
}
