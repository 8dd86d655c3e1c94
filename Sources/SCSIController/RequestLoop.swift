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

/// How a request ended, and what it recorded on the way: its lowest failed command with the
/// error, and the timeouts the watchdog gave its commands (the error for a command that then
/// completes with Abort Requested or is dropped by a reset). A request that needs neither carries
/// one nil reference, nothing to make, move or drop; the record is allocated at the first failure
/// or timeout (a failed request builds an error anyway). Each request has its own result.
struct PlanResult {
    private var record: Record?

    private final class Record {
        var failure: (index: Int, error: ControllerError, status: CompletionStatus?)?
        var timeouts: [Int: ControllerError] = [:]
    }

    /// Lowest index of a command that failed, or -1 when the whole request failed (fatal status,
    /// hostile completion, no progress); nil when every command succeeded.
    var firstFailed: Int? { record?.failure?.index }
    var error: ControllerError? { record?.failure?.error }
    /// The NVMe status of the failed command, when the failure was a status.
    var status: CompletionStatus? { record?.failure?.status }
    /// Whether no command has failed (so far).
    var succeeded: Bool { record?.failure == nil }

    init() {}

    /// A request refused before it submitted anything (its first command names the failure).
    init(refused error: ControllerError) { fail(0, error) }

    /// Records a failure unless a lower command already failed. Out of line: the loop's
    /// registers are not spent on building errors.
    @inline(never)
    mutating func fail(_ index: Int, _ error: ControllerError, status: CompletionStatus? = nil) {
        let record = recorded()
        if let failure = record.failure, failure.index <= index { return }
        record.failure = (index, error, status)
    }

    /// Records the timeout the watchdog gave command `index`.
    @inline(never)
    mutating func noteTimeout(_ index: Int, _ error: ControllerError) { recorded().timeouts[index] = error }

    /// The timeout command `index` earned, if any.
    func timeout(for index: Int) -> ControllerError? { record?.timeouts[index] }

    private mutating func recorded() -> Record {
        if let record { return record }
        let made = Record()
        record = made
        return made
    }
}

/// A command's tag on an I/O queue: the request's number in the high 32 bits, the command's
/// index in its plan in the low 32, so a late completion of an abandoned request is told apart.
/// The request loop numbers its requests from 1 (`QueuePair.nextRequestNumber`);
/// `SCSITaskPipeline`'s commands are all request `pipeline`.
enum RequestTag {
    /// The request number of every `SCSITaskPipeline` command: one the request loop never uses.
    static let pipeline: UInt32 = 0
    static func make(request: UInt32, index: Int) -> UInt64 { UInt64(request) << 32 | UInt64(truncatingIfNeeded: index) }
    /// The command's index in the plan of `request`, or nil when `tag` belongs to another request.
    static func index(of tag: UInt64, request: UInt32) -> Int? {
        tag >> 32 == UInt64(request) ? Int(truncatingIfNeeded: tag & 0xFFFF_FFFF) : nil
    }
}

/// The one loop every request waits in, run by the thread that owns the queue: submit, ring once
/// per batch, poll, and after every 256 passes in which nothing happened let the controller's
/// watchdog check the device, the deadlines (NVMe Abort, then a controller reset) and the
/// no-progress bound (`watchRequest`). It ends when every command it submitted has completed or
/// was dropped by a reset or stop, or when the device is gone or no longer ready (commands then
/// left outstanding carry this request's number in their tags, so no later request mistakes
/// them). Its cold paths (failures, the watchdog, refusals) are in RequestLoop+Cold.swift: the
/// success path touches no error.
extension QueuePair {
    /// Runs `plan`, claiming the queue for the calling thread for its duration.
    @inline(__always)
    func run<Plan: CommandPlan>(_ plan: Plan, watchedBy controller: ControllerCore) -> PlanResult {
        guard claim() else { return refusedClaim() }
        let result = runClaimed(plan, watchedBy: controller, whileStopping: false)
        releaseClaim()
        return result
    }

