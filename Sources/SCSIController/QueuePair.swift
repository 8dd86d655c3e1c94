import CVFIO
import DMAMapper
import NVMe
import PCIDevice
import Synchronization

/// A submission/completion queue pair in DMA memory, polled, with one tracker per slot.
///
/// A queue pair belongs to one thread: `submit`, `ringDoorbell` and `poll` are not synchronised,
/// by design, so the hot path takes no locks. The queue pair is `@unchecked Sendable` only so that it
/// can be handed to the thread that will own it. After a controller reset or stop the owner's next
/// `ringDoorbell` or `poll` notices it (one atomic load per call) and `poll` hands back every
/// outstanding command with `Completion.droppedBy` set; no other thread touches the rings.
public final class QueuePair: @unchecked Sendable {
    /// Queue identifier (0 is the admin queue).
    public let id: UInt16
    /// Entries in each ring; at most `depth - 1` commands are outstanding.
    public let depth: Int
    /// Largest data length one command may carry (its tracker's PRP list pages hold this much).
    public let maximumDataLength: Int
    @usableFromInline let trackerCount: Int
    /// Command identifier bits that hold the tracker index; the bits above count the tracker's reuses.
    @usableFromInline let indexMask: UInt16
    @usableFromInline let generationStride: UInt16
    @usableFromInline let device: any DeviceInterface
    @usableFromInline let epoch: ControllerEpoch
    /// The SQ tail doorbell, then the CQ head doorbell (one allocation of two).
    @usableFromInline let submissionDoorbell: UnsafeMutablePointer<Doorbell>
    @usableFromInline var completionDoorbell: UnsafeMutablePointer<Doorbell> { submissionDoorbell + 1 }
    let submissionRing: DMABuffer
    let completionRing: DMABuffer
    let listPages: DMABuffer?
    @usableFromInline let encoder: DataPointerEncoder
    @usableFromInline let sq: UnsafeMutablePointer<SubmissionQueueEntry>
    @usableFromInline let cq: UnsafeMutablePointer<CompletionQueueEntry>
    @usableFromInline let trackers: UnsafeMutablePointer<Tracker>
    @usableFromInline let freeList: UnsafeMutablePointer<UInt16>
    /// `freeList` holds `indexMask + 1` entries (a power of two above `trackerCount`); this masks a
    /// ring position in it.
    @usableFromInline let freeListMask: UInt32
    @usableFromInline let state: UnsafeMutablePointer<RingState>
    @usableFromInline let listBaseIOVA: UInt64
    @usableFromInline let listBaseHost: UnsafeMutableRawPointer
    @usableFromInline let listStride: Int
    /// Anomalies the controller produced on this queue, newest last (bounded); read outside the hot path.
    public internal(set) var anomalies: [ControllerError] = []
    /// Why the queue is closed, when it is.
    public var closeReason: ControllerError? { state.pointee.closeReason }
    /// Held by the thread running a request on this queue (see `claim()`).
    let ownerClaim = Atomic<Bool>(false)

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

