import CVFIO
import DMAMapper
import NVMe
import PCIDevice

/// One finished command, as `QueuePair.poll` hands it to its caller.
public struct Completion: Sendable {
    /// The caller's tag given at submission.
    public var tag: UInt64
    /// The NVMe status.
    public var status: CompletionStatus
    /// Command-specific Dword 0.
    public var dw0: UInt32
    /// The command identifier the completion carried (the tracker index).
    public var commandID: UInt16
    /// The opcode of the completed command, for messages.
    public var opcode: UInt8

    @inlinable init(tag: UInt64, status: CompletionStatus, dw0: UInt32, commandID: UInt16, opcode: UInt8) {
        self.tag = tag
        self.status = status
        self.dw0 = dw0
        self.commandID = commandID
        self.opcode = opcode
    }
}

/// Per-slot bookkeeping, preallocated: the command identifier is the tracker's index.
@usableFromInline struct Tracker {
    @usableFromInline var tag: UInt64 = 0
    @usableFromInline var submittedAt: UInt64 = 0
    @usableFromInline var lba: UInt64 = 0
    @usableFromInline var opcode: UInt8 = 0
    @usableFromInline var inUse = false
    @usableFromInline var aborted = false
}

/// The mutable ring state, kept behind a pointer so the hot path touches plain memory with no
/// class-property exclusivity checks.
@usableFromInline struct RingState {
    @usableFromInline var sqTail: UInt16 = 0
    /// Last SQ head the controller reported: entries between it and the tail are still the controller's.
    @usableFromInline var sqHead: UInt16 = 0
    @usableFromInline var cqHead: UInt16 = 0
    @usableFromInline var phase = true
    @usableFromInline var unannounced = 0
    @usableFromInline var outstanding = 0
    @usableFromInline var freeCount = 0
    @usableFromInline var batchTime: UInt64 = 0
    @usableFromInline var hostileCompletions = 0
}

/// A submission/completion queue pair in DMA memory, polled, with one tracker per slot.
///
/// A queue pair belongs to one thread: `submit`, `ringDoorbell` and `poll` are not synchronised,
/// by design, so the hot path takes no locks. The queue pair is `@unchecked Sendable` only so that it
/// can be handed to the thread that will own it.
public final class QueuePair: @unchecked Sendable {
    /// Queue identifier (0 is the admin queue).
    public let id: UInt16
    /// Entries in each ring; at most `depth - 1` commands are outstanding.
    public let depth: Int
    @usableFromInline let device: any DeviceInterface
    @usableFromInline let sqDoorbell: Int
    @usableFromInline let cqDoorbell: Int
    let submissionRing: DMABuffer
    let completionRing: DMABuffer
    let listPages: DMABuffer?
    let listPagesPerTracker: Int
    @usableFromInline let encoder: DataPointerEncoder
    @usableFromInline let sq: UnsafeMutablePointer<SubmissionQueueEntry>
    @usableFromInline let cq: UnsafeMutablePointer<CompletionQueueEntry>
    @usableFromInline let trackers: UnsafeMutablePointer<Tracker>
    @usableFromInline let freeList: UnsafeMutablePointer<UInt16>
    @usableFromInline let state: UnsafeMutablePointer<RingState>
    @usableFromInline let listBaseIOVA: UInt64
    @usableFromInline let listBaseHost: UnsafeMutableRawPointer
    @usableFromInline let listStride: Int
    /// Anomalies the controller produced on this queue, newest last (bounded); read outside the hot path.
    public private(set) var anomalies: [ControllerError] = []

    /// Most commands that can be outstanding at once.
    public var capacity: Int { depth - 1 }
    /// Commands submitted and not yet completed.
    public var outstanding: Int { state.pointee.outstanding }
    /// Whether another command can be submitted now.
    @inlinable public var hasFreeSlot: Bool { state.pointee.freeCount > 0 && !sqFull }
    /// Invalid completions seen (unknown command id, duplicate, bad SQ head).
    public var hostileCompletionCount: Int { state.pointee.hostileCompletions }
    /// IOVA of the submission ring (for Create I/O Submission Queue / ASQ).
    public var submissionRingIOVA: UInt64 { submissionRing.iova }
    /// IOVA of the completion ring (for Create I/O Completion Queue / ACQ).
    public var completionRingIOVA: UInt64 { completionRing.iova }

