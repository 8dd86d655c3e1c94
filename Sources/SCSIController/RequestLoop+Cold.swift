/// The request loop's cold paths (RequestLoop.swift): recording failures, refusing, and the
/// watchdog's turn. Out of line, so the loop's registers are not spent on building errors.
extension QueuePair {
    /// The loop's turn for the controller's watchdog, after a multiple of
    /// `Watchdog.requestCheckInterval` idle passes: false when the request must end now.
    @inline(never)
    func watchRequest<Plan: CommandPlan>(_ plan: Plan, _ request: UInt32, _ controller: ControllerCore, _ whileStopping: Bool,
                                         idlePasses: inout Int, watchdog: inout Watchdog?, result: inout PlanResult) -> Bool {
        stampUnstamped()
        switch controller.watch(self, plan: plan, request: request, whileStopping: whileStopping,
                                idlePasses: idlePasses, watchdog: &watchdog, result: &result) {
        case .keepWaiting: return true
        case .progressed:
            idlePasses = 0
            return true
        case .abandon: return false
        }
    }

    /// Gives the outstanding commands submitted unstamped (`openUnstampedBatch`) the time now,
    /// before the watchdog compares them with their deadline: a command's timeout runs from the
    /// first check that finds it outstanding - 256 idle passes after its submission for a request
    /// of one command, later when other commands of its request kept completing meanwhile.
    func stampUnstamped() {
        var now: UInt64 = 0
        for index in 0..<trackerCount where trackers[index].inUse && trackers[index].submittedAt == Tracker.unstamped {
            if now == 0 { now = MonotonicClock.nanoseconds() }
            trackers[index].submittedAt = now
        }
    }

    /// Why `submit` refused a command of the plan when there was room for it: its length.
    @inline(never)
    func tooLarge(_ name: String, bytes: Int) -> ControllerError {
        .requestRefused(reason: "\(name) of \(bytes) bytes exceeds the \(maximumDataLength)-byte command maximum")
    }

    /// Another thread holds the queue (or stop, which claims it to flush).
    @inline(never)
    func refusedClaim() -> PlanResult {
        PlanResult(refused: epoch.isStopping ? .stopped
                       : .requestRefused(reason: "queue \(id) is in use by another thread; a queue belongs to one thread"))
    }

    /// The controller posted completions that match no command while a request ran: it fails whole.
    @inline(never)
    func noteHostile(_ result: inout PlanResult) {
        if result.firstFailed != -1, let anomaly = anomalies.last { result.fail(-1, anomaly) }
    }
}

extension PlanResult {
    /// Command `index` of `plan` completed with an error status or was dropped by a reset or
    /// stop; a command the watchdog timed out reports its timeout instead.
    @inline(never)
    mutating func fail<Plan: CommandPlan>(_ index: Int, plan: Plan, _ completion: Completion) {
        if let drop = completion.droppedBy {
            fail(index, drop == .controllerStopped ? .stopped : timeout(for: index) ?? .abortedByReset(command: plan.name))
        } else {
            let timedOut = completion.status.matches(.abortRequested) ? timeout(for: index) : nil
            fail(index, timedOut ?? plan.failure(index, status: completion.status), status: completion.status)
        }
    }
}
