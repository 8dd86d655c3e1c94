import NVMe
import PCIDevice

/// The admin command set (NVMe Base 2.0, chapter 5) as far as a driver needs it.
extension ControllerState {
    mutating func executeAdmin(_ entry: SubmissionQueueEntry) -> Disposition {
        do throws(CommandFailure) {
            switch AdminOpcode(rawValue: entry.opcode) {
            case .identify?: try identify(entry)
            case .getFeatures?: return .done(.success, try getFeatures(entry))
            case .setFeatures?: return .done(.success, try setFeatures(entry))
            case .createIOCompletionQueue?: try createCompletionQueue(entry)
            case .createIOSubmissionQueue?: try createSubmissionQueue(entry)
            case .deleteIOSubmissionQueue?: try deleteSubmissionQueue(entry)
            case .deleteIOCompletionQueue?: try deleteCompletionQueue(entry)
            case .getLogPage?: try getLogPage(entry)
            case .abort?: return abort(entry)
            case .asynchronousEventRequest?: return asynchronousEventRequest(entry)
            default: throw CommandFailure(.invalidCommandOpcode)
            }
            return .done(.success, 0)
        } catch {
            return .done(error.status, 0)
        }
    }

    /// Copies `bytes` to the host buffer of `entry` (PRPs), `length` bytes, zero-padding past the data.
    mutating func sendToHost(_ entry: SubmissionQueueEntry, _ bytes: UnsafeRawBufferPointer, length: Int) throws(CommandFailure) {
        if let limit = maximumTransferBytes, length > limit { throw CommandFailure(.invalidFieldInCommand) }
        try walker.map(entry, length: length, access: .deviceWrites, sglAllowed: false)
        var cursor = SegmentCursor()
        let available = min(length, bytes.count)
        if available > 0 { cursor.write(walker.segments, from: bytes.baseAddress, count: available) }
        if length > available { cursor.write(walker.segments, from: nil, count: length - available) }
    }

    /// `sendToHost` for a page built in an array, from byte `offset` of it.
    mutating func sendToHost(_ entry: SubmissionQueueEntry, _ page: [UInt8], from offset: Int, length: Int) throws(CommandFailure) {
        let result = page.withUnsafeBytes { bytes in
            Result { () throws(CommandFailure) in
                try sendToHost(entry, UnsafeRawBufferPointer(rebasing: bytes[offset...]), length: length)
            }
        }
        try result.get()
    }

    // MARK: Identify

    private mutating func identify(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
        var page = [UInt8](repeating: 0, count: 4096)
        switch IdentifyCNS(rawValue: UInt8(truncatingIfNeeded: entry.cdw10)) {
        case .controller?:
            page.withUnsafeMutableBytes { identifyController.encode(into: $0) }
        case .namespace?:
            let index = Int(entry.nsid) - 1
            guard entry.nsid != 0, index < configuration.namespaces.count else { throw CommandFailure(.invalidNamespaceOrFormat) }
            let data = IdentifyData.namespace(configuration.namespaces[index])
            page.withUnsafeMutableBytes { data.encode(into: $0) }
        case .activeNamespaceList?:
            // Active NSIDs greater than the one given, ascending; FFFFFFFEh and above are invalid.
            guard entry.nsid < 0xFFFF_FFFE else { throw CommandFailure(.invalidNamespaceOrFormat) }
            var position = 0
            for nsid in 1...UInt32(configuration.namespaces.count) where nsid > entry.nsid && position < 1024 {
                page.withUnsafeMutableBytes { $0.storeBytes(of: nsid.littleEndian, toByteOffset: position * 4, as: UInt32.self) }
                position += 1
            }
        default:
            throw CommandFailure(.invalidFieldInCommand)
        }
        try sendToHost(entry, page, from: 0, length: 4096)
    }

    // MARK: Features

    private mutating func getFeatures(_ entry: SubmissionQueueEntry) throws(CommandFailure) -> UInt32 {
        let select = (entry.cdw10 >> 8) & 0b111
        let defaults = select == 1 || select == 2  // no saveable features: saved = default
        switch FeatureID(rawValue: UInt8(truncatingIfNeeded: entry.cdw10)) {
        case .numberOfQueues?:
            if select == 3 { return 0 }
            let sq = defaults ? configuration.ioQueueCount : grantedSubmissionQueues
            let cq = defaults ? configuration.ioQueueCount : grantedCompletionQueues
            return UInt32(sq - 1) | UInt32(cq - 1) << 16
        case .volatileWriteCache?:
            guard configuration.volatileWriteCache else { throw CommandFailure(.invalidFieldInCommand) }
            if select == 3 { return 0b100 }  // changeable
            return (defaults ? true : writeCacheEnabled) ? 1 : 0
        case .arbitration?:
            if select == 3 { return 0b100 }
            return defaults ? 0 : arbitration
        default:
            throw CommandFailure(.invalidFieldInCommand)
        }
    }

