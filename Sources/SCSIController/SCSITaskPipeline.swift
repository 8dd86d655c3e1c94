import DMAMapper
import NVMe
import Translation

/// Many SCSI tasks in flight on one I/O queue from one thread: `start` hands a task over without
/// waiting for it, `poll` hands back the tasks that have finished. For a caller that has several
/// tasks at once (a TCMU ring, an initiator with a queue depth) and one thread to serve them:
/// `SCSIHostAdapter.process` keeps one task at the device until it completes.
///
/// A READ or WRITE (6, 10, 12, 16) that `process` would run on its fast path and that fits one NVMe
/// command is submitted as that command, tagged with its slot, and left in flight; its completion
/// builds the same response `process` gives (GOOD with the bytes moved, or the failure's status and
/// sense through the same mapping). Every other task runs through `process` itself, once every task
/// in flight has finished: the request loop under it hands other requests' completions to no one,
/// so nothing of the pipeline may be outstanding then. Such a task is thereby ordered after every
/// task started before it, and before every task started after it.
///
/// No task is lost: the watchdog the request loop uses (`ControllerCore.watch`: NVMe Abort, then a
/// controller reset, and the no-progress bound) checks the commands in flight whenever `poll` finds
/// nothing to hand back for a while, and a command dropped by a reset or stop, a controller that is
/// gone or not ready, and a closed queue each end their tasks with the response `process` would
/// give (service delivery failure, or CHECK CONDITION with sense, and the engine's `error`).
///
/// Owned by one thread, like its queue; the queue is claimed only for the length of each call, so
/// `process` (and the controller's stop) may use it between calls. Nothing is allocated per task
/// on the fast path and no lock is taken.
public final class SCSITaskPipeline {
    /// The adapter whose translation and unit state the tasks go through.
    public let adapter: SCSIHostAdapter
    /// The queue every task runs on.
    public let queue: IOQueue
    /// Slots: the most tasks started and not yet handed back by `poll`.
    public let depth: Int
    private let slots: UnsafeMutablePointer<Slot>
    /// Finished slots in the order they finished, handed back by `poll` (a ring of `depth`).
    private let finished: UnsafeMutablePointer<Int>
    private var finishedFirst = 0
    private var finishedCount = 0
    /// Commands at the device now.
    public private(set) var inFlight = 0
    /// The watchdog's state, as one request of the request loop keeps it: passes without
    /// progress, the clock of the last progress, the timeouts it gave (keyed by each command's
    /// index in its `RequestTag`) and a failure of the whole queue (index -1).
    private var idlePasses = 0
    private var watchdog: Watchdog?
    private var watchResult = PlanResult()
    /// The queue's count of hostile completions when this pipeline last looked.
    private var hostileSeen: Int

    /// What one slot holds.
    struct Slot {
        enum Phase { case free, inFlight, finished }
        var phase = Phase.free
        /// Counts the slot's uses, so a late completion of an abandoned command is told apart.
        var generation: UInt16 = 0
        var task: SCSITask?
        var response: SCSITaskResponse?
        /// The command's fields, for a failure's error.
        var isWrite = false
        var fua = false
        var lba: UInt64 = 0
        var blocks = 0
        var bytes = 0
        /// The controller posted a completion that matched no command while this one was in
        /// flight: its own completion cannot be trusted either, so the task fails.
        var hostile = false
    }

    /// A pipeline of `depth` slots (at least 1, at most 65 536) on `queue`, which from now on
    /// belongs to the calling thread.
    public init(adapter: SCSIHostAdapter, queue: IOQueue, depth: Int) {
        precondition((1...(1 << 16)).contains(depth), "SCSITaskPipeline: depth \(depth) is not 1 to 65536")
        self.adapter = adapter
        self.queue = queue
        self.depth = depth
        slots = .allocate(capacity: depth)
        slots.initialize(repeating: Slot(), count: depth)
        finished = .allocate(capacity: depth)
        hostileSeen = queue.queuePair.hostileCompletionCount
    }

    deinit {
        slots.deinitialize(count: depth)
        slots.deallocate()
        finished.deallocate()
    }

    /// Whether `slot` may be given to `start`: it holds no task, or its task was handed back.
    public func isFree(_ slot: Int) -> Bool { slots[slot].phase == .free }

    /// Tasks started and not yet handed back (in flight, or finished and waiting for `poll`).
    public var pending: Int { inFlight + finishedCount }

