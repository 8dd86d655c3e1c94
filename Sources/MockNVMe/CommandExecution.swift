import NVMe

/// From a fetched entry to its completion: fault injection, fused pairs, admin or NVM
/// execution, and commands that complete later (held, aborted, scheduled).
extension ControllerState {
    mutating func dispatch(_ entry: SubmissionQueueEntry, sqid: Int) {
        var hostile: HostileCompletion?
        if !faultRules.isEmpty, let action = triggeredFault(for: entry, sqid: sqid) {
            switch action {
            case .fail(let status):
                return complete(entry, sqid: sqid, .done(status, 0))
            case .neverComplete:
                held.append(PendingCompletion(sqid: UInt16(sqid), commandID: entry.commandID, status: .success))
                return
            case .hostile(let kind):
                hostile = kind
            }
        }
        let disposition: Disposition
        if sqid == 0 {
            // Admin commands over PCIe use PRPs only and are never fused.
            if entry.psdt != .prp || entry.fuse != .normal {
                disposition = .done(CompletionStatus(.invalidFieldInCommand, doNotRetry: true), 0)
            } else {
                disposition = executeAdmin(entry)
            }
        } else {
            switch entry.fuse {
            case .normal: disposition = executeIO(entry, sqid: sqid)
            case .first: return executeFused(entry, sqid: sqid)
            case .second: disposition = .done(CompletionStatus(.abortedMissingFused), 0)
            }
        }
        complete(entry, sqid: sqid, disposition, hostile: hostile)
    }

    mutating func complete(_ entry: SubmissionQueueEntry, sqid: Int, _ disposition: Disposition, hostile: HostileCompletion? = nil) {
        guard case .done(let status, let dw0) = disposition else { return }
        let completion = PendingCompletion(sqid: UInt16(sqid), commandID: entry.commandID, status: status, dw0: dw0, hostile: hostile)
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

    /// Abort (NVMe Base 2.0, 5.1): a command still held or not yet posted completes with
    /// Command Abort Requested; Dword 0 bit 0 of the Abort completion says 1 = not aborted.
    mutating func abort(_ entry: SubmissionQueueEntry) -> Disposition {
        let sqid = UInt16(truncatingIfNeeded: entry.cdw10)
        let commandID = UInt16(truncatingIfNeeded: entry.cdw10 >> 16)
        var victim: PendingCompletion?
        if let index = held.firstIndex(where: { $0.sqid == sqid && $0.commandID == commandID }) {
            victim = held.remove(at: index)
        } else if let index = scheduled.firstIndex(where: { $0.completion.sqid == sqid && $0.completion.commandID == commandID }) {
            victim = scheduled.remove(at: index).completion
        }
        guard var aborted = victim else { return .done(.success, 1) }
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
        if engineWork {
            engineWork = false
            for cqid in completionQueues.indices where completionQueues[cqid] != nil { drainOverflow(cqid) }
            processAllSubmissions()
        }
        guard isOperational || !scheduled.isEmpty else { return nil }
        var due: [PendingCompletion] = []
        var next: ContinuousClock.Instant?
        scheduled.removeAll { item in
            if item.due <= now {
                due.append(item.completion)
                return true
            }
            next = next.map { min($0, item.due) } ?? item.due
            return false
        }
        if outOfOrder { due.shuffle(using: &scheduleRandom) }
        if !removed {
            for completion in due { post(completion) }
        }
        return next
    }
}
