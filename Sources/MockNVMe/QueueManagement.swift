import NVMe

/// Create and Delete I/O Submission and Completion Queue (NVMe Base 2.0, 5.4-5.7).
extension ControllerState {
    /// Create I/O Completion Queue (NVMe Base 2.0, 5.4).
    mutating func createCompletionQueue(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
        let qid = Int(entry.cdw10 & 0xFFFF)
        let entries = Int(entry.cdw10 >> 16) + 1
        let contiguous = entry.cdw11 & 1 == 1
        let interruptsEnabled = entry.cdw11 & 0b10 != 0
        let vector = entry.cdw11 >> 16
        guard qid != 0, qid <= grantedCompletionQueues, completionQueues[qid] == nil else {
            throw CommandFailure(.invalidQueueIdentifier)
        }
        guard entries >= 2, entries <= capabilities.maximumQueueEntries else { throw CommandFailure(.invalidQueueSize) }
        guard contiguous || !capabilities.cqr else { throw CommandFailure(.invalidFieldInCommand) }
        guard cc.iocqes == 4 else { throw CommandFailure(.invalidFieldInCommand) }
        // The controller has `interruptVectors` MSI-X vectors (NVMe Base 2.0, 5.4: Invalid
        // Interrupt Vector for one it does not have).
        guard !interruptsEnabled || Int(vector) < configuration.interruptVectors else { throw CommandFailure(.invalidInterruptVector) }
        let memory = try queueMemory(entry, entrySize: 16, entries: entries, contiguous: contiguous, key: 2 * qid + 1)
        completionQueues[qid] = CompletionQueue(memory: memory, interruptVector: interruptsEnabled ? Int(vector) : -1)
        initializeShadow(completionQueue: qid)
    }

    /// Create I/O Submission Queue (NVMe Base 2.0, 5.5).
    mutating func createSubmissionQueue(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
        let qid = Int(entry.cdw10 & 0xFFFF)
        let entries = Int(entry.cdw10 >> 16) + 1
        let contiguous = entry.cdw11 & 1 == 1
        let cqid = Int(entry.cdw11 >> 16)
        guard qid != 0, qid <= grantedSubmissionQueues, submissionQueues[qid] == nil else {
            throw CommandFailure(.invalidQueueIdentifier)
        }
        guard entries >= 2, entries <= capabilities.maximumQueueEntries else { throw CommandFailure(.invalidQueueSize) }
        guard contiguous || !capabilities.cqr else { throw CommandFailure(.invalidFieldInCommand) }
        guard cc.iosqes == 6 else { throw CommandFailure(.invalidFieldInCommand) }
        guard cqid != 0, cqid < completionQueues.count, completionQueues[cqid] != nil else {
            throw CommandFailure(.completionQueueInvalid)
        }
        let memory = try queueMemory(entry, entrySize: 64, entries: entries, contiguous: contiguous, key: 2 * qid)
        submissionQueues[qid] = SubmissionQueue(completionQueueID: cqid, memory: memory)
        completionQueues[cqid]!.boundSubmissionQueues += 1
        initializeShadow(submissionQueue: qid)
    }

    /// PC=1: PRP1 is the page-aligned base. PC=0: PRP1 points to a PRP list of the queue's pages.
    private mutating func queueMemory(_ entry: SubmissionQueueEntry, entrySize: Int, entries: Int, contiguous: Bool, key: Int) throws(CommandFailure) -> QueueMemory {
        let mask = UInt64(pageSize - 1)
        guard entry.dptr1 & mask == 0 else { throw CommandFailure(.prpOffsetInvalid, at: entry.dptr1, .queueNotPageAligned) }
        if contiguous { return QueueMemory(base: entry.dptr1, entrySize: entrySize, entries: entries) }
        let pageCount = (entries * entrySize + pageSize - 1) / pageSize
        let list: UnsafeMutableRawPointer
        do {
            list = try iommu.translate(iova: entry.dptr1, length: pageCount * 8, access: .deviceReads)
        } catch {
            throw CommandFailure(.dataTransferError)
        }
        var pages: [UInt64] = []
        for index in 0..<pageCount {
            let page = UInt64(littleEndian: list.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
            guard page & mask == 0 else { throw CommandFailure(.prpOffsetInvalid, at: page, .queueNotPageAligned) }
            pages.append(page)
        }
        queuePages[key] = pages
        return QueueMemory(base: entry.dptr1, paged: true, entrySize: entrySize, entries: entries)
    }

    mutating func deleteSubmissionQueue(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
        let qid = Int(entry.cdw10 & 0xFFFF)
        guard qid != 0, qid < submissionQueues.count, let queue = submissionQueues[qid] else {
            throw CommandFailure(.invalidQueueIdentifier)
        }
        abortOutstanding(onSubmissionQueue: qid)
        submissionQueues[qid] = nil
        queuePages[2 * qid] = nil
        completionQueues[queue.completionQueueID]?.boundSubmissionQueues -= 1
    }

    mutating func deleteCompletionQueue(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
        let qid = Int(entry.cdw10 & 0xFFFF)
        guard qid != 0, qid < completionQueues.count, let queue = completionQueues[qid] else {
            throw CommandFailure(.invalidQueueIdentifier)
        }
        guard queue.boundSubmissionQueues == 0 else { throw CommandFailure(.invalidQueueDeletion) }
        completionQueues[qid] = nil
        parkedCompletions[qid].removeAll()
        queuePages[2 * qid + 1] = nil
    }
}