    /// `run` for a caller that has claimed the queue already (stop's Flush, which also runs while stopping).
    @inline(__always)
    func runClaimed<Plan: CommandPlan>(_ plan: Plan, watchedBy controller: ControllerCore, whileStopping: Bool) -> PlanResult {
        // One look at the run state, after the claim (stop claims after it says it is stopping):
        // stop has begun, or a reset came since this queue last looked - then the queue is
        // re-created before submitting, so this request's commands are not the ones the catch-up
        // drops (what it drops was abandoned earlier).
        let run = epoch.value.load(ordering: .sequentiallyConsistent)
        if !whileStopping && run & ControllerEpoch.stoppingBit != 0 { return PlanResult(refused: .stopped) }
        if _slowPath(run != state.pointee.epoch) { _ = catchUp { _ in } }
        let request = nextRequestNumber()
        var result = PlanResult()
        var (next, completed, idlePasses) = (0, 0, 0)
        var watchdog: Watchdog?  // made at the first check
        let hostileAtStart = state.pointee.hostileCompletions
        // Submitting stops at the first failure; the loop then waits for what is in flight.
        while completed < next || (next < plan.count && result.succeeded) {
            let submittedBefore = next
            submitting: while next < plan.count, result.succeeded {
                // Room for the whole group first (a fused pair needs adjacent slots), else poll
                // and go on; a closed queue (stopped, or not re-created) has none.
                guard canSubmit(plan.groupSize) else {
                    if isClosed { result.fail(next, closeReason ?? .stopped) }
                    break
                }
                openUnstampedBatch()
                for _ in 0..<plan.groupSize {
                    let command = plan.command(next)
                    guard submit(command.entry, dataIOVA: command.dataIOVA, dataLength: command.dataLength,
                                 tag: RequestTag.make(request: request, index: next)) == .submitted else {
                        result.fail(next, tooLarge(plan.name, bytes: command.dataLength))
                        break submitting
                    }
                    next &+= 1
                }
            }
            ringDoorbell()
            // The pass's lowest failed command, an error only after the pass (`result` stays a plain local).
            var failedIndex = Int.max
            var failed: Completion?
            let handled = reap(request: request, submitted: next, completed: &completed, failedIndex: &failedIndex, failed: &failed)
            if _slowPath(failedIndex != .max) { result.fail(failedIndex, plan: plan, failed.unsafelyUnwrapped) }
            if _slowPath(state.pointee.hostileCompletions != hostileAtStart) { noteHostile(&result) }
            guard next == submittedBefore && handled == 0 else {
                idlePasses = 0
                continue
            }
            idlePasses &+= 1
            if idlePasses % Watchdog.requestCheckInterval == 0,
               !watchRequest(plan, request, controller, whileStopping, idlePasses: &idlePasses, watchdog: &watchdog, result: &result) {
                return result
            }
        }
        return result
    }

    /// One poll pass of request `request`'s loop: counts its completions and notes its lowest
    /// failed one. Non-generic and out of line so that `poll` and this handler are inlined here
    /// (from the generic loop, `poll` was a call with its closure, and a larger loop around it).
    @inline(never)
    func reap(request: UInt32, submitted next: Int, completed: inout Int, failedIndex: inout Int, failed: inout Completion?) -> Int {
        poll { completion in
            // Another request's command: one abandoned earlier.
            guard let index = RequestTag.index(of: completion.tag, request: request), index < next else { return }
            completed &+= 1
            if _slowPath(completion.droppedBy != nil || !completion.status.isSuccess), index < failedIndex { (failedIndex, failed) = (index, completion) }
        }
    }

    /// Claims the queue for the calling thread's request; false when another thread holds it.
    /// A queue belongs to one thread: the claim turns a second thread into a named refusal
    /// instead of two threads corrupting the rings, and lets stop() wait for a request to end.
    func claim() -> Bool {
        ownerClaim.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged
    }

    func releaseClaim() { ownerClaim.store(false, ordering: .sequentiallyConsistent) }

    /// A fresh request number for tags (wrapping; 2^32 requests apart never overlap in practice).
    func nextRequestNumber() -> UInt32 {
        state.pointee.requestNumber &+= 1
        if _slowPath(state.pointee.requestNumber == RequestTag.pipeline) { state.pointee.requestNumber = 1 }
        return state.pointee.requestNumber
    }

    /// Whether `count` commands fit now, in adjacent SQ slots (the ring's slots always are) with
    /// a tracker each: the submit credit `submit` itself checks, worked out once per poll pass.
    func canSubmit(_ count: Int) -> Bool { state.pointee.submitCredit >= count }

    /// Opens a batch whose commands `submit` stamps with `Tracker.unstamped` instead of reading the
    /// clock (`RingState.batchTime`): the loop needs a command's time only at its watchdog's check,
    /// 256 idle passes on (`stampUnstamped`), so a command that completes before then never pays for it.
    func openUnstampedBatch() {
        if state.pointee.batchTime == 0 { state.pointee.batchTime = Tracker.unstamped }
    }
}

extension Tracker {
    /// The submission time of a command a request loop submitted, until its first watchdog check
    /// (see `QueuePair.openUnstampedBatch`): not 0, which tells `submit` that no batch is open,
    /// and no time the monotonic clock reads once the system is up.
    static let unstamped: UInt64 = 1
}

extension Watchdog {
    /// Passes without progress between two checks of a waiting request.
    static let requestCheckInterval = 256
}
