import DMAMapper
import NVMe
import PCIDevice
import Synchronization

/// Where a queue's entries live in host memory: one contiguous range (PC=1) or a list of
/// pages (PC=0, read once from the PRP list at creation and kept in `ControllerState.queuePages`).
/// The host pointer of a contiguous ring is translated once per locked operation (`epoch`),
/// like an IOTLB hit.
///
/// This and the queue structs are plain values with no references, so the per-command path
/// copies bytes and never retains, releases or calls value witnesses.
struct QueueMemory {
    let base: UInt64
    let paged: Bool
    let entrySize: Int
    let entries: Int
    var cachedHost: UnsafeMutableRawPointer?
    var cachedEpoch: UInt64 = .max

    init(base: UInt64, paged: Bool = false, entrySize: Int, entries: Int) {
        self.base = base
        self.paged = paged
        self.entrySize = entrySize
        self.entries = entries
    }

    /// Host address of entry `index` of a contiguous queue, or nil after the IOMMU refused.
    mutating func contiguousSlot(_ index: Int, epoch: UInt64, iommu: SoftwareIOMMU, access: DMAAccess) -> UnsafeMutableRawPointer? {
        if cachedEpoch != epoch || cachedHost == nil {
            cachedHost = translateRing(iommu: iommu, access: access)
            cachedEpoch = epoch
        }
        return cachedHost.map { $0 + index * entrySize }
    }

    /// The bytes of a contiguous queue's whole ring.
    var ringBytes: Int { entries * entrySize }

    /// The host address of a contiguous queue's whole ring, or nil after the IOMMU refused.
    func translateRing(iommu: SoftwareIOMMU, access: DMAAccess) -> UnsafeMutableRawPointer? {
        try? iommu.translate(iova: base, length: ringBytes, access: access)
    }

    /// Host address of entry `index` of a queue made of `pages`.
    func pagedSlot(_ index: Int, pages: [UInt64], pageSize: Int, iommu: SoftwareIOMMU, access: DMAAccess) -> UnsafeMutableRawPointer? {
        let byteOffset = index * entrySize
        let page = pages[byteOffset / pageSize]
        return try? iommu.translate(iova: page + UInt64(byteOffset % pageSize), length: entrySize, access: access)
    }
}

struct SubmissionQueue {
    let completionQueueID: Int
    var memory: QueueMemory
    var head = 0
    var tail = 0
    var size: Int { memory.entries }

    /// Takes the entry at the head.
    @inline(__always)
    mutating func advanceHead() {
        let next = head + 1
        head = next == memory.entries ? 0 : next
    }
}

struct CompletionQueue {
    var memory: QueueMemory
    var head = 0
    var tail = 0
    var phase = true
    /// Submission queues bound to this queue (deletion is refused while any remain).
    var boundSubmissionQueues = 0
    /// Completions waiting in `ControllerState.parkedCompletions` for the host to free slots.
    var parked = 0
    /// The MSI-X vector a posted completion raises (IEN set at creation), or -1 (IEN clear).
    var interruptVector = -1
    var size: Int { memory.entries }
    /// Entries the host has not consumed yet.
    var used: Int { (tail - head + size) % size }
    /// Free slots: a queue is full when one slot is left (tail + 1 == head).
    var free: Int { size - 1 - used }

    /// Whether the host may set the head to `newHead` (a doorbell or shadow value): inside the
    /// queue, and moving only over entries the controller has posted.
    @inline(__always)
    func acceptsHead(_ newHead: Int) -> Bool {
        newHead < size && (newHead - head + size) % size <= used
    }

