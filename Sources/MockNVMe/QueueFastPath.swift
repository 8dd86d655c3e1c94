import DMAMapper
import HexFormat
import NVMe
import PCIDevice
import Synchronization

/// Host memory a queue pair needs that the IOMMU refused: the controller fails (CSTS.CFS), as the
/// NVMe controller would that cannot reach its own rings.
enum HostMemoryFault: Error {
    case submissionRing
    case completionRing
    /// A shadow doorbell or EventIdx slot, at this IOVA.
    case doorbellBuffer(UInt64)

    /// What the controller's fatal status is logged with.
    func reason(queue qid: Int) -> String {
        switch self {
        case .submissionRing: "submission queue \(qid) is not readable through the IOMMU"
        case .completionRing: "completion queue \(qid) is not writable through the IOMMU"
        case .doorbellBuffer(let iova): "doorbell buffer at \(hex(iova)) is not accessible through the IOMMU"
        }
    }
}

/// What a doorbell offered to a queue pair's fast path came to.
enum FastPathOutcome {
    /// Done: the doorbell and every command it announced.
    case handled
    /// Untouched: the controller path takes the doorbell write as it would any other.
    case declined
    /// The doorbell write was taken and commands may have run; the rest of the queue needs the
    /// controller path (`ControllerState.processSubmissions`).
    case continueOnController
    /// Host memory the pair needs was refused (the doorbell was taken): the controller path fails
    /// the controller (`ControllerState.fastPathFailed`).
    case fatal(HostMemoryFault)
}

/// Queue pair y's own path: a doorbell of SQ y or CQ y on the inline null device (data
/// discarded), run under queue pair y's lock alone (see `MockCore`), so two queue pairs work
/// on two threads at once.
///
/// It serves the pair only while the controller is operational, no fault is armed, SQ y is the
/// only queue on CQ y, both are contiguous, CQ y raises no interrupt (IEN clear: the controller
/// path signals the vector) and nothing is parked; and it runs only commands that
/// complete successfully without touching shared state: Reads and Writes that pass every check
/// of `executeIO` (the same functions). It hands anything else - another opcode, a fused or
/// failing command, an invalid doorbell value - to the controller path before consuming it, so
/// each status, error log entry and asynchronous event still comes from one place. It writes
/// only SQ y, CQ y, their counters, their rings and their shadow doorbell slots.
struct QueueFastPath {
    /// What queue pair y's fast path reads that stays put while the controller exists, made once
    /// (`MockCore`): plain values and pointers, so taking them at every doorbell copies bytes and
    /// touches no reference count another queue's thread touches too.
    struct Lane {
        let qid: Int
        let sq: UnsafeMutablePointer<SubmissionQueue?>
        let cq: UnsafeMutablePointer<CompletionQueue?>
        let counters: UnsafeMutablePointer<QueueCounters?>
        let translations: UnsafeMutablePointer<IOTLB?>
        let checks: BlockCommandChecks
        let stride: Int
        /// The state holds the IOMMU for as long as the lane exists.
        let iommu: Unmanaged<SoftwareIOMMU>

        init(qid: Int, state: inout ControllerState) {
            self.qid = qid
            sq = state.submissionQueues.pointer(qid)
            cq = state.completionQueues.pointer(qid)
            counters = state.queueCounters.pointer(qid)
            translations = state.fastPathTranslations.pointer(qid)
            checks = state.checks
            stride = state.strideBytes
            iommu = Unmanaged.passUnretained(state.iommu)
        }
    }

    private let state: UnsafeMutablePointer<ControllerState>
    private let qid: Int
    private let sq: UnsafeMutablePointer<SubmissionQueue?>
    private let cq: UnsafeMutablePointer<CompletionQueue?>
    private let counters: UnsafeMutablePointer<QueueCounters?>
    private let translations: UnsafeMutablePointer<IOTLB?>
    private let checks: BlockCommandChecks
    private let iommu: Unmanaged<SoftwareIOMMU>
    /// Host addresses, looked up once per doorbell in `translations`.
    private var submissionRing: UnsafeMutableRawPointer?
    private var completionRing: UnsafeMutableRawPointer?
    /// The shadow and EventIdx slots of doorbell 2y; doorbell 2y + 1 lies `stride` bytes on.
    private var shadow: UnsafeMutableRawPointer?
    private var eventIndex: UnsafeMutableRawPointer?
    private let stride: Int

