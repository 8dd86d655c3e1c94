import NVMe

/// What the watchdog's escalation did about an expired command.
enum Escalation {
    /// The controller accepted an NVMe Abort; the command should now complete with Abort Requested.
    case abortSent
    /// The controller was reset (the string says why Abort was not enough).
    case reset(String)
    /// Someone else reset (or stopped) the controller since the caller's queue last looked.
    case alreadyReset
}

/// Recovery touches the controller and the admin queue only - never an I/O queue pair, which
/// belongs to its owner thread. A reset deletes every I/O queue in the controller; it becomes
/// visible (`ControllerEpoch.publishReset`) only once the controller works again, and each owner
/// then hands back its own outstanding commands as dropped and re-creates its own queue
/// (`QueuePair.catchUp`, `recreate`). A reset never frees memory a command still points at: the
/// rings, list pages and data buffers outlive it, and the controller is disabled before any of
/// them is reused.
extension ControllerCore {
    /// Resets the controller after a fatal status or a queue that cannot move, unless it was
    /// reset or stopped since `seenEpoch` (the caller's queue's view) already. Returns whether
    /// this call did the reset (the caller's error is then the cause, not a bystander's report).
    @discardableResult
    func recover(reason: String, seenEpoch: Int) -> Bool {
        adminLock.withLock { state in
            guard epoch.value.load(ordering: .acquiring) == seenEpoch else { return false }
            resetLocked(reason: reason, &state)
            return true
        }
    }

    /// Whether the controller was reset or stopped since `seenEpoch`, once any reset in progress
    /// (which holds the admin lock) has finished: a controller that is not ready only because
    /// another thread is resetting it is not a dead controller.
    func changed(since seenEpoch: Int) -> Bool {
        adminLock.withLock { _ in epoch.value.load(ordering: .acquiring) != seenEpoch }
    }

    /// An expired command: NVMe Abort first; a reset when the command was aborted already, or the
    /// Abort failed or was not performed. Called by the queue's owner thread.
    func abortOrReset(_ stuck: ExpiredCommand, on queue: QueuePair, seenEpoch: Int, at now: UInt64) -> Escalation {
        adminLock.withLock { (state: inout AdminState) -> Escalation in
            guard epoch.value.load(ordering: .acquiring) == seenEpoch else { return .alreadyReset }
            let why: String
            if stuck.aborted {
                why = "NVMe Abort did not complete it"
            } else {
                do {
                    let abort = try admin.run(.abort(queueID: queue.id, commandID: stuck.commandID), name: "Abort")
                    // Dword 0 bit 0: 0 = the command was aborted, 1 = it was not.
                    if abort.dw0 & 1 == 0 {
                        queue.markAborted(commandID: stuck.commandID, at: now)
                        return .abortSent
                    }
                    why = "NVMe Abort was not performed"
                } catch {
                    why = "NVMe Abort failed (\(error))"
                }
            }
            resetLocked(reason: "command \(stuck.commandID) on queue \(queue.id): \(why)", &state)
            return .reset(why)
        }
    }

    /// Re-creates `pair`'s queues in the controller for its owner thread after a reset; returns the
    /// epoch they belong to. Refused once the controller is stopped.
    func recreate(_ pair: QueuePair) throws(ControllerError) -> Int {
        try adminLock.withLock { (state: inout AdminState) throws(ControllerError) -> Int in
            let current = epoch.value.load(ordering: .acquiring)
            guard current & ControllerEpoch.stoppedBit == 0 else { throw .stopped }
            if !state.createdQueues.contains(pair.id) {
                pair.useShadowDoorbells(state.shadowDoorbellsActive ? shadowDoorbells : nil)
                try BringUp.createIOQueue(pair, admin: admin)
                state.createdQueues.insert(pair.id)
            }
            return current
        }
    }

