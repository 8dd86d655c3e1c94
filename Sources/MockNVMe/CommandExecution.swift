import NVMe

/// From a fetched entry to its completion: fault injection, fused pairs, admin or NVM
/// execution, and commands that complete later (held, aborted, scheduled).
extension ControllerState {
    mutating func dispatch(_ entry: SubmissionQueueEntry, sqid: Int) {
        var hostile: HostileCompletion?
        var corruptRead = false
        if !faultRules.isEmpty, let action = triggeredFault(for: entry, sqid: sqid) {
            switch action {
            case .fail(let status):
                return complete(entry, sqid: sqid, .done(status, 0))
            case .neverComplete:
                held.append(PendingCompletion(sqid: UInt16(sqid), commandID: entry.commandID, status: .success))
                return
            case .hostile(let kind):
                hostile = kind
            case .corruptReadData:
                corruptRead = true
            }
        }
        // nil is the reserved FUSE 11b (`fuse` would read it as normal).
        let fuse = entry.declaredFuse
        let disposition: Disposition
        if sqid == 0 {
            // Admin commands over PCIe use PRPs only and are never fused.
            if entry.declaredDataPointer != .prp || fuse != .normal {
                disposition = .done(CompletionStatus(.invalidFieldInCommand, doNotRetry: true), 0)
            } else {
                disposition = executeAdmin(entry)
            }
        } else {
            switch fuse {
            case .normal?:
                disposition = executeIO(entry, sqid: sqid)
                if corruptRead, case .done(let status, _) = disposition, status.isSuccess { corruptDeliveredData(entry) }
            case .first?: return executeFused(entry, sqid: sqid)
            case .second?: disposition = .done(CompletionStatus(.abortedMissingFused), 0)
            case nil: disposition = .done(CompletionStatus(.invalidFieldInCommand, doNotRetry: true), 0)
            }
        }
        complete(entry, sqid: sqid, disposition, hostile: hostile)
        // A Get Log Page may have unmasked event types: waiting events go to outstanding
        // Asynchronous Event Requests after its own completion. Every other change to events,
        // masks or requests reports at once, so after any other admin command this finds nothing
        // (an empty request list, or no waiting event of an unmasked type) and posts nothing.
        if sqid == 0 { deliverAsyncEvents() }
    }

    mutating func complete(_ entry: SubmissionQueueEntry, sqid: Int, _ disposition: Disposition, hostile: HostileCompletion? = nil) {
        guard case .done(let status, let dw0) = disposition else { return }
        var completion = PendingCompletion(sqid: UInt16(sqid), commandID: entry.commandID, status: status, dw0: dw0, hostile: hostile)
        if sqid == 0, entry.opcode == AdminOpcode.abort.rawValue, status.isSuccess {
            completion.isAbort = true
            outstandingAborts += 1
        }
        guard !status.isSuccess, sqid != 0 else { return finish(completion) }
        // A failed I/O command names its namespace and, when it addresses blocks, its first LBA
        // in the Error Information log; worked out only on failure, off the success path.
        finish(completion, lba: Self.lbaAddressed(entry) ?? 0, nsid: entry.nsid)
    }

    /// Fused Compare and Write (NVM Command Set 1.0, 3.2.x): the second command must be the next
    /// entry of the same queue. Both run under the controller lock, so the pair is atomic.
    private mutating func executeFused(_ first: SubmissionQueueEntry, sqid: Int) {
        guard configuration.compareAndWrite, first.opcode == NVMOpcode.compare.rawValue else {
            return complete(first, sqid: sqid, .done(CompletionStatus(.invalidFieldInCommand, doNotRetry: true), 0))
        }
        guard let queue = submissionQueues[sqid], queue.head != queue.tail,
              let next = peek(sqid), next.fuse == .second else {
            return complete(first, sqid: sqid, .done(CompletionStatus(.abortedMissingFused), 0))
        }
        guard let second = fetch(sqid) else { return }
        guard second.opcode == NVMOpcode.write.rawValue, second.nsid == first.nsid,
              second.startingLBA == first.startingLBA, second.nlb == first.nlb else {
            complete(first, sqid: sqid, .done(CompletionStatus(.invalidFieldInCommand, doNotRetry: true), 0))
            return complete(second, sqid: sqid, .done(CompletionStatus(.abortedFailedFused), 0))
        }
        let compared = executeIO(first, sqid: sqid)
        guard case .done(let status, _) = compared, status.isSuccess else {
            complete(first, sqid: sqid, compared)
            return complete(second, sqid: sqid, .done(CompletionStatus(.abortedFailedFused), 0))
        }
        complete(first, sqid: sqid, compared)
        complete(second, sqid: sqid, executeIO(second, sqid: sqid))
    }