    /// The doorbell write `value` at `offset` (SQ y tail or CQ y head, y = `qid`).
    static func doorbell(_ value: UInt32, offset: Int, lane: Lane, state: UnsafeMutablePointer<ControllerState>) -> FastPathOutcome {
        guard var path = QueueFastPath(lane, state: state) else { return .declined }
        if (offset - ControllerRegister.doorbellBase) / path.stride & 1 == 0 {
            guard Int(value) < path.sq.pointee!.size else { return .declined }
            path.counters.pointee!.submissionTailWrites &+= 1
            path.sq.pointee!.tail = Int(value)
        } else {
            guard path.cq.pointee!.acceptsHead(Int(value)) else { return .declined }
            path.counters.pointee!.completionHeadWrites &+= 1
            path.cq.pointee!.head = Int(value)
            // Nothing is parked, and SQ y, the only queue on CQ y, goes on if it stopped on a full CQ.
            guard path.sq.pointee!.head != path.sq.pointee!.tail else { return .handled }
        }
        do throws(HostMemoryFault) {
            return try path.run() ? .handled : .continueOnController
        } catch {
            return .fatal(error)
        }
    }

    private init?(_ lane: Lane, state: UnsafeMutablePointer<ControllerState>) {
        guard state.pointee.fastPathOpen else { return nil }
        qid = lane.qid
        sq = lane.sq
        cq = lane.cq
        guard let submission = sq.pointee, submission.completionQueueID == qid, !submission.memory.paged,
              let completion = cq.pointee, completion.boundSubmissionQueues == 1, completion.parked == 0,
              !completion.memory.paged, completion.interruptVector < 0 else { return nil }
        counters = lane.counters
        translations = lane.translations
        checks = lane.checks
        stride = lane.stride
        iommu = lane.iommu
        self.state = state
    }

    /// `ControllerState.processSubmissions` for this pair. Returns false when a command needs
    /// the controller path (it is left at the head).
    private mutating func run() throws(HostMemoryFault) -> Bool {
        guard let buffers = state.pointee.doorbellBuffers else { return try runSubmissions() }
        shadow = try translate(buffers.shadow, .deviceReads, &translations.pointee!.shadow)
        repeat {
            readShadows()
            guard try runSubmissions() else { return false }
        } while try publishEventIndexes(buffers)
        return true
    }

    /// Runs the commands between head and tail while CQ y has room.
    private mutating func runSubmissions() throws(HostMemoryFault) -> Bool {
        while true {
            let head = sq.pointee!.head
            guard head != sq.pointee!.tail, cq.pointee!.free > 0 else { return true }
            let ring = try submissionRingBase()
            let entry = (ring + head &* 64).loadUnaligned(as: SubmissionQueueEntry.self)
            guard let (read, bytes) = nullTransfer(entry) else { return false }
            sq.pointee!.advanceHead()
            if read { counters.pointee!.hostIO.countRead(bytes: bytes) } else { counters.pointee!.hostIO.countWrite(bytes: bytes) }
            let completions = try completionRingBase()
            CompletionQueue.store(at: completions + cq.pointee!.tail &* 16, dw0: 0,
                                  sqHead: UInt16(truncatingIfNeeded: sq.pointee!.head), sqid: UInt16(truncatingIfNeeded: qid),
                                  commandID: entry.commandID, status: .success, phase: cq.pointee!.phase)
            cq.pointee!.advanceTail()
        }
    }

    /// Whether `entry` is a Read (true) or Write (false) that `executeIO` completes successfully
    /// on the null device, and its bytes; nil for any other command.
    @inline(__always)
    private func nullTransfer(_ entry: SubmissionQueueEntry) -> (read: Bool, bytes: Int)? {
        let opcode: NVMOpcode
        switch entry.opcode {
        case NVMOpcode.read.rawValue: opcode = .read
        case NVMOpcode.write.rawValue: opcode = .write
        default: return nil
        }
        guard entry.declaredFuse == .normal else { return nil }
        do throws(CommandFailure) {
            try checks.checkDataPointerType(entry)
            let bytes = try checks.transferBytes(entry, opcode, try checks.activeNamespaceIndex(entry.nsid))
            return (opcode == .read, bytes)
        } catch {
            return nil
        }
    }

    // MARK: Shadow doorbells (ShadowDoorbells.swift has the rules)

    private mutating func readShadows() {
        let tail = Int(load(0))
        if tail < sq.pointee!.size { sq.pointee!.tail = tail }
        let head = Int(load(stride))
        if head != cq.pointee!.head, cq.pointee!.acceptsHead(head) { cq.pointee!.head = head }
    }