    /// Starts `task` in the free `slot`; `poll` hands back its response with the slot. A fast-path
    /// READ or WRITE reaches the device at the next `poll` (one doorbell for what was started
    /// since); any other task has finished when this returns, after every task started before it.
    /// The task's buffer must stay as it is until its response is handed back.
    public func start(_ task: SCSITask, slot: Int) {
        precondition(slots[slot].phase == .free, "SCSITaskPipeline.start: slot \(slot) is in use")
        slots[slot].task = task
        slots[slot].generation &+= 1
        slots[slot].hostile = false
        if let transfer = fastPathTransfer(task) {
            submit(transfer, slot: slot)
        } else {
            runSynchronously(task, slot: slot)
        }
    }

    /// Announces what was started, takes the completions the controller posted and hands every
    /// finished task to `handler` with its slot (which is free again when `handler` is called).
    /// When nothing completes for a while the watchdog looks at the commands in flight. Returns
    /// the tasks handed back.
    @discardableResult
    public func poll(_ handler: (_ slot: Int, _ response: SCSITaskResponse) -> Void) -> Int {
        if inFlight > 0 { reapPass() }
        return handBack(handler)
    }

    /// Polls until no task is in flight, handing every finished one to `handler`; bounded by the
    /// watchdog (a command that never completes is aborted, then reset away, or its task failed).
    public func drain(_ handler: (_ slot: Int, _ response: SCSITaskResponse) -> Void) {
        while inFlight > 0 { reapPass() }
        handBack(handler)
    }

    /// The READ or WRITE `process` would run on its fast path, when it also fits one command whose
    /// data pointer the engine accepts (else `process` runs it, through the breaker, or refuses it).
    @inline(__always)
    private func fastPathTransfer(_ task: SCSITask) -> BlockTransfer? {
        let run = adapter.controller.core.epoch.value.load(ordering: .sequentiallyConsistent)
        guard SCSIHostAdapter.bufferHolds(task), run & ControllerEpoch.stoppingBit == 0,
              adapter.units.isClear(task.lun, resetCount: run / ControllerEpoch.generationUnit),
              let transfer = task.cdb.withUnsafeBytes({
                  translateBlockTransfer(cdb: $0, lun: task.lun, transferLength: task.transferLength, direction: task.direction,
                                         luns: adapter.facts.luns, maximumTransferBytes: adapter.facts.maximumTransferBytes)
              }),
              let ns = queue.limits.namespace(transfer.nsid) else { return nil }
        let blocks = Int(transfer.blocks)
        guard blocks <= (transfer.isWrite ? ns.blocksPerWrite : ns.blocksPerRead),
              queue.limits.refusal(ns, lba: transfer.lba, blocks: blocks, write: transfer.isWrite,
                                   iova: task.buffer.unsafelyUnwrapped.iova &+ UInt64(task.bufferOffset),
                                   available: task.buffer.unsafelyUnwrapped.length - task.bufferOffset) == nil
        else { return nil }
        return transfer
    }

    /// Submits the transfer's one command, tagged with the slot; waits (polling) only while the
    /// queue has no room.
    private func submit(_ transfer: BlockTransfer, slot: Int) {
        let task = slots[slot].task.unsafelyUnwrapped
        let bytes = task.transferLength
        slots[slot].isWrite = transfer.isWrite
        slots[slot].fua = transfer.fua
        slots[slot].lba = transfer.lba
        slots[slot].blocks = Int(transfer.blocks)
        slots[slot].bytes = bytes
        let pair = queue.queuePair
        let entry = SubmissionQueueEntry.io(transfer.isWrite ? .write : .read, nsid: transfer.nsid, lba: transfer.lba,
                                            blocks: Int(transfer.blocks), fua: transfer.fua)
        let iova = task.buffer.unsafelyUnwrapped.iova &+ UInt64(task.bufferOffset)
        while true {
            guard pair.claim() else { return fail(slot, with: adapter.controller.isStopped ? .stopped : Self.busyQueue(pair)) }
            if _slowPath(pair.state.pointee.epoch != pair.epoch.value.load(ordering: .acquiring)) {
                // A reset or stop since the queue last looked: let the catch-up hand back what it
                // drops before this command goes in, so that it is not among them.
                reapClaimed(pair)
            }
            let outcome = pair.submit(entry, dataIOVA: iova, dataLength: bytes, tag: tag(slot))
            pair.releaseClaim()
            switch outcome {
            case .submitted:
                slots[slot].phase = .inFlight
                inFlight &+= 1
                return
            case .queueFull:
                // Every tracker is taken (by this pipeline, or by commands a request abandoned):
                // wait for one, as the request loop does, watchdog included.
                if adapter.controller.isStopped { return fail(slot, with: .stopped) }
                if let abandoned = reapPass() { return fail(slot, with: abandoned) }
            case .closed:
                return fail(slot, with: pair.closeReason ?? .stopped)
            case .transferTooLarge:
                return fail(slot, with: pair.tooLarge(Self.commandName(slots[slot]), bytes: bytes))
            }
        }
    }