    /// `depth` must be 2...65536 (bring-up checks CAP.MQES before it gets here).
    init(id: UInt16, depth: Int, device: any DeviceInterface, epoch: ControllerEpoch, mapper: DMAMapper,
         doorbellStride: Int, pageSize: Int, maximumCommandBytes: Int, useSGL: Bool) throws(ControllerError) {
        precondition(depth >= 2 && depth <= 65536, "queue depth \(depth) outside 2...65536")
        self.id = id
        self.depth = depth
        self.device = device
        self.epoch = epoch
        trackerCount = depth - 1
        maximumDataLength = maximumCommandBytes
        // Enough low bits for every tracker index and one value more, so an identifier is never FFFFh
        // (the Error Information log's "no command"); the remaining high bits count reuses.
        let indexBits = Int.bitWidth - trackerCount.leadingZeroBitCount
        indexMask = UInt16(truncatingIfNeeded: (1 << indexBits) - 1)
        generationStride = indexBits >= 16 ? 0 : UInt16(1 << indexBits)
        submissionDoorbell = .allocate(capacity: 2)
        submissionDoorbell.initialize(to: Doorbell(
            offset: ControllerRegister.submissionTailDoorbell(queueID: Int(id), stride: doorbellStride), device: device))
        (submissionDoorbell + 1).initialize(to: Doorbell(
            offset: ControllerRegister.completionHeadDoorbell(queueID: Int(id), stride: doorbellStride), device: device))
        let listPagesPerTracker = useSGL ? 0 : DataPointerEncoder.listPagesNeeded(maximumBytes: maximumCommandBytes, pageSize: pageSize)
        do {
            submissionRing = try mapper.allocate(length: depth * SubmissionQueueEntry.size, access: .deviceReads)
            completionRing = try mapper.allocate(length: depth * CompletionQueueEntry.size, access: .deviceWrites)
            listPages = listPagesPerTracker == 0 ? nil
                : try mapper.allocate(length: trackerCount * listPagesPerTracker * pageSize, access: .deviceReads)
        } catch {
            throw .dma(error, during: "allocating queue \(id) (depth \(depth))")
        }
        encoder = DataPointerEncoder(pageSize: pageSize, useSGL: useSGL)
        sq = submissionRing.address.bindMemory(to: SubmissionQueueEntry.self, capacity: depth)
        cq = completionRing.address.bindMemory(to: CompletionQueueEntry.self, capacity: depth)
        cq.initialize(repeating: CompletionQueueEntry(), count: depth)
        // One tracker per index the mask lets through: `poll` then needs no range check, since
        // those past `trackerCount` are never in use.
        trackers = .allocate(capacity: Int(indexMask) + 1)
        trackers.initialize(repeating: Tracker(), count: Int(indexMask) + 1)
        for index in 0...Int(indexMask) { trackers[index].commandID = UInt16(truncatingIfNeeded: index) }
        // As many entries as trackers: a power of two, so a ring position is masked with `indexMask`.
        freeList = .allocate(capacity: Int(indexMask) + 1)
        freeListMask = UInt32(indexMask)
        state = .allocate(capacity: 1)
        state.initialize(to: RingState(epoch: epoch.value.load(ordering: .acquiring)))
        listStride = listPagesPerTracker * pageSize
        listBaseIOVA = listPages?.iova ?? 0
        listBaseHost = listPages?.address ?? UnsafeMutableRawPointer(bitPattern: 0x1000)!
        resetRings()
    }

    deinit {
        trackers.deinitialize(count: Int(indexMask) + 1)
        trackers.deallocate()
        freeList.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
        submissionDoorbell.deinitialize(count: 2)
        submissionDoorbell.deallocate()
    }

    /// Whether the SQ has no free slot by the last SQ head the controller reported (`submitLimit`
    /// already counts this; kept for the no-progress description).
    var sqFull: Bool {
        let next = state.pointee.sqTail &+ 1
        return (next == UInt16(truncatingIfNeeded: depth) ? 0 : next) == state.pointee.sqHead
    }