    /// Stores one 16-byte entry at `slot`. Dwords 0-2 are plain stores; Dword 3 (command id,
    /// status, phase) is a releasing atomic store, so a host that loads it acquiring (see
    /// `DMAOrdering`) sees the whole entry, and the thread sanitizer agrees.
    @inline(__always)
    static func store(at slot: UnsafeMutableRawPointer, dw0: UInt32, sqHead: UInt16, sqid: UInt16,
                      commandID: UInt16, status: CompletionStatus, phase: Bool) {
        slot.storeBytes(of: dw0.littleEndian, toByteOffset: 0, as: UInt32.self)
        slot.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        slot.storeBytes(of: (UInt32(sqHead) | UInt32(sqid) << 16).littleEndian, toByteOffset: 8, as: UInt32.self)
        let statusAndPhase = UInt32(status.rawValue) << 1 | (phase ? 1 : 0)
        DMAOrdering.storeReleasing(UInt32(commandID) | statusAndPhase << 16, at: slot + 12)
    }

    /// Moves the tail past the entry just stored, turning the phase at the end of the ring.
    @inline(__always)
    mutating func advanceTail() {
        if tail + 1 == memory.entries {
            tail = 0
            phase.toggle()
        } else {
            tail += 1
        }
    }
}

extension ControllerState {
    // MARK: Ring memory

    /// Host address of entry `index` of submission queue `qid` (which exists).
    @inline(__always)
    mutating func submissionSlot(_ qid: Int, _ index: Int) -> UnsafeMutableRawPointer? {
        if submissionQueues[qid]!.memory.paged {
            return submissionQueues[qid]!.memory.pagedSlot(index, pages: queuePages[2 * qid] ?? [], pageSize: pageSize, iommu: iommu, access: .deviceReads)
        }
        return submissionQueues[qid]!.memory.contiguousSlot(index, epoch: epoch, iommu: iommu, access: .deviceReads)
    }

    /// Host address of entry `index` of completion queue `cqid` (which exists).
    @inline(__always)
    mutating func completionSlot(_ cqid: Int, _ index: Int) -> UnsafeMutableRawPointer? {
        if completionQueues[cqid]!.memory.paged {
            return completionQueues[cqid]!.memory.pagedSlot(index, pages: queuePages[2 * cqid + 1] ?? [], pageSize: pageSize, iommu: iommu, access: .deviceWrites)
        }
        return completionQueues[cqid]!.memory.contiguousSlot(index, epoch: epoch, iommu: iommu, access: .deviceWrites)
    }

    // MARK: Fetching

    /// Runs the commands between head and tail of submission queue `qid`. In inline mode it
    /// stops while the completion queue is full and resumes when the host frees slots.
    /// With shadow doorbells (I/O queues), it reads the shadow tail and head first and, before
    /// it rests, publishes EventIdx values and looks again (see `ShadowDoorbells.swift`).
    mutating func processSubmissions(_ qid: Int) {
        guard qid != 0, doorbellBuffers != nil else { return runSubmissions(qid) }
        repeat {
            readShadowTail(qid)
            if let cqid = submissionQueues[qid]?.completionQueueID { readShadowHead(cqid) }
            runSubmissions(qid)
        } while isOperational && doorbellBuffers != nil && publishEventIndexes(qid)
    }

    private mutating func runSubmissions(_ qid: Int) {
        // Queue state is read and written in place (no struct copies): this loop is the inline
        // null device's whole per-command cost.
        while isOperational {
            guard let head = submissionQueues[qid]?.head, head != submissionQueues[qid]!.tail else { return }
            if inline {
                let cqid = submissionQueues[qid]!.completionQueueID
                guard let free = completionQueues[cqid]?.free, free > 0, completionQueues[cqid]!.parked == 0 else { return }
            }
            guard let entry = fetch(qid) else { return }
            dispatch(entry, sqid: qid)
        }
    }

    /// Reads the entry at the head of `qid` and advances the head.
    @inline(__always)
    mutating func fetch(_ qid: Int) -> SubmissionQueueEntry? {
        guard let head = submissionQueues[qid]?.head else { return nil }
        guard let slot = submissionSlot(qid, head) else {
            fail(HostMemoryFault.submissionRing.reason(queue: qid))
            return nil
        }
        let entry = slot.loadUnaligned(as: SubmissionQueueEntry.self)
        submissionQueues[qid]!.advanceHead()
        return entry
    }