    /// The entry at the head of `sqid` without consuming it.
    private mutating func peek(_ sqid: Int) -> SubmissionQueueEntry? {
        guard let head = submissionQueues[sqid]?.head, let slot = submissionSlot(sqid, head) else { return nil }
        return slot.loadUnaligned(as: SubmissionQueueEntry.self)
    }

    /// Abort (NVMe Base 2.0, 5.1): a command still held (fetched, not executed) completes with
    /// Command Abort Requested and the Abort reports Dword 0 bit 0 = 0. A command that has
    /// executed but whose completion is not posted yet (threaded latency) cannot be undone: it
    /// completes as it ran and the Abort reports bit 0 = 1 (not aborted), as for an unknown
    /// command. More than ACL + 1 Aborts outstanding: Abort Command Limit Exceeded.
    mutating func abort(_ entry: SubmissionQueueEntry) -> Disposition {
        guard outstandingAborts < Int(configuration.acl) + 1 else {
            return .done(CompletionStatus(.abortCommandLimitExceeded), 0)
        }
        let sqid = UInt16(truncatingIfNeeded: entry.cdw10)
        let commandID = UInt16(truncatingIfNeeded: entry.cdw10 >> 16)
        guard let index = held.firstIndex(where: { $0.sqid == sqid && $0.commandID == commandID }) else {
            return .done(.success, 1)
        }
        var aborted = held.remove(at: index)
        aborted.status = CompletionStatus(.abortRequested)
        aborted.dw0 = 0
        finish(aborted)
        return .done(.success, 0)
    }

    /// Completes every command of `sqid` not yet posted with Command Aborted due to SQ Deletion
    /// (posted at once: the queue is about to disappear).
    mutating func abortOutstanding(onSubmissionQueue sqid: Int) {
        let id = UInt16(sqid)
        var victims = held.filter { $0.sqid == id }
        held.removeAll { $0.sqid == id }
        victims += scheduled.filter { $0.completion.sqid == id }.map(\.completion)
        scheduled.removeAll { $0.completion.sqid == id }
        for var victim in victims {
            victim.status = CompletionStatus(.abortedSQDeletion)
            victim.dw0 = 0
            post(victim)
        }
    }

    // MARK: Threaded engine step

    /// One pass of the device thread: run what the doorbells announced, then post what is due.
    /// Returns when the next completion falls due, or nil when nothing is scheduled.
    mutating func engineStep(now: ContinuousClock.Instant, outOfOrder: Bool) -> ContinuousClock.Instant? {
        epoch &+= 1
        // Shadow doorbells: the device reads the shadows at every pass, whether rung or not.
        let shadowed = doorbellBuffers != nil
        if engineWork || shadowed {
            engineWork = false
            for cqid in completionQueues.indices where completionQueues[cqid] != nil { drainOverflow(cqid) }
            processAllSubmissions()
        }
        guard isOperational || !scheduled.isEmpty else { return nil }
        var due: [PendingCompletion] = []
        scheduled.removeAll { item in
            guard item.due <= now else { return false }
            due.append(item.completion)
            return true
        }
        if outOfOrder { due.shuffle(using: &scheduleRandom) }
        if !removed {
            for completion in due { post(completion) }
        }
        // The completion queue tails moved, and with nothing left to post the device is about to
        // rest: EventIdx values are published again (and the shadows read once more).
        if shadowed && !due.isEmpty && isOperational { processAllSubmissions() }
        var next: ContinuousClock.Instant?
        for item in scheduled { next = next.map { min($0, item.due) } ?? item.due }
        return next
    }
}