    /// Places a command in the next SQ slot with a fresh command identifier and the data pointer
    /// for [dataIOVA, dataIOVA + dataLength). Anything but `.submitted` changes nothing.
    /// The controller sees it at the next `ringDoorbell()`.
    @inlinable @inline(__always) @discardableResult
    public func submit(_ command: SubmissionQueueEntry, dataIOVA: UInt64 = 0, dataLength: Int = 0, tag: UInt64) -> SubmitResult {
        let s = state
        // One unsigned compare refuses negative lengths too.
        guard UInt(bitPattern: dataLength) <= UInt(bitPattern: maximumDataLength) else { return .transferTooLarge }
        // One check for a free tracker and a free SQ slot (see `RingState.submitLimit`).
        // Counters and offsets below are bounded by the queue's size: wrapping arithmetic only
        // drops overflow checks that cannot fire.
        let freeHead = s.pointee.freeHead
        guard freeHead != s.pointee.submitLimit else { return isClosed ? .closed : .queueFull }
        let index = Int(freeList[Int(freeHead & freeListMask)])
        s.pointee.freeHead = freeHead &+ 1
        let tracker = trackers + index
        let cid = tracker.pointee.commandID &+ generationStride
        tracker.pointee.commandID = cid
        tracker.pointee.tag = tag
        tracker.pointee.inUse = true
        tracker.pointee.aborted = false
        if !s.pointee.batchOpen {
            s.pointee.batchOpen = true
            s.pointee.batchTime = MonotonicClock.nanoseconds()
        }
        tracker.pointee.submittedAt = s.pointee.batchTime

        let tail = s.pointee.sqTail
        let slot = sq + Int(tail)
        slot.initialize(to: command)
        slot.pointee.commandID = cid
        if dataLength > 0 {
            encoder.encode(into: &slot.pointee, iova: dataIOVA, length: dataLength) {
                // This tracker's list pages.
                let listOffset = index &* listStride
                return (listBaseIOVA &+ UInt64(truncatingIfNeeded: listOffset), listBaseHost + listOffset)
            }
        }
        let next = tail &+ 1
        s.pointee.sqTail = next == UInt16(truncatingIfNeeded: depth) ? 0 : next
        return .submitted
    }

    /// Tells the controller about every command submitted since the last call: one doorbell per
    /// batch, after a store fence so the entries are visible first (with shadow doorbells, the
    /// register itself only when the controller's EventIdx asks for it). After a controller reset
    /// it writes nothing: the next `poll` reports those commands dropped.
    @inlinable public func ringDoorbell() {
        let s = state
        guard s.pointee.batchOpen, epoch.value.load(ordering: .acquiring) == s.pointee.epoch else { return }
        s.pointee.batchOpen = false
        cvfio_store_fence()
        ring(submissionDoorbell, s.pointee.sqTail)
    }

