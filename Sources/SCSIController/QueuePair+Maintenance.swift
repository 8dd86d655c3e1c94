import NVMe

/// The queue pair's cold paths: hostile completions, the owner's catch-up after a controller reset
/// or stop, and what the watchdog needs (expired commands, Abort bookkeeping). Every method runs on
/// the owner thread (for the admin queue: whoever holds the admin lock).
extension QueuePair {
    @usableFromInline func rejectCompletion(commandID cid: UInt16) {
        let index = Int(cid & indexMask)
        if index >= trackerCount {
            recordHostile("command id \(cid) does not exist (queue depth \(depth))")
        } else if trackers[index].inUse {
            recordHostile("command id \(cid) is stale: tracker \(index) now runs command id \(trackers[index].commandID)")
        } else {
            recordHostile("command id \(cid) completed twice or was never submitted")
        }
    }

    @usableFromInline func rejectSQHead(_ reported: UInt16) {
        let s = state.pointee
        recordHostile("SQ head \(reported) is outside the entries the controller was given "
            + "(head \(s.sqHead) to tail \(submissionDoorbell.pointee.last), queue size \(depth))")
    }

    func recordHostile(_ detail: String) {
        state.pointee.hostileCompletions += 1
        if anomalies.count < 64 { anomalies.append(.hostileCompletion(queueID: id, detail: detail)) }
    }

    /// The controller was reset or stopped since this queue last looked. Every outstanding command
    /// is handed back as dropped (its tracker freed here, by the owner, after the handler saw it).
    /// After a reset the rings start over and the queue is re-created in the controller; after a
    /// stop, or when re-creation fails, the queue closes. The rings are zeroed only after a reset:
    /// the reset deleted the controller's queue, so nothing else writes them.
    ///
    /// Inlined into `poll`, so that the handler is only ever called from inlined code: a handler
    /// passed to an out-of-line function would pin everything it captures to memory for the
    /// caller's whole loop. The decisions and the ring work stay out of line.
    @inlinable @inline(__always)
    func catchUp(_ handler: (Completion) -> Void) -> Int {
        guard let (observed, drop) = beginCatchUp() else { return 0 }
        let dropped = dropOutstanding(drop, handler)
        finishCatchUp(observed: observed)
        return dropped
    }

    /// `catchUp` with the re-creation spelled out, for the controller itself (stop, from its
    /// deinit, when the epoch's weak reference to it already reads nil).
    func catchUp(_ handler: (Completion) -> Void, reconnect: (QueuePair) throws(ControllerError) -> Int) -> Int {
        guard let (observed, drop) = beginCatchUp() else { return 0 }
        let dropped = dropOutstanding(drop, handler)
        finishCatchUp(observed: observed, reconnect: reconnect)
        return dropped
    }

    /// What changed since the rings' epoch: nil when only stop has begun (the epoch is adopted,
    /// nothing is dropped), else the epoch now and why outstanding commands end.
    @usableFromInline func beginCatchUp() -> (observed: Int, drop: CommandDrop)? {
        let observed = epoch.value.load(ordering: .acquiring)
        if ControllerEpoch.onlyStopping(observed, since: state.pointee.epoch) {
            // Stop has begun but the rings are untouched: what is in flight still completes, and
            // stop flushes through the first queue before it closes them all.
            state.pointee.epoch = observed
            return nil
        }
        return (observed, observed & ControllerEpoch.stoppedBit != 0 ? .controllerStopped : .controllerReset)
    }

    /// Hands every outstanding command to `handler` as dropped, freeing its tracker after.
    @inlinable @inline(__always)
    func dropOutstanding(_ drop: CommandDrop, _ handler: (Completion) -> Void) -> Int {
        var dropped = 0
        for index in 0..<trackerCount where trackers[index].inUse {
            trackers[index].release()
            dropped &+= 1
            handler(Completion(tag: trackers[index].tag, status: CompletionStatus(.abortedSQDeletion), dw0: 0,
                               commandID: trackers[index].commandID, submittedAt: trackers[index].submittedAt, droppedBy: drop))
        }
        return dropped
    }

    /// `finishCatchUp` re-creating the queue through the controller the epoch names.
    @usableFromInline func finishCatchUp(observed: Int) {
        finishCatchUp(observed: observed) { pair throws(ControllerError) in try pair.epoch.reconnect(pair) }
    }

    /// After a stop the queue closes; after a reset the rings start over and the queue is
    /// re-created (or closes when that fails).
    @usableFromInline func finishCatchUp(observed: Int, reconnect: (QueuePair) throws(ControllerError) -> Int) {
        state.pointee.batchTime = 0
        if observed & ControllerEpoch.stoppedBit != 0 {
            close(because: .stopped, epoch: observed)
            return
        }
        resetRings()
        state.pointee.epoch = observed
        do {
            state.pointee.epoch = try reconnect(self)
            state.pointee.closeReason = nil
        } catch {
            close(because: error, epoch: observed)
        }
    }

