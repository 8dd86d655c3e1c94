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

/// A command's tag in the request loop: the request's number in the high 32 bits, the command's
/// index in its plan in the low 32, so a late completion of an abandoned request is told apart.
enum RequestTag {
    static func make(request: UInt32, index: Int) -> UInt64 { UInt64(request) << 32 | UInt64(truncatingIfNeeded: index) }
    /// The command's index in the plan of `request`, or nil when `tag` belongs to another request.
    static func index(of tag: UInt64, request: UInt32) -> Int? {
        tag >> 32 == UInt64(request) ? Int(truncatingIfNeeded: tag & 0xFFFF_FFFF) : nil
    }
}

/// The one loop every request waits in, run by the thread that owns the queue: submit, ring once
/// per batch, poll, and while nothing happens let the controller's watchdog check the device, the
/// deadlines (NVMe Abort, then a controller reset) and the no-progress bound. It ends when every
/// command it submitted has completed or was dropped by a reset or stop, or when the device is
/// gone or no longer ready (commands then left outstanding carry this request's number in their
/// tags, so no later request mistakes them).
extension QueuePair {
    /// Runs `plan`, claiming the queue for the calling thread for its duration.
    func run<Plan: CommandPlan>(_ plan: Plan, watchedBy controller: ControllerCore) -> PlanResult {
        guard claim() else {
            var result = PlanResult()
            result.fail(0, controller.isStopped ? .stopped
                : .requestRefused(reason: "queue \(id) is in use by another thread; a queue belongs to one thread"))
            return result
        }
        defer { releaseClaim() }
        return runClaimed(plan, watchedBy: controller, whileStopping: false)
    }

    /// `run` for a caller that has claimed the queue already (stop's Flush, which also runs while stopping).
    func runClaimed<Plan: CommandPlan>(_ plan: Plan, watchedBy controller: ControllerCore, whileStopping: Bool) -> PlanResult {
        var result = PlanResult()
        guard whileStopping || !controller.isStopped else {
            result.fail(0, .stopped)
            return result
        }
        if state.pointee.epoch != epoch.value.load(ordering: .acquiring) {
            // Reset since this queue last looked: re-create it before submitting, so this request's
            // commands are not the ones the catch-up drops (what it drops was abandoned earlier).
            _ = catchUp { _ in }
        }
        let request = nextRequestNumber()
        var next = 0
        var completed = 0
        var watchdog = Watchdog(timeoutMilliseconds: controller.options.commandTimeoutMilliseconds)
        var timeouts = TimeoutRecord()
        let hostileAtStart = hostileCompletionCount

        // Submitting stops at the first failure; the loop then waits for what is in flight.
        while completed < next || (next < plan.count && result.firstFailed == nil) {
            var progressed = false
            if next < plan.count, result.firstFailed == nil, let closeReason {
                result.fail(next, closeReason)  // stopped, or recovery could not re-create the queue
            }
            while next < plan.count, result.firstFailed == nil, canSubmit(plan.groupSize) {
                for _ in 0..<plan.groupSize {
                    let command = plan.command(next)
                    let outcome = submit(command.entry, dataIOVA: command.dataIOVA, dataLength: command.dataLength,
                                         tag: RequestTag.make(request: request, index: next))
                    guard outcome == .submitted else {
                        result.fail(next, outcome == .closed ? closeReason ?? .stopped
                            : .requestRefused(reason: "\(plan.name) of \(command.dataLength) bytes exceeds the \(maximumDataLength)-byte command maximum"))
                        break
                    }
                    next += 1
                    progressed = true
                }
            }
            ringDoorbell()
            let handled = poll { completion in
                // Another request's command: one abandoned earlier.
                guard let index = RequestTag.index(of: completion.tag, request: request), index < next else { return }
                completed += 1
                if let drop = completion.droppedBy {
                    result.fail(index, drop == .controllerStopped ? .stopped
                        : timeouts.error(for: index) ?? .abortedByReset(command: plan.name))
                } else if !completion.status.isSuccess {
                    let error = completion.status.matches(.abortRequested) ? timeouts.error(for: index) : nil
                    result.fail(index, error ?? plan.failure(index, status: completion.status), status: completion.status)
                }
            }
            if hostileCompletionCount != hostileAtStart, result.firstFailed != -1, let anomaly = anomalies.last {
                result.fail(-1, anomaly)
            }
            guard watchdog.pass(progressed: progressed || handled > 0) else { continue }
            if case .abandon = controller.watch(self, plan: plan, request: request, whileStopping: whileStopping,
                                                watchdog: &watchdog, timeouts: &timeouts, result: &result) {
                break
            }
        }
        return result
    }
}

/// The timeout errors a request's commands earned, by command index (the lowest is kept apart
/// so the common single-stuck-command case needs no allocation).
struct TimeoutRecord {
    private var first: (index: Int, error: ControllerError)?
    private var others: [Int: ControllerError]?

    mutating func note(_ index: Int, _ error: ControllerError) {
        if first == nil || first!.index == index {
            first = (index, error)
        } else {
            var more = others ?? [:]
            more[index] = error
            others = more
        }
    }

    func error(for index: Int) -> ControllerError? {
        if let first, first.index == index { return first.error }
        return others?[index]
    }
}