    init(id: UInt16, depth: Int, device: any DeviceInterface, mapper: DMAMapper, doorbellStride: Int,
         pageSize: Int, maximumCommandBytes: Int, useSGL: Bool) throws {
        precondition(depth >= 2 && depth <= 65536)
        self.id = id
        self.depth = depth
        self.device = device
        sqDoorbell = ControllerRegister.submissionTailDoorbell(queueID: Int(id), stride: doorbellStride)
        cqDoorbell = ControllerRegister.completionHeadDoorbell(queueID: Int(id), stride: doorbellStride)
        do {
            submissionRing = try mapper.allocate(length: depth * SubmissionQueueEntry.size, access: .deviceReads)
            completionRing = try mapper.allocate(length: depth * CompletionQueueEntry.size, access: .deviceWrites)
            listPagesPerTracker = useSGL ? 0 : DataPointerEncoder.listPagesNeeded(maximumBytes: maximumCommandBytes, pageSize: pageSize)
            listPages = listPagesPerTracker == 0 ? nil
                : try mapper.allocate(length: (depth - 1) * listPagesPerTracker * pageSize, access: .deviceReads)
        } catch {
            throw ControllerError.dma("allocating queue \(id) (depth \(depth)): \(error)")
        }
        encoder = DataPointerEncoder(pageSize: pageSize, useSGL: useSGL)
        sq = submissionRing.address.bindMemory(to: SubmissionQueueEntry.self, capacity: depth)
        cq = completionRing.address.bindMemory(to: CompletionQueueEntry.self, capacity: depth)
        cq.initialize(repeating: CompletionQueueEntry(), count: depth)
        trackers = .allocate(capacity: depth - 1)
        trackers.initialize(repeating: Tracker(), count: depth - 1)
        freeList = .allocate(capacity: depth - 1)
        for index in 0..<(depth - 1) { freeList[index] = UInt16(depth - 2 - index) }
        state = .allocate(capacity: 1)
        state.initialize(to: RingState(freeCount: depth - 1))
        listStride = listPagesPerTracker * pageSize
        listBaseIOVA = listPages?.iova ?? 0
        listBaseHost = listPages?.address ?? UnsafeMutableRawPointer(bitPattern: 0x1000)!
    }

