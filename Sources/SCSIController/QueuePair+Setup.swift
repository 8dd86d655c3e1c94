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
    /// The submission ring's size in bytes (where `RingState.sqTailOffset` wraps).
    @usableFromInline let submissionRingBytes: Int
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
    /// The MSI-X vector and eventfd of this queue's completions, when the controller was brought
    /// up with `ControllerOptions.completionInterrupts` and the device gave it one; set before
    /// the queue is first created, and used again when a reset re-creates it.
    public internal(set) var completionInterrupt: CompletionInterrupt?

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
        submissionRingBytes = depth * MemoryLayout<SubmissionQueueEntry>.stride
        cq = completionRing.address.bindMemory(to: CompletionQueueEntry.self, capacity: depth)
        cq.initialize(repeating: CompletionQueueEntry(), count: depth)
        // One tracker per index the mask lets through: `poll` then needs no range check, since
        // those past `trackerCount` are never in use.
        trackers = .allocate(capacity: Int(indexMask) + 1)
        trackers.initialize(repeating: Tracker(), count: Int(indexMask) + 1)
        for index in 0...Int(indexMask) { trackers[index].word = UInt32(index) | Tracker.free }
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
}