    /// A task `process` runs: after every task in flight has finished (their responses wait for
    /// `poll`), so that the request loop under `process` sees no completion of this pipeline.
    private func runSynchronously(_ task: SCSITask, slot: Int) {
        while inFlight > 0 { reapPass() }
        finish(slot, adapter.process(task, on: queue))
    }

    /// One pass: ring the doorbell, take completions; when none came for a while, the watchdog.
    /// Returns the error when the watchdog gave up on the queue (every task in flight has then
    /// ended with it).
    @discardableResult
    private func reapPass() -> ControllerError? {
        let pair = queue.queuePair
        guard pair.claim() else {
            // Another thread holds the queue: only the controller's stop does (its Flush). It
            // stops the queue next, and the catch-up then drops what is in flight; meanwhile
            // the watchdog still bounds the wait.
            return watchIfIdle(pair, progressed: false)
        }
        let handled = reapClaimed(pair)
        pair.releaseClaim()
        return watchIfIdle(pair, progressed: handled > 0)
    }

    /// Rings and polls the claimed queue; returns the completions taken (this pipeline's or not).
    @discardableResult
    private func reapClaimed(_ pair: QueuePair) -> Int {
        pair.ringDoorbell()
        let finishedBefore = finishedCount
        let handled = pair.poll { completion in complete(completion) }
        if _slowPath(pair.hostileCompletionCount != hostileSeen) { noteHostile(pair, finishedSince: finishedBefore) }
        return handled
    }

    /// The controller posted completions that match no command (an unknown or stale command id,
    /// one completed twice, an SQ head outside the ring). As a request of the request loop fails
    /// whole when that happens while it runs, every task that finished in this pass and every
    /// task still in flight ends with the queue's `hostileCompletion` error: which of their
    /// completions the controller garbled cannot be told.
    @inline(never)
    private func noteHostile(_ pair: QueuePair, finishedSince first: Int) {
        hostileSeen = pair.hostileCompletionCount
        let error = pair.anomalies.last ?? .hostileCompletion(queueID: pair.id, detail: "a completion matched no command")
        for position in first..<finishedCount {
            let slot = finished[(finishedFirst &+ position) % depth]
            slots[slot].response = failureResponse(slot, error)
        }
        for slot in 0..<depth where slots[slot].phase == .inFlight { slots[slot].hostile = true }
    }

    /// Counts a pass without progress, and every `Watchdog.requestCheckInterval` of them lets the
    /// controller check the device, the deadlines and the no-progress bound, as for a request.
    private func watchIfIdle(_ pair: QueuePair, progressed: Bool) -> ControllerError? {
        if progressed {
            idlePasses = 0
            if inFlight == 0 { watchResult = PlanResult() }
            return nil
        }
        idlePasses &+= 1
        guard idlePasses % Watchdog.requestCheckInterval == 0 else { return nil }
        let verdict = adapter.controller.core.watch(pair, plan: PipelinePlan(), request: RequestTag.pipeline, whileStopping: false,
                                                    idlePasses: idlePasses, watchdog: &watchdog, result: &watchResult)
        switch verdict {
        case .keepWaiting: return nil
        case .progressed:
            idlePasses = 0
            return nil
        case .abandon: return abandonInFlight()
        }
    }

    /// The watchdog gave up on the queue (stopped, device gone, not ready): every task in flight
    /// ends with that error, as a request's would. Their commands stay outstanding in the queue;
    /// the slots' new generations make their late completions (or drops) match nothing.
    @inline(never)
    private func abandonInFlight() -> ControllerError {
        let error = watchResult.error ?? .stopped
        for slot in 0..<depth where slots[slot].phase == .inFlight {
            slots[slot].generation &+= 1
            inFlight &-= 1
            fail(slot, with: error)
        }
        idlePasses = 0
        watchResult = PlanResult()
        return error
    }