    /// No further submissions: `submit` returns `.closed` until a later reset re-creates the queue.
    func close(because reason: ControllerError, epoch observed: Int) {
        state.pointee.freeTail = state.pointee.freeHead
        state.pointee.submitLimit = state.pointee.freeHead
        state.pointee.epoch = observed
        state.pointee.closeReason = reason
    }

    /// Returns the rings to their just-created state with every tracker free, keeping each
    /// tracker's reuse count. For a queue the controller no longer has (after CC.EN = 0).
    func resetRings() {
        cq.update(repeating: CompletionQueueEntry(), count: depth)
        for index in 0..<trackerCount {
            freeList[index] = UInt16(index)
            trackers[index].release()
        }
        let epochSeen = state.pointee.epoch
        let hostile = state.pointee.hostileCompletions
        let mmioWrites = state.pointee.mmioDoorbellWrites
        state.pointee = RingState(freeTail: UInt32(trackerCount), submitLimit: UInt32(trackerCount), hostileCompletions: hostile,
                                  mmioDoorbellWrites: mmioWrites, epoch: epochSeen)
        for bell in [submissionDoorbell, completionDoorbell] {
            bell.pointee.last = 0
            bell.pointee.syncSlots()
        }
    }

    /// Outstanding commands submitted (or last aborted) before `deadline`, in monotonic nanoseconds.
    func expired(before deadline: UInt64) -> [ExpiredCommand] {
        var result: [ExpiredCommand] = []
        for index in 0..<trackerCount where trackers[index].inUse && trackers[index].submittedAt < deadline {
            let tracker = trackers[index]
            result.append(ExpiredCommand(commandID: tracker.commandID, tag: tracker.tag, aborted: tracker.aborted))
        }
        return result
    }

    /// Marks a command as having had an Abort sent for it at `time`; its deadline restarts from then.
    func markAborted(commandID: UInt16, at time: UInt64) {
        let index = Int(commandID & indexMask)
        guard index < trackerCount, trackers[index].word == UInt32(commandID) else { return }
        trackers[index].aborted = true
        trackers[index].submittedAt = time
    }
}

/// An outstanding command whose deadline has passed.
struct ExpiredCommand {
    var commandID: UInt16
    var tag: UInt64
    var aborted: Bool
}

/// What a queue pair's owner and its tests read outside the hot path: its size, its counters,
/// whether it is closed, and where its rings are for the commands that create them.
extension QueuePair {
    /// Most commands that can be outstanding at once.
    public var capacity: Int { trackerCount }
    /// Commands submitted and not yet completed.
    public var outstanding: Int { isClosed ? 0 : trackerCount - state.pointee.freeCount }
    /// Whether another command can be submitted now.
    @inlinable public var hasFreeSlot: Bool { state.pointee.freeHead != state.pointee.submitLimit }
    /// Doorbell register (MMIO) writes this queue has made, counted by its owner thread: one per
    /// announced batch and one per poll pass that consumed completions, fewer with shadow
    /// doorbells (see `usesShadowDoorbells`). Read it on the owner thread.
    public var mmioDoorbellWrites: Int { state.pointee.mmioDoorbellWrites }
    /// Invalid completions seen (unknown or stale command id, SQ head outside its window).
    public var hostileCompletionCount: Int { state.pointee.hostileCompletions }
    /// Whether no command may be submitted any more (see `closeReason`).
    public var isClosed: Bool { state.pointee.closeReason != nil }
    /// IOVA of the submission ring (for Create I/O Submission Queue / ASQ).
    public var submissionRingIOVA: UInt64 { submissionRing.iova }
    /// IOVA of the completion ring (for Create I/O Completion Queue / ACQ).
    public var completionRingIOVA: UInt64 { completionRing.iova }

    /// Whether the SQ has no free slot by the last SQ head the controller reported (`submitLimit`
    /// already counts this; kept for the no-progress description).
    var sqFull: Bool {
        let next = state.pointee.sqTail &+ 1
        return (next == UInt16(truncatingIfNeeded: depth) ? 0 : next) == state.pointee.sqHead
    }

    /// What the queue looks like to a loop that cannot move, for the no-progress error.
    var stallDescription: String {
        let s = state.pointee
        let reason = isClosed ? "the queue is closed"
            : sqFull ? "the submission queue looks full (SQ head \(s.sqHead), tail \(s.sqTail))"
            : "no completion arrived"
        return "\(reason); \(outstanding) command(s) outstanding, \(s.freeCount) tracker(s) free"
    }
}