    private mutating func setFeatures(_ entry: SubmissionQueueEntry) throws(CommandFailure) -> UInt32 {
        if entry.cdw10 & (1 << 31) != 0 { throw CommandFailure(.featureIdentifierNotSaveable) }
        switch FeatureID(rawValue: UInt8(truncatingIfNeeded: entry.cdw10)) {
        case .numberOfQueues?:
            let askedSQ = Int(entry.cdw11 & 0xFFFF) + 1
            let askedCQ = Int(entry.cdw11 >> 16) + 1
            guard askedSQ <= 0xFFFF, askedCQ <= 0xFFFF else { throw CommandFailure(.invalidFieldInCommand) }
            // Only before any I/O queue exists (NVMe Base 2.0, 5.27.1.5).
            let ioQueuesExist = submissionQueues.dropFirst().contains { $0 != nil } || completionQueues.dropFirst().contains { $0 != nil }
            guard !ioQueuesExist else { throw CommandFailure(.commandSequenceError) }
            grantedSubmissionQueues = min(askedSQ, configuration.ioQueueCount)
            grantedCompletionQueues = min(askedCQ, configuration.ioQueueCount)
            return UInt32(grantedSubmissionQueues - 1) | UInt32(grantedCompletionQueues - 1) << 16
        case .volatileWriteCache?:
            guard configuration.volatileWriteCache else { throw CommandFailure(.invalidFieldInCommand) }
            let enable = entry.cdw11 & 1 == 1
            if writeCacheEnabled && !enable {
                // Turning the cache off must not lose what it holds.
                for index in namespaces.indices { try namespaces[index].persistCache() }
            }
            writeCacheEnabled = enable
            return 0
        case .arbitration?:
            arbitration = entry.cdw11
            return 0
        default:
            throw CommandFailure(.invalidFieldInCommand)
        }
    }

    // MARK: Queue management

    /// Create I/O Completion Queue (NVMe Base 2.0, 5.4).
    private mutating func createCompletionQueue(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
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
        // One interrupt vector (0) exists; the mock raises no interrupts, drivers poll.
        guard !interruptsEnabled || vector == 0 else { throw CommandFailure(.invalidInterruptVector) }
        let memory = try queueMemory(entry, entrySize: 16, entries: entries, contiguous: contiguous, key: 2 * qid + 1)
        completionQueues[qid] = CompletionQueue(memory: memory)
    }

    /// Create I/O Submission Queue (NVMe Base 2.0, 5.5).
    private mutating func createSubmissionQueue(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
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
    }

    /// PC=1: PRP1 is the page-aligned base. PC=0: PRP1 points to a PRP list of the queue's pages.
    private mutating func queueMemory(_ entry: SubmissionQueueEntry, entrySize: Int, entries: Int, contiguous: Bool, key: Int) throws(CommandFailure) -> QueueMemory {
        let mask = UInt64(pageSize - 1)
        guard entry.dptr1 & mask == 0 else { throw CommandFailure(.prpOffsetInvalid) }
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
            guard page & mask == 0 else { throw CommandFailure(.prpOffsetInvalid) }
            pages.append(page)
        }
        queuePages[key] = pages
        return QueueMemory(base: entry.dptr1, paged: true, entrySize: entrySize, entries: entries)
    }

    private mutating func deleteSubmissionQueue(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
        let qid = Int(entry.cdw10 & 0xFFFF)
        guard qid != 0, qid < submissionQueues.count, let queue = submissionQueues[qid] else {
            throw CommandFailure(.invalidQueueIdentifier)
        }
        abortOutstanding(onSubmissionQueue: qid)
        submissionQueues[qid] = nil
        queuePages[2 * qid] = nil
        completionQueues[queue.completionQueueID]?.boundSubmissionQueues -= 1
    }

    private mutating func deleteCompletionQueue(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
        let qid = Int(entry.cdw10 & 0xFFFF)
        guard qid != 0, qid < completionQueues.count, let queue = completionQueues[qid] else {
            throw CommandFailure(.invalidQueueIdentifier)
        }
        guard queue.boundSubmissionQueues == 0 else { throw CommandFailure(.invalidQueueDeletion) }
        completionQueues[qid] = nil
        parkedCompletions[qid].removeAll()
        queuePages[2 * qid + 1] = nil
    }

    // MARK: Log pages

    private mutating func getLogPage(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
        let dwords = Int((entry.cdw11 & 0xFFFF) << 16 | entry.cdw10 >> 16) + 1
        let offset = UInt64(entry.cdw13) << 32 | UInt64(entry.cdw12)
        guard offset % 4 == 0 else { throw CommandFailure(.invalidFieldInCommand) }
        let page: [UInt8]
        switch LogPageID(rawValue: UInt8(truncatingIfNeeded: entry.cdw10)) {
        case .errorInformation?:
            page = errorLog.encoded()
        case .smartHealth?:
            // Controller-wide only (LPA bit 0 clear): NSID must be 0 or FFFFFFFFh.
            guard entry.nsid == 0 || entry.nsid == 0xFFFF_FFFF else { throw CommandFailure(.invalidFieldInCommand) }
            page = health.encoded()
        default:
            throw CommandFailure(.invalidLogPage)
        }
        guard offset < UInt64(page.count) else { throw CommandFailure(.invalidFieldInCommand) }
        try sendToHost(entry, page, from: Int(offset), length: dwords * 4)
    }
}
