import DMAMapper
import HexFormat
import NVMe
import PCIDevice
import Synchronization

/// The host buffers of Doorbell Buffer Config (NVMe Base 2.0, 5.10): a shadow copy of every
/// doorbell and an EventIdx per doorbell, both laid out as the doorbell registers are (the
/// doorbell of index i - SQ y tail at 2y, CQ y head at 2y + 1 - at byte i x (4 << CAP.DSTRD)).
struct DoorbellBuffers {
    let shadow: UInt64
    let eventIndex: UInt64
}

/// Shadow doorbells, as an emulated controller offers them so that a host can skip most MMIO
/// doorbell writes (each is a VM exit on a hypervisor).
///
/// The rules this controller follows, and the host's side they rely on:
/// - Only I/O queues use the buffers; the admin queue keeps its MMIO doorbells (as QEMU does, and
///   as Linux's host side assumes).
/// - The host writes the new value to the shadow slot, then (after a full fence) reads the
///   EventIdx slot and writes the MMIO doorbell only when the new value passed it: Linux's and
///   QEMU's `nvme_dbbuf_need_event`, `UInt16(new - event - 1) < UInt16(new - old)`.
/// - The controller reads the shadow slots when it processes a queue (which an MMIO doorbell
///   write starts), and before it rests it publishes EventIdx values and then reads the shadows
///   once more (the mirror image of the host's fence), so a value written just then is not lost.
/// - Submission queue EventIdx: the tail it has read, when nothing else will wake it (so the
///   host's next tail passes it and rings); one behind that while the threaded device still has
///   completions to post (it wakes anyway and reads the shadows, so the host need not ring).
/// - Completion queue EventIdx: the head it knows while it waits for room in a full queue (any
///   move of the head rings); otherwise its own tail, which the host's head cannot pass, as the
///   controller has no use for the head while the queue has room.
/// - Shadow values are checked as MMIO values are (a tail inside the queue, a head over posted
///   entries only); an invalid one is ignored. A buffer the IOMMU refuses is a controller fatal
///   status, like a ring it cannot read.
/// - A controller reset (CC.EN 1 -> 0) forgets the buffers; the host configures them again.
extension ControllerState {
    /// Doorbell Buffer Config (admin 7Ch): PRP1 the shadow doorbell buffer, PRP2 the EventIdx
    /// buffer, each memory page aligned (else Invalid Field in Command). Queues that exist take
    /// their current values into both buffers, as queues created later do at creation.
    mutating func configureDoorbellBuffers(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
        guard identifyController.supportsDoorbellBufferConfig else { throw CommandFailure(.invalidCommandOpcode) }
        let mask = UInt64(pageSize - 1)
        guard entry.dptr1 & mask == 0, entry.dptr2 & mask == 0 else { throw CommandFailure(.invalidFieldInCommand) }
        let span = 2 * (grantedSubmissionQueues + 1) * strideBytes
        do {
            _ = try iommu.translate(iova: entry.dptr1, length: span, access: .readWrite)
            _ = try iommu.translate(iova: entry.dptr2, length: span, access: .readWrite)
        } catch {
            throw CommandFailure(.dataTransferError)
        }
        doorbellBuffers = DoorbellBuffers(shadow: entry.dptr1, eventIndex: entry.dptr2)
        for qid in 1..<submissionQueues.count where submissionQueues[qid] != nil { initializeShadow(submissionQueue: qid) }
        for qid in 1..<completionQueues.count where completionQueues[qid] != nil { initializeShadow(completionQueue: qid) }
    }

    /// A new or newly shadowed submission queue: its shadow tail and EventIdx start at its tail.
    mutating func initializeShadow(submissionQueue qid: Int) {
        guard doorbellBuffers != nil, let tail = submissionQueues[qid]?.tail else { return }
        storeShadow(UInt32(tail), doorbell: 2 * qid)
        storeEventIndex(UInt32(tail), doorbell: 2 * qid)
    }

    /// A new or newly shadowed completion queue: its shadow head and EventIdx start at its head.
    mutating func initializeShadow(completionQueue qid: Int) {
        guard doorbellBuffers != nil, let head = completionQueues[qid]?.head else { return }
        storeShadow(UInt32(head), doorbell: 2 * qid + 1)
        storeEventIndex(UInt32(head), doorbell: 2 * qid + 1)
    }