    /// Runs every submission queue that has entries (threaded engine, freed completion slots).
    mutating func processAllSubmissions() {
        for qid in submissionQueues.indices where submissionQueues[qid] != nil {
            processSubmissions(qid)
        }
    }

    // MARK: Completing

    /// Hands a finished command to its completion queue: at once inline, after the latency threaded.
    /// `lba` and `nsid` locate a failure in its Error Information log entry (0: not applicable).
    @inline(__always)
    mutating func finish(_ completion: PendingCompletion, lba: UInt64 = 0, nsid: UInt32 = 0) {
        if !completion.status.isSuccess { errorLog.record(completion, lba: lba, nsid: nsid, health: &health) }
        if inline { return post(completion) }
        if case .threaded(let latency, let outOfOrder) = configuration.executionMode {
            let delay = outOfOrder ? latency * (0.5 + scheduleRandom.nextDouble()) : latency
            scheduled.append(ScheduledCompletion(due: .now + delay, completion: completion))
        }
    }

    /// Writes a completion into the CQ of its submission queue, or parks it while the CQ is full.
    @inline(__always)
    mutating func post(_ completion: PendingCompletion) {
        let cqid = completion.sqid == 0 ? 0 : (submissionQueues[Int(completion.sqid)]?.completionQueueID ?? -1)
        guard cqid >= 0, let free = completionQueues[cqid]?.free, !removed else { return }
        let needed = completion.hostile == nil ? 1 : 2
        if free < needed || completionQueues[cqid]!.parked != 0 {
            parkedCompletions[cqid].append(completion)
            completionQueues[cqid]!.parked += 1
            return
        }
        write(completion, to: cqid)
    }

    /// Posts parked completions while there is room.
    mutating func drainOverflow(_ cqid: Int) {
        while let cq = completionQueues[cqid], cq.parked > 0, let first = parkedCompletions[cqid].first,
              cq.free >= 2 || (cq.free >= 1 && first.hostile == nil) {
            parkedCompletions[cqid].removeFirst()
            completionQueues[cqid]!.parked -= 1
            write(first, to: cqid)
        }
    }

    @inline(__always)
    private mutating func write(_ completion: PendingCompletion, to cqid: Int) {
        if completion.isAbort { outstandingAborts -= 1 }
        let sqid = Int(completion.sqid)
        var sqHead = UInt16(truncatingIfNeeded: submissionQueues[sqid]?.head ?? 0)
        // The common case first, without comparing optional enums.
        guard let hostile = completion.hostile else {
            return writeEntry(completion, sqHead: sqHead, cqid: cqid, invertPhase: false)
        }
        switch hostile {
        case .unknownCommandID(let bogus):
            var extra = completion
            extra.commandID = bogus
            extra.status = .success
            writeEntry(extra, sqHead: sqHead, cqid: cqid, invertPhase: false)
        case .sqHeadOutOfRange:
            sqHead = UInt16(truncatingIfNeeded: (submissionQueues[sqid]?.size ?? 0) + 7)
        default:
            break
        }
        writeEntry(completion, sqHead: sqHead, cqid: cqid, invertPhase: hostile == .wrongPhase)
        if hostile == .duplicate {
            writeEntry(completion, sqHead: sqHead, cqid: cqid, invertPhase: false)
        }
    }

    @inline(__always)
    private mutating func writeEntry(_ completion: PendingCompletion, sqHead: UInt16, cqid: Int, invertPhase: Bool) {
        guard let tail = completionQueues[cqid]?.tail else { return }
        guard let slot = completionSlot(cqid, tail) else {
            fail(HostMemoryFault.completionRing.reason(queue: cqid))
            return
        }
        CompletionQueue.store(at: slot, dw0: completion.dw0, sqHead: sqHead, sqid: completion.sqid,
                              commandID: completion.commandID, status: completion.status,
                              phase: completionQueues[cqid]!.phase != invertPhase)
        completionQueues[cqid]!.advanceTail()
        let vector = completionQueues[cqid]!.interruptVector
        if _slowPath(vector >= 0) { raiseInterrupt(vector) }
    }
}