    /// Disable, admin queue from scratch, enable, Number of Queues, Doorbell Buffer Config (the
    /// controller forgot it), write cache state; then
    /// publish the new generation. A failure leaves the controller stopped. Caller holds the admin lock.
    func resetLocked(reason: String, _ state: inout AdminState) {
        logger.warning("resetting controller", metadata: ["device": "\(device.name)", "reason": "\(reason)"])
        let enabledCache = volatileWriteCacheEnabled
        state.createdQueues.removeAll()
        do throws(ControllerError) {
            try RegisterWaits.disable(device: device, cap: facts.capabilities)
            admin.queue.resetRings()
            try BringUp.programAdminQueue(admin.queue, device: device)
            BringUp.enable(device: device, pageSize: facts.pageSize)
            try RegisterWaits.waitReady(true, device: device, cap: facts.capabilities)
            let request = try ControllerError.encoding { () throws(CommandFieldError) in
                try SubmissionQueueEntry.setNumberOfQueues(submissionQueueCount: queuePairs.count,
                                                           completionQueueCount: queuePairs.count)
            }
            try admin.run(request, name: "Set Features (Number of Queues)")
            if let shadowDoorbells {
                state.shadowDoorbellsActive = try BringUp.configureShadowDoorbells(shadowDoorbells, admin: admin, logger: logger)
            }
            if facts.identify.volatileWriteCachePresent {
                try admin.run(.setFeatures(.volatileWriteCache, value: enabledCache ? 1 : 0),
                              name: "Set Features (Volatile Write Cache)")
            }
            epoch.publishReset()
            logger.notice("controller reset complete", metadata: ["device": "\(device.name)"])
        } catch {
            logger.error("controller reset failed; the controller is unusable", metadata: ["error": "\(error)"])
            epoch.publishStopped()
        }
    }

    /// What the request loop does after a check.
    enum WatchVerdict {
        case keepWaiting
        /// Something was done about the request (an Abort sent, a reset): measure idleness afresh.
        case progressed
        /// The request ends now (its result says why).
        case abandon
    }

    /// The checks made while a request waits, `idlePasses` passes after its last progress:
    /// stopped, device gone or not ready (the request ends at once), CSTS.CFS (reset), expired
    /// deadlines (Abort, then reset) and no progress at all for longer than the command timeout
    /// (reset). After a reset the loop keeps polling: the queue's catch-up hands every outstanding
    /// command back as dropped. Out of line: inlined, its messages' setup lands before the loop.
    @inline(never)
    func watch<Plan: CommandPlan>(_ queue: QueuePair, plan: Plan, request: UInt32, whileStopping: Bool,
                                  idlePasses: Int, watchdog: inout Watchdog?, result: inout PlanResult) -> WatchVerdict {
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
                return .progressed
            case .controllerNotReady where changed(since: seenEpoch):
                return .keepWaiting  // another thread was resetting it; the next poll catches up
            default:
                result.fail(-1, error)
                return .abandon
            }
        }
        let now = MonotonicClock.nanoseconds()
        let milliseconds = facts.options.commandTimeoutMilliseconds
        var dog = watchdog ?? Watchdog(timeoutMilliseconds: milliseconds)
        let idle = dog.idleNanoseconds(idlePasses: idlePasses, checkInterval: Watchdog.requestCheckInterval, now: now)
        watchdog = dog
        let limit = dog.limitNanoseconds
        let expired = now > limit ? queue.expired(before: now - limit) : []
        var abortsSent = false
        for stuck in expired {
            let ours = RequestTag.index(of: stuck.tag, request: request)
            switch abortOrReset(stuck, on: queue, seenEpoch: seenEpoch, at: now) {
            case .abortSent:
                if let ours {
                    result.noteTimeout(ours, .commandTimedOut(command: plan.name, queueID: queue.id, commandID: stuck.commandID,
                                                              milliseconds: milliseconds, recovery: "it was aborted with NVMe Abort"))
                }
                abortsSent = true
            case .reset(let why):
                if let ours {
                    result.noteTimeout(ours, .commandTimedOut(command: plan.name, queueID: queue.id, commandID: stuck.commandID,
                                                              milliseconds: milliseconds,
                                                              recovery: "\(why), so the controller was reset and its queues re-created"))
                }
                return .progressed
            case .alreadyReset:
                return .keepWaiting
            }
        }
        if abortsSent { return .progressed }
        if idle > limit {
            let detail = queue.stallDescription
            if recover(reason: "\(plan.name) on queue \(queue.id) made no progress: \(detail)", seenEpoch: seenEpoch) {
                result.fail(-1, .noProgress(command: plan.name, queueID: queue.id, milliseconds: milliseconds, detail: detail))
            }
            return .progressed
        }
        return .keepWaiting
    }
}
