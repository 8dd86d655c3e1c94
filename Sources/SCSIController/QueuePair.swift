import CVFIO
import DMAMapper
import NVMe
import PCIDevice
import Synchronization

/// The queue pair's hot path: `submit` builds a command's entry in its SQ slot, `ringDoorbell`
/// announces a batch, `poll` consumes completions and frees their trackers. No allocation, no
/// lock, no call out of line but the batch's clock read and the cold paths (hostile completions,
/// a data pointer beyond PRP1's page, catch-up after a reset). The rings, trackers and free list
/// are set up in QueuePair+Setup.swift.
extension QueuePair {
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
        let cid = UInt16(truncatingIfNeeded: tracker.pointee.word) &+ generationStride
        tracker.pointee.word = UInt32(cid)
        tracker.pointee.aborted = false
        tracker.pointee.tag = tag
        // The first command of a batch reads the clock; the batch's others take its time.
        var batchTime = s.pointee.batchTime
        if batchTime == 0 {
            batchTime = MonotonicClock.nanoseconds()
            s.pointee.batchTime = batchTime
        }
        tracker.pointee.submittedAt = batchTime
        // The entry is completed in registers and stored into its slot once.
        var entry = command
        entry.commandID = cid
        if dataLength != 0, !encoder.encodeInPlace(into: &entry, iova: dataIOVA, length: dataLength) {
            entry.dptr2 = prp2(iova: dataIOVA, length: dataLength, tracker: index)
        }
        let tailOffset = s.pointee.sqTailOffset
        (UnsafeMutableRawPointer(sq) + tailOffset).assumingMemoryBound(to: SubmissionQueueEntry.self).initialize(to: entry)
        var next = tailOffset &+ MemoryLayout<SubmissionQueueEntry>.stride
        if _slowPath(next == submissionRingBytes) { next = 0 }
        s.pointee.sqTailOffset = next
        return .submitted
    }

    /// Tells the controller about every command submitted since the last call: one doorbell per
    /// batch, after a store fence so the entries are visible first (with shadow doorbells, the
    /// register itself only when the controller's EventIdx asks for it). After a controller reset
    /// it writes nothing: the next `poll` reports those commands dropped.
    @inlinable public func ringDoorbell() {
        let s = state
        guard s.pointee.batchTime != 0, epoch.value.load(ordering: .acquiring) == s.pointee.epoch else { return }
        s.pointee.batchTime = 0
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
        if _slowPath(epoch.value.load(ordering: .acquiring) != s.pointee.epoch) { return catchUp(handler) }
        guard limit > 0 else { return 0 }
        // The ring position, the phase and the free list's tail live in locals for the pass
        // (nothing the handler may call reads them), as do the queue's constants: the handler is
        // opaque to the optimizer, so whatever is read through `self` or `state` would be loaded
        // again after each call.
        let (cq, trackers, freeList, indexMask, depth) = (self.cq, self.trackers, self.freeList, self.indexMask, self.depth)
        let startHead = Int(s.pointee.cqHead)
        // A pass ends at `stop`: after `limit` entries, and at most depth - 1, as many as the
        // controller may post before it sees the CQ head doorbell - so a hostile one that keeps
        // writing phase tags cannot hold the owner here. The head alone then tells how many
        // entries the pass consumed. It reads up to `end`: the ring's end first when the pass
        // wraps, then `stop` (never the ring's end: a pass takes fewer than `depth`) - one
        // compare per entry for both.
        var stopHead = startHead &+ min(limit, trackerCount)
        if stopHead >= depth { stopHead &-= depth }
        let stop = cq + stopHead
        var (next, end) = (cq + startHead, stopHead > startHead ? stop : cq + depth)
        // The phase tag is bit 16 of dword 3: an entry is new when its bit equals this one.
        var phase: UInt32 = s.pointee.phase ? 0x1_0000 : 0
        // Counts the completions handled too (one free tracker each).
        var freeTail = s.pointee.freeTail
        // The inner loop calls nothing but the handler, so its values can stay in registers; a
        // hostile completion leaves it for the outer one, which reports it and goes on.
        scan: while true {
            var hostile: UInt16
            while true {
                if _slowPath(next == end) {
                    guard end != stop else { break scan }
                    (next, end) = (cq, stop)
                    phase ^= 0x1_0000
                    continue
                }
                let entry = next
                // Dword 3 (command id, status, phase) is read first with acquire ordering, so the
                // rest of the entry, which the device wrote before it, is seen complete.
                let dw3 = DMAOrdering.loadAcquiring(at: UnsafeRawPointer(entry) + 12)
                guard dw3 & 0x1_0000 == phase else { break scan }
                next += 1
                let cid = UInt16(truncatingIfNeeded: dw3)
                // `trackers` has an entry for every index the mask lets through; those past
                // `trackerCount` are never in use, so this one compare also refuses ids out of
                // range, free trackers and stale generations (see `Tracker.word`).
                let tracker = trackers + Int(cid & indexMask)
                guard _fastPath(tracker.pointee.word == UInt32(cid)) else {
                    hostile = cid
                    break
                }
                tracker.pointee.word |= Tracker.free
                // `freeList` has `indexMask + 1` entries, so one mask serves both.
                freeList[Int(freeTail & UInt32(indexMask))] = cid & indexMask
                freeTail &+= 1
                handler(Completion(tag: tracker.pointee.tag, status: CompletionStatus(rawValue: UInt16(truncatingIfNeeded: dw3 >> 17)),
                                   dw0: UInt32(littleEndian: entry.pointee.dw0), commandID: cid, submittedAt: tracker.pointee.submittedAt))
            }
            rejectCompletion(commandID: hostile)
        }
        // The head is `next`'s index: a shift by the 16-byte entry (`distance(to:)` divides, signed).
        let head = (Int(bitPattern: next) &- Int(bitPattern: cq)) &>> 4
        guard head != startHead else { return 0 }
        let handled = Int(truncatingIfNeeded: freeTail &- s.pointee.freeTail)
        s.pointee.freeTail = freeTail
        s.pointee.cqHead = UInt16(truncatingIfNeeded: head)
        s.pointee.phase = phase != 0
        let last = head == 0 ? depth &- 1 : head &- 1
        // Heads only move forward, so the last entry of the pass carries the one that counts.
        acceptSQHead(UInt16(littleEndian: cq[last].sqHead))
        // The entries were read (acquire loads) before this point; the fence orders the doorbell
        // after this pass's stores too, as for the SQ doorbell.
        cvfio_store_fence()
        ring(completionDoorbell, s.pointee.cqHead)
        return handled
    }

    /// Takes a completion's SQ head only if it lies between the last head and the tail the
    /// controller was told about (circularly): it cannot have fetched entries it was never given,
    /// nor un-fetch some. Anything else is hostile and leaves the head where it was. Then works
    /// out the submit credit again (once per poll pass that consumed something).
    @inlinable @inline(__always)
    func acceptSQHead(_ reported: UInt16) {
        let s = state
        let (head, tail, value) = (Int(s.pointee.sqHead), Int(submissionDoorbell.pointee.last), Int(reported))
        // All three are below `depth`: wrapping arithmetic drops only traps that cannot fire.
        let advance = value >= head ? value &- head : value &+ depth &- head
        let window = tail >= head ? tail &- head : tail &+ depth &- head
        if value < depth && advance <= window { s.pointee.sqHead = reported } else { rejectSQHead(reported) }
        // `RingState.submitLimit` again, from the free trackers and the free SQ slots by the SQ
        // head just taken.
        let used = Int(s.pointee.sqTail) &- Int(s.pointee.sqHead)
        let freeSlots = trackerCount &- (used < 0 ? used &+ depth : used)
        s.pointee.submitLimit = s.pointee.freeHead &+ UInt32(truncatingIfNeeded: min(s.pointee.freeCount, freeSlots))
    }

}