    /// Consumes the completions the controller has posted (at most `limit`, and at most a ring's
    /// worth in one call), calling `handler` for each, and writes the CQ head doorbell once.
    /// Returns the number handled. Completions that match no outstanding command are counted as
    /// hostile and skipped. After a controller reset or stop it instead hands back every
    /// outstanding command with `droppedBy` set (ignoring `limit`) and re-creates the queue in the
    /// controller.
    @inlinable @inline(__always) @discardableResult
    public func poll(limit: Int = .max, _ handler: (Completion) -> Void) -> Int {
        let s = state
        if _slowPath(epoch.value.load(ordering: .acquiring) != s.pointee.epoch) {
            return catchUp(handler)
        }
        guard limit > 0 else { return 0 }
        // The ring position and phase live in locals for the pass (nothing the handler may call
        // reads them), as do the queue's constants: the handler is opaque to the optimizer, so
        // whatever is read through `self` or `state` would be loaded again after each call.
        let cq = self.cq
        let trackers = self.trackers
        let freeList = self.freeList
        let indexMask = self.indexMask
        let ringMask = UInt32(indexMask)
        let depth = self.depth
        let startHead = Int(s.pointee.cqHead)
        // A pass ends at `stopHead`: after `limit` entries, and at most depth - 1, as many as the
        // controller may post before it sees the CQ head doorbell - so a hostile one that keeps
        // writing phase tags cannot hold the owner here. The head alone then tells how many
        // entries the pass consumed.
        var stopHead = startHead &+ min(limit, trackerCount)
        if stopHead >= depth { stopHead &-= depth }
        var head = startHead
        // The phase tag is bit 16 of dword 3: an entry is new when its bit equals this one.
        var phase: UInt32 = s.pointee.phase ? 0x1_0000 : 0
        var rejected = 0
        // The inner loop calls nothing but the handler, so its values can stay in registers; a
        // hostile completion leaves it for the outer one, which reports it and goes on.
        scan: while true {
            var hostile: UInt16
            while true {
                let entry = cq + head
                // Dword 3 (command id, status, phase) is read first with acquire ordering, so the
                // rest of the entry, which the device wrote before it, is seen complete.
                let dw3 = DMAOrdering.loadAcquiring(at: UnsafeRawPointer(entry) + 12)
                guard dw3 & 0x1_0000 == phase else { break scan }
                head &+= 1
                if _slowPath(head == depth) {
                    head = 0
                    phase ^= 0x1_0000
                }
                let cid = UInt16(truncatingIfNeeded: dw3)
                // `trackers` has an entry for every index the mask lets through; those past
                // `trackerCount` are never in use, so this one check also refuses ids out of range.
                let tracker = trackers + Int(cid & indexMask)
                guard _fastPath(tracker.pointee.inUse && tracker.pointee.commandID == cid) else {
                    hostile = cid
                    break
                }
                tracker.pointee.inUse = false
                let freeTail = s.pointee.freeTail
                // `freeList` has `indexMask + 1` entries, so one mask serves both.
                freeList[Int(freeTail & ringMask)] = cid & indexMask
                s.pointee.freeTail = freeTail &+ 1
                handler(Completion(tag: tracker.pointee.tag, status: CompletionStatus(rawValue: UInt16(truncatingIfNeeded: dw3 >> 17)),
                                   dw0: UInt32(littleEndian: entry.pointee.dw0), commandID: cid))
                if head == stopHead { break scan }
            }
            rejectCompletion(commandID: hostile)
            rejected &+= 1
            if head == stopHead { break }
        }
        guard head != startHead else { return 0 }
        s.pointee.cqHead = UInt16(truncatingIfNeeded: head)
        s.pointee.phase = phase != 0
        let last = head == 0 ? depth &- 1 : head &- 1
        // Heads only move forward, so the last entry of the pass carries the one that counts.
        acceptSQHead(UInt16(littleEndian: cq[last].sqHead))
        // The entries were read (acquire loads) before this point; the fence orders the doorbell
        // after this pass's stores too, as for the SQ doorbell.
        cvfio_store_fence()
        ring(completionDoorbell, s.pointee.cqHead)
        return (head > startHead ? head &- startHead : head &+ depth &- startHead) &- rejected
    }

    /// Takes a completion's SQ head only if it lies between the last head and the tail the
    /// controller was told about (circularly): it cannot have fetched entries it was never given,
    /// nor un-fetch some. Anything else is hostile and leaves the head where it was.
    @inlinable @inline(__always)
    func acceptSQHead(_ reported: UInt16) {
        let s = state
        let head = Int(s.pointee.sqHead)
        let tail = Int(submissionDoorbell.pointee.last)
        let value = Int(reported)
        // All three are below `depth`: wrapping arithmetic drops only traps that cannot fire.
        let advance = value >= head ? value &- head : value &+ depth &- head
        let window = tail >= head ? tail &- head : tail &+ depth &- head
        if value < depth && advance <= window {
            s.pointee.sqHead = reported
        } else {
            rejectSQHead(reported)
        }
        refreshSubmitLimit()
    }

    /// Works out `RingState.submitLimit` again from the free trackers and the free SQ slots (by
    /// the last SQ head the controller reported), once per poll pass that consumed something.
    @inlinable @inline(__always)
    func refreshSubmitLimit() {
        let s = state
        let used = Int(s.pointee.sqTail) &- Int(s.pointee.sqHead)
        let freeSlots = trackerCount &- (used < 0 ? used &+ depth : used)
        s.pointee.submitLimit = s.pointee.freeHead &+ UInt32(truncatingIfNeeded: min(s.pointee.freeCount, freeSlots))
    }
}

/// A monotonic clock in nanoseconds, read once per submitted batch.
public enum MonotonicClock {
    /// Not inlined on purpose: its `timespec` local would give every caller (`submit`) a stack
    /// protector, paid on every command rather than once per batch.
    @inline(never) public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

#if canImport(Glibc)
import Glibc
#endif