    /// Publishes both EventIdx values and reads the shadows again: whether the host moved either.
    private mutating func publishEventIndexes(_ buffers: DoorbellBuffers) throws(HostMemoryFault) -> Bool {
        if eventIndex == nil { eventIndex = try translate(buffers.eventIndex, .deviceWrites, &translations.pointee!.eventIndex) }
        let slots = eventIndex!
        let events = ControllerState.eventIndexes(sq.pointee!, cq.pointee!, deviceWakesAnyway: false)
        Self.atomic(slots).pointee.store(events.submission.littleEndian, ordering: .sequentiallyConsistent)
        Self.atomic(slots + stride).pointee.store(events.completion.littleEndian, ordering: .sequentiallyConsistent)
        let tail = Int(load(0))
        let tailMoved = tail != sq.pointee!.tail && tail < sq.pointee!.size
        let head = Int(load(stride))
        let headMoved = events.waitingForRoom && head != cq.pointee!.head && cq.pointee!.acceptsHead(head)
        return tailMoved || headMoved
    }

    private func load(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: Self.atomic(shadow! + offset).pointee.load(ordering: .sequentiallyConsistent))
    }

    private static func atomic(_ address: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Atomic<UInt32>> {
        address.assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    // MARK: Translation

    /// This pair's two slots (doorbells 2y and 2y + 1) of the buffer at `base`.
    private func translate(_ base: UInt64, _ access: DMAAccess, _ entry: inout IOTLB.Entry) throws(HostMemoryFault) -> UnsafeMutableRawPointer {
        let iova = base &+ UInt64(2 &* qid &* stride)
        guard let host = lookUp(&entry, iova: iova, length: 2 &* stride, access: access) else { throw .doorbellBuffer(iova) }
        return host
    }

    /// The host address of `length` bytes at `iova`: the kept one while the IOMMU's mappings are
    /// unchanged since it was translated, else a fresh translation (kept if it succeeds; a refusal
    /// is recorded by the IOMMU, as at every attempt).
    @inline(__always)
    private func lookUp(_ entry: inout IOTLB.Entry, iova: UInt64, length: Int, access: DMAAccess) -> UnsafeMutableRawPointer? {
        iommu._withUnsafeGuaranteedRef { iommu in
            // Read before translating: a change made meanwhile shows as a new generation next time.
            let generation = iommu.generation
            if entry.generation == generation, entry.iova == iova, entry.length == length, let host = entry.host { return host }
            guard let host = try? iommu.translate(iova: iova, length: length, access: access) else { return nil }
            entry = IOTLB.Entry(generation: generation, iova: iova, length: length, host: host)
            return host
        }
    }

    @inline(__always)
    private mutating func submissionRingBase() throws(HostMemoryFault) -> UnsafeMutableRawPointer {
        if let submissionRing { return submissionRing }
        let memory = sq.pointee!.memory
        guard let host = lookUp(&translations.pointee!.submissionRing, iova: memory.base, length: memory.ringBytes, access: .deviceReads) else { throw .submissionRing }
        submissionRing = host
        return host
    }

    @inline(__always)
    private mutating func completionRingBase() throws(HostMemoryFault) -> UnsafeMutableRawPointer {
        if let completionRing { return completionRing }
        let memory = cq.pointee!.memory
        guard let host = lookUp(&translations.pointee!.completionRing, iova: memory.base, length: memory.ringBytes, access: .deviceWrites) else { throw .completionRing }
        completionRing = host
        return host
    }
}

/// A queue pair's kept translations (an IOTLB of four entries): its two rings and its slots of the
/// two doorbell buffers. An entry is valid while `SoftwareIOMMU.generation` has not moved since
/// it was made and the queue or buffer it was made for is the one asked about; only the pair's
/// fast path reads and writes it, under the pair's lock.
struct IOTLB {
    struct Entry {
        var generation: UInt64 = .max
        var iova: UInt64 = 0
        var length = 0
        var host: UnsafeMutableRawPointer?
    }
    var submissionRing = Entry()
    var completionRing = Entry()
    var shadow = Entry()
    var eventIndex = Entry()
}

extension ControllerState {
    /// A fast path met host memory it could not reach on queue pair `qid`: the controller fails,
    /// unless a reset or another failure came first (between the two locks).
    mutating func fastPathFailed(_ qid: Int, _ fault: HostMemoryFault) {
        guard isOperational, submissionQueues[qid] != nil else { return }
        fail(fault.reason(queue: qid))
        if case .doorbellBuffer = fault { doorbellBuffers = nil }
    }
}