    deinit {
        trackers.deinitialize(count: depth - 1)
        trackers.deallocate()
        freeList.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    @inlinable var sqFull: Bool {
        let next = state.pointee.sqTail &+ 1
        return (next == UInt16(truncatingIfNeeded: depth) ? 0 : next) == state.pointee.sqHead
    }

    /// Places a command in the next SQ slot with a fresh command identifier and the data pointer
    /// for [dataIOVA, dataIOVA + dataLength). Returns false, changing nothing, when the queue is full.
    /// The controller sees it at the next `ringDoorbell()`.
    @inlinable @discardableResult
    public func submit(_ command: SubmissionQueueEntry, dataIOVA: UInt64 = 0, dataLength: Int = 0, tag: UInt64) -> Bool {
        let s = state
        guard s.pointee.freeCount > 0, !sqFull else { return false }
        s.pointee.freeCount -= 1
        let cid = freeList[s.pointee.freeCount]
        let tracker = trackers + Int(cid)
        tracker.pointee.tag = tag
        tracker.pointee.opcode = command.opcode
        tracker.pointee.lba = command.startingLBA
        tracker.pointee.inUse = true
        tracker.pointee.aborted = false
        if s.pointee.unannounced == 0 { s.pointee.batchTime = MonotonicClock.nanoseconds() }
        tracker.pointee.submittedAt = s.pointee.batchTime

        let slot = sq + Int(s.pointee.sqTail)
        slot.initialize(to: command)
        slot.pointee.commandID = cid
        if dataLength > 0 {
            encoder.encode(into: &slot.pointee, iova: dataIOVA, length: dataLength,
                           listIOVA: listBaseIOVA &+ UInt64(Int(cid) * listStride),
                           listHost: listBaseHost + Int(cid) * listStride)
        }
        let next = s.pointee.sqTail &+ 1
        s.pointee.sqTail = next == UInt16(truncatingIfNeeded: depth) ? 0 : next
        s.pointee.unannounced += 1
        s.pointee.outstanding += 1
        return true
    }

    /// Tells the controller about every command submitted since the last call: one doorbell write
    /// per batch, after a store fence so the entries are visible first.
    @inlinable public func ringDoorbell() {
        guard state.pointee.unannounced > 0 else { return }
        state.pointee.unannounced = 0
        cvfio_store_fence()
        device.writeRegister32(UInt32(state.pointee.sqTail), at: sqDoorbell)
    }

    /// Consumes every completion the controller has posted, calling `handler` for each, and
    /// writes the CQ head doorbell once. Returns the number handled. Completions that match no
    /// outstanding command are counted as hostile and skipped.
    @inlinable @discardableResult
    public func poll(limit: Int = .max, _ handler: (Completion) -> Void) -> Int {
        let s = state
        var handled = 0
        var consumed = 0
        while handled < limit {
            let entry = cq + Int(s.pointee.cqHead)
            // Dword 3 (command id, status, phase) is read first with acquire ordering, so the rest
            // of the entry, which the device wrote before it, is seen complete.
            let dw3 = DMAOrdering.loadAcquiring(at: UnsafeRawPointer(entry) + 12)
            let statusWord = UInt16(truncatingIfNeeded: dw3 >> 16)
            guard (statusWord & 1 == 1) == s.pointee.phase else { break }
            let completion = entry.pointee
            let next = s.pointee.cqHead &+ 1
            if next == UInt16(truncatingIfNeeded: depth) {
                s.pointee.cqHead = 0
                s.pointee.phase.toggle()
            } else {
                s.pointee.cqHead = next
            }
            consumed += 1
            let sqHead = UInt16(littleEndian: completion.sqHead)
            if Int(sqHead) < depth {
                s.pointee.sqHead = sqHead
            } else {
                recordHostile("SQ head \(sqHead) is beyond the queue size \(depth)")
            }
            let cid = UInt16(truncatingIfNeeded: dw3)
            guard Int(cid) < depth - 1, trackers[Int(cid)].inUse else {
                recordHostile(Int(cid) < depth - 1
                    ? "command id \(cid) completed twice or was never submitted"
                    : "command id \(cid) does not exist (queue depth \(depth))")
                continue
            }
            let tracker = trackers + Int(cid)
            tracker.pointee.inUse = false
            freeList[s.pointee.freeCount] = cid
            s.pointee.freeCount += 1
            s.pointee.outstanding -= 1
            handled += 1
            handler(Completion(tag: tracker.pointee.tag, status: CompletionStatus(rawValue: statusWord >> 1),
                               dw0: UInt32(littleEndian: completion.dw0), commandID: cid,
                               opcode: tracker.pointee.opcode))
        }
        if consumed > 0 {
            device.writeRegister32(UInt32(s.pointee.cqHead), at: cqDoorbell)
        }
        return handled
    }

    @usableFromInline func recordHostile(_ detail: String) {
        state.pointee.hostileCompletions += 1
        if anomalies.count < 64 { anomalies.append(.hostileCompletion(queueID: id, detail: detail)) }
    }

    /// Outstanding commands submitted before `deadline` (monotonic nanoseconds), for timeout checks.
    func expired(before deadline: UInt64) -> [(commandID: UInt16, tag: UInt64, opcode: UInt8, lba: UInt64, aborted: Bool)] {
        var result: [(UInt16, UInt64, UInt8, UInt64, Bool)] = []
        for index in 0..<(depth - 1) where trackers[index].inUse && trackers[index].submittedAt < deadline {
            let t = trackers[index]
            result.append((UInt16(index), t.tag, t.opcode, t.lba, t.aborted))
        }
        return result
    }

    /// Marks a command as having had an Abort sent for it at `time`; its deadline restarts from then.
    func markAborted(commandID: UInt16, at time: UInt64) {
        trackers[Int(commandID)].aborted = true
        trackers[Int(commandID)].submittedAt = time
    }

    /// Fails every outstanding command back to the caller (after a reset), freeing its tracker.
    /// Returns the tags with their opcodes so the owner can say which work was lost.
    func drainOutstanding() -> [(tag: UInt64, opcode: UInt8)] {
        var drained: [(UInt64, UInt8)] = []
        for index in 0..<(depth - 1) where trackers[index].inUse {
            trackers[index].inUse = false
            drained.append((trackers[index].tag, trackers[index].opcode))
        }
        resetRings()
        return drained
    }

    /// Returns the rings to their just-created state (after a controller reset re-creates them).
    func resetRings() {
        cq.update(repeating: CompletionQueueEntry(), count: depth)
        for index in 0..<(depth - 1) { freeList[index] = UInt16(depth - 2 - index); trackers[index].inUse = false }
        state.pointee = RingState(freeCount: depth - 1)
    }
}

/// A monotonic clock in nanoseconds, read once per submitted batch.
public enum MonotonicClock {
    @inlinable public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

#if canImport(Glibc)
import Glibc
#endif