extension QueuePair {
    /// PRP2 for a command on tracker `index` whose data leaves PRP1's page (its list, if it needs
    /// one, goes into the tracker's list pages). Out of line: the common case's registers are
    /// not spent on it.
    @usableFromInline @inline(never)
    func prp2(iova: UInt64, length: Int, tracker index: Int) -> UInt64 {
        let listOffset = index &* listStride
        return encoder.prp2(iova: iova, length: length, listIOVA: listBaseIOVA &+ UInt64(truncatingIfNeeded: listOffset),
                            listHost: listBaseHost + listOffset)
    }

    /// Announces `value` on `bell` (the caller has fenced the stores the value publishes):
    /// through the shadow slot and EventIdx when they are set, else straight to the register.
    /// Counts the register writes in `mmioDoorbellWrites`.
    @inlinable @inline(__always)
    func ring(_ bell: UnsafeMutablePointer<Doorbell>, _ value: UInt16) {
        let old = bell.pointee.last
        bell.pointee.last = value
        if let shadow = bell.pointee.shadow {
            Doorbell.storeSlot(value, at: shadow)
            if let eventIndex = bell.pointee.eventIndex, !Doorbell.mustWrite(value, old: old, event: Doorbell.loadSlot(at: eventIndex)) { return }
        }
        state.pointee.mmioDoorbellWrites &+= 1
        if let register = bell.pointee.register {
            cvfio_mmio_write32(register, UInt32(value))
        } else {
            device.writeRegister32(UInt32(value), at: bell.pointee.offset)
        }
    }
}

/// The doorbell's part of the hot path: the EventIdx rule and the shadow slots' ordering.
extension Doorbell {
    /// Whether the new value `value` must reach the register, given the controller's `event`
    /// index and the previous value `old` (NVMe Base 2.0, Doorbell Buffer Config; the same rule
    /// as virtio's event index): only when `event` lies in [old, value), circularly. Both sides
    /// wrap at 2^16; ring indexes wrap earlier, at the queue size, and the rule still holds
    /// because all three values lie below it.
    @inlinable @inline(__always)
    static func mustWrite(_ value: UInt16, old: UInt16, event: UInt16) -> Bool {
        value &- event &- 1 < value &- old
    }

    /// A sequentially consistent store: on top of the store fence that orders the queue entries
    /// before it, it is the full barrier Linux's `mb()` is here - the shadow value must be visible
    /// before EventIdx is read, or host and controller can each miss the other's update.
    @inlinable @inline(__always)
    static func storeSlot(_ value: UInt16, at slot: UnsafeMutableRawPointer) {
        slot.assumingMemoryBound(to: Atomic<UInt32>.self).pointee.store(UInt32(value).littleEndian, ordering: .sequentiallyConsistent)
    }

    @inlinable @inline(__always)
    static func loadSlot(at slot: UnsafeMutableRawPointer) -> UInt16 {
        UInt16(truncatingIfNeeded: UInt32(littleEndian: slot.assumingMemoryBound(to: Atomic<UInt32>.self).pointee.load(ordering: .sequentiallyConsistent)))
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