    /// Takes the shadow tail of I/O submission queue `qid` (configured buffers), when valid.
    mutating func readShadowTail(_ qid: Int) {
        guard let value = loadShadow(doorbell: 2 * qid), let size = submissionQueues[qid]?.size, Int(value) < size else { return }
        submissionQueues[qid]!.tail = Int(value)
    }

    /// Takes the shadow head of I/O completion queue `qid` (configured buffers), when it moves
    /// over posted entries only; then posts what waited for that room.
    mutating func readShadowHead(_ qid: Int) {
        guard let newHead = movedShadowHead(qid) else { return }
        completionQueues[qid]!.head = newHead
        drainOverflow(qid)
    }

    /// The shadow head of completion queue `qid` when it differs from the head known and is valid.
    private mutating func movedShadowHead(_ qid: Int) -> Int? {
        guard let value = loadShadow(doorbell: 2 * qid + 1), let queue = completionQueues[qid] else { return nil }
        let newHead = Int(value)
        guard newHead != queue.head, queue.acceptsHead(newHead) else { return nil }
        return newHead
    }

    /// Publishes the EventIdx values of I/O submission queue `qid` and its completion queue, then
    /// reads both shadows again. Returns whether the host moved either meanwhile (process again).
    mutating func publishEventIndexes(_ qid: Int) -> Bool {
        guard let sq = submissionQueues[qid], let cq = completionQueues[sq.completionQueueID] else { return false }
        let cqid = sq.completionQueueID
        let events = Self.eventIndexes(sq, cq, deviceWakesAnyway: !inline && !scheduled.isEmpty)
        storeEventIndex(events.submission, doorbell: 2 * qid)
        storeEventIndex(events.completion, doorbell: 2 * cqid + 1)
        // Both stores and loads are sequentially consistent: the host's shadow store and EventIdx
        // load are too (or fenced), so one side always sees the other's write.
        let tailMoved = loadShadow(doorbell: 2 * qid).map { Int($0) != sq.tail && Int($0) < sq.size } ?? false
        let headMoved = events.waitingForRoom && movedShadowHead(cqid) != nil
        return tailMoved || headMoved
    }

    /// The EventIdx values to publish for `sq` and its `cq` before the device rests (the rules
    /// above), and whether the completion queue waits for room.
    @inline(__always)
    static func eventIndexes(_ sq: SubmissionQueue, _ cq: CompletionQueue, deviceWakesAnyway: Bool)
        -> (submission: UInt32, completion: UInt32, waitingForRoom: Bool) {
        let tail = UInt16(truncatingIfNeeded: sq.tail)
        let waitingForRoom = cq.free == 0 || cq.parked > 0
        return (UInt32(deviceWakesAnyway ? tail &- 1 : tail), UInt32(waitingForRoom ? cq.head : cq.tail), waitingForRoom)
    }

    // MARK: Buffer access

    private mutating func slot(_ base: UInt64, doorbell index: Int, access: DMAAccess) -> UnsafeMutablePointer<Atomic<UInt32>>? {
        let iova = base + UInt64(index * strideBytes)
        guard let address = try? iommu.translate(iova: iova, length: 4, access: access) else {
            fail(HostMemoryFault.doorbellBuffer(iova).reason(queue: index / 2))
            doorbellBuffers = nil
            return nil
        }
        return address.assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    private mutating func loadShadow(doorbell index: Int) -> UInt32? {
        guard let buffers = doorbellBuffers, let slot = slot(buffers.shadow, doorbell: index, access: .deviceReads) else { return nil }
        return UInt32(littleEndian: slot.pointee.load(ordering: .sequentiallyConsistent))
    }

    private mutating func storeShadow(_ value: UInt32, doorbell index: Int) {
        guard let buffers = doorbellBuffers, let slot = slot(buffers.shadow, doorbell: index, access: .deviceWrites) else { return }
        slot.pointee.store(value.littleEndian, ordering: .sequentiallyConsistent)
    }

    private mutating func storeEventIndex(_ value: UInt32, doorbell index: Int) {
        guard let buffers = doorbellBuffers, let slot = slot(buffers.eventIndex, doorbell: index, access: .deviceWrites) else { return }
        slot.pointee.store(value.littleEndian, ordering: .sequentiallyConsistent)
    }

}