    /// A completion from the queue: this pipeline's (by its tag's slot and generation) ends its
    /// task; anything else is a command a request abandoned, which no one waits for.
    @inline(__always)
    private func complete(_ completion: Completion) {
        guard let index = RequestTag.index(of: completion.tag, request: RequestTag.pipeline) else { return }
        let slot = index & 0xFFFF
        guard slot < depth, slots[slot].phase == .inFlight,
              slots[slot].generation == UInt16(truncatingIfNeeded: index >> 16) else { return }
        inFlight &-= 1
        if _fastPath(completion.droppedBy == nil && completion.status.isSuccess && !slots[slot].hostile) {
            let task = slots[slot].task.unsafelyUnwrapped
            let bytes = slots[slot].bytes
            finish(slot, SCSITaskResponse(tag: task.tag, serviceResponse: .taskComplete, status: .good, sense: [],
                                          bytesTransferred: bytes, residual: task.transferLength - bytes, error: nil))
        } else {
            failed(slot, index: index, completion)
        }
    }

    /// The slot's command failed or was dropped: the error the request loop would record for it
    /// (`PlanResult.fail(_:plan:_:)`), then status and sense as `process` builds them.
    @inline(never)
    private func failed(_ slot: Int, index: Int, _ completion: Completion) {
        let name = Self.commandName(slots[slot])
        let error: ControllerError
        var status: CompletionStatus?
        if slots[slot].hostile, let anomaly = queue.queuePair.anomalies.last {
            error = anomaly
        } else if watchResult.firstFailed == -1, let whole = watchResult.error {
            error = whole  // the watchdog reset the controller for a fatal status or no progress
        } else if let drop = completion.droppedBy {
            error = drop == .controllerStopped ? .stopped : watchResult.timeout(for: index) ?? .abortedByReset(command: name)
        } else {
            let timedOut = completion.status.matches(.abortRequested) ? watchResult.timeout(for: index) : nil
            error = timedOut ?? .ioCommandFailed(command: name, lba: slots[slot].lba, blocks: slots[slot].blocks,
                                                 status: completion.status)
            status = completion.status
        }
        fail(slot, with: error, status: status)
    }

    /// Ends the slot's task with `error` as `process` would end its one-command transfer.
    @inline(never)
    private func fail(_ slot: Int, with error: ControllerError, status: CompletionStatus? = nil) {
        finish(slot, failureResponse(slot, error, status: status))
    }

    /// The response `process` gives a one-command transfer that ended with `error`.
    private func failureResponse(_ slot: Int, _ error: ControllerError, status: CompletionStatus? = nil) -> SCSITaskResponse {
        let task = slots[slot].task.unsafelyUnwrapped
        let outcome = BlockOutcome(requestedBytes: task.transferLength, bytesTransferred: 0, commands: 1, error: error, status: status)
        return adapter.blockTransferFailed(outcome, task: task)
    }

    private func finish(_ slot: Int, _ response: SCSITaskResponse) {
        slots[slot].response = response
        slots[slot].phase = .finished
        finished[(finishedFirst &+ finishedCount) % depth] = slot
        finishedCount &+= 1
    }

    /// Hands the finished tasks back in the order they finished, freeing their slots first (and
    /// dropping the slot's references, so the caller's CDB storage is unshared again).
    @discardableResult
    private func handBack(_ handler: (Int, SCSITaskResponse) -> Void) -> Int {
        let count = finishedCount
        for _ in 0..<count {
            let slot = finished[finishedFirst]
            finishedFirst = finishedFirst &+ 1 == depth ? 0 : finishedFirst &+ 1
            finishedCount &-= 1
            let response = slots[slot].response.unsafelyUnwrapped
            slots[slot].response = nil
            slots[slot].task = nil
            slots[slot].phase = .free
            handler(slot, response)
        }
        return count
    }

    /// The tag of the slot's command: the pipeline's request number, and as the command's index
    /// the slot with the slot's generation above it.
    @inline(__always)
    private func tag(_ slot: Int) -> UInt64 {
        RequestTag.make(request: RequestTag.pipeline, index: Int(slots[slot].generation) << 16 | slot)
    }

    static func commandName(_ slot: Slot) -> String { OperationRunner.name(write: slot.isWrite, fua: slot.fua) }

    @inline(never)
    static func busyQueue(_ pair: QueuePair) -> ControllerError {
        .requestRefused(reason: "queue \(pair.id) is in use by another thread; a queue belongs to one thread")
    }
}

/// What the watchdog's messages call the pipeline's commands; it plans nothing itself.
private struct PipelinePlan: CommandPlan {
    var name: String { "Read or Write" }
    var count: Int { 0 }
    func command(_ index: Int) -> PlannedCommand { PlannedCommand(entry: SubmissionQueueEntry()) }
    func failure(_ index: Int, status: CompletionStatus) -> ControllerError {
        .ioCommandFailed(command: name, lba: 0, blocks: 0, status: status)
    }
}
