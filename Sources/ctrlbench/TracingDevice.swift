import HexFormat
import NVMe
import PCIDevice
import Synchronization

/// A device wrapper that traces every command without touching the driver's hot path: at each
/// SQ tail doorbell it decodes the submission entries between the tail it saw last and the new
/// one, and at each CQ head doorbell the completion entries consumed, reading the rings (and PRP
/// lists) through the DMA mappings it recorded on their way to the real IOMMU. It learns the
/// queues as the controller does: the admin queue from AQA/ASQ/ACQ, the I/O queues from the
/// Create I/O Submission/Completion Queue commands it decodes. Only used with `--trace`; without
/// it the engine talks to the device directly, so tracing costs nothing when off.
///
/// Known limit: with shadow doorbells (Doorbell Buffer Config) a driver may skip MMIO doorbell
/// writes; commands announced only through the shadow buffer are traced at the next MMIO write.
final class TracingDevice: DeviceInterface {
    let base: any DeviceInterface
    let trace: CommandTrace
    private let recorder: RecordingIOMMU
    private let state = Mutex(QueueBook())

    init(_ base: any DeviceInterface, trace: CommandTrace) {
        self.base = base
        self.trace = trace
        recorder = RecordingIOMMU(base.iommu)
    }

    var name: String { base.name }
    var numaNode: Int? { base.numaNode }
    var registerSpaceSize: Int { base.registerSpaceSize }
    var iommu: any IOMMU { recorder }
    func readRegister32(at offset: Int) -> UInt32 { base.readRegister32(at: offset) }
    func readRegister64(at offset: Int) -> UInt64 { base.readRegister64(at: offset) }
    func reset() throws { try base.reset() }
    var interruptVectorCount: Int { base.interruptVectorCount }
    func setInterruptTriggers(_ eventfds: [Int32]) throws(InterruptTriggerError) { try base.setInterruptTriggers(eventfds) }

    func writeRegister64(_ value: UInt64, at offset: Int) {
        state.withLock { book in
            if offset == ControllerRegister.asq { book.submission[0] = Ring(base: value, size: book.adminSizes.sq) }
            if offset == ControllerRegister.acq { book.completion[0] = Ring(base: value, size: book.adminSizes.cq) }
        }
        base.writeRegister64(value, at: offset)
    }

    func writeRegister32(_ value: UInt32, at offset: Int) {
        if offset >= ControllerRegister.doorbellBase {
            doorbell(value, at: offset)
        } else {
            state.withLock { book in
                if offset == ControllerRegister.aqa {
                    book.adminSizes = (Int(value & 0xFFF) + 1, Int(value >> 16 & 0xFFF) + 1)
                    book.submission[0]?.size = book.adminSizes.sq
                    book.completion[0]?.size = book.adminSizes.cq
                }
                if offset == ControllerRegister.cc {
                    book.pageSize = 4096 << Int(value >> 7 & 0xF)  // CC.MPS, bits 10:7
                    if value & 1 == 0 { book.forgetIOQueues() }
                }
            }
        }
        base.writeRegister32(value, at: offset)
    }

    /// Decodes what the doorbell announces (new submissions) or acknowledges (consumed completions).
    private func doorbell(_ value: UInt32, at offset: Int) {
        let lines: [String] = state.withLock { book in
            if book.doorbellStride == nil {
                // CAP.DSTRD does not change while the controller runs: read it once (an MMIO read).
                book.doorbellStride = 4 << Int(ControllerCapabilities(rawValue: base.readRegister64(at: ControllerRegister.cap)).dstrd)
            }
            let index = (offset - ControllerRegister.doorbellBase) / (book.doorbellStride ?? 4)
            let queue = UInt16(truncatingIfNeeded: index / 2)
            return index % 2 == 0 ? submitted(queue, tail: Int(value), book: &book) : completed(queue, head: Int(value), book: &book)
        }
        for line in lines { trace.note(line) }
    }

    private func submitted(_ queue: UInt16, tail: Int, book: inout QueueBook) -> [String] {
        guard var ring = book.submission[queue] else { return ["SQ\(queue) tail doorbell \(tail): queue not known to the trace"] }
        var lines: [String] = []
        while ring.position != tail % max(ring.size, 1) {
            let address = ring.base + UInt64(ring.position * SubmissionQueueEntry.size)
            guard let entry = recorder.load(SubmissionQueueEntry.self, at: address) else {
                lines.append("SQ\(queue)[\(ring.position)]: entry at IOVA \(hex(address)) is not mapped")
                break
            }
            book.pending[Key(queue: queue, command: entry.commandID)] = TraceFormat.brief(entry, admin: queue == 0)
            let bytes = queue == 0 ? nil : TraceFormat.dataBytes(entry, blockSize: book.blockSizes[entry.nsid])
            lines.append("SQ\(queue) submit " + TraceFormat.submission(entry, admin: queue == 0, dataBytes: bytes,
                                                                       pageSize: book.pageSize, memory: recorder))
            if queue == 0 { book.learn(entry) }
            if queue == 0, entry.opcode == AdminOpcode.identify.rawValue, entry.cdw10 & 0xFF == 0 {
                book.identifies[entry.commandID] = (entry.nsid, entry.dptr1)
            }
            ring.position = (ring.position + 1) % ring.size
        }
        book.submission[queue] = ring
        return lines
    }

    private func completed(_ queue: UInt16, head: Int, book: inout QueueBook) -> [String] {
        guard var ring = book.completion[queue] else { return ["CQ\(queue) head doorbell \(head): queue not known to the trace"] }
        var lines: [String] = []
        while ring.position != head % max(ring.size, 1) {
            let address = ring.base + UInt64(ring.position * CompletionQueueEntry.size)
            guard let entry = recorder.load(CompletionQueueEntry.self, at: address) else {
                lines.append("CQ\(queue)[\(ring.position)]: entry at IOVA \(hex(address)) is not mapped")
                break
            }
            let key = Key(queue: entry.sqID, command: entry.commandID)
            let what = book.pending.removeValue(forKey: key) ?? "an unknown command"
            if entry.sqID == 0, let identify = book.identifies.removeValue(forKey: entry.commandID), entry.status.isSuccess,
               let data = recorder.bytes(at: identify.iova, count: IdentifyNamespace.size) {
                book.blockSizes[identify.nsid] = data.withUnsafeBytes { IdentifyNamespace(bytes: $0).blockSize }
            }
            lines.append("CQ\(queue) complete SQ\(entry.sqID) cid \(hex(entry.commandID)) (\(what)): "
                + "\(entry.status)" + (entry.dw0 != 0 ? ", dw0 \(hex(entry.dw0))" : ""))
            ring.position = (ring.position + 1) % ring.size
        }
        book.completion[queue] = ring
        return lines
    }
}

/// One ring as the trace follows it: where it is, how many entries, the next entry to decode.
struct Ring {
    var base: UInt64
    var size: Int
    var position = 0
}

/// A command by queue and identifier, for matching completions to submissions.
struct Key: Hashable {
    var queue: UInt16
    var command: UInt16
}

/// The queues the trace knows, learnt as the controller learns them.
struct QueueBook: ~Copyable {
    var adminSizes = (sq: 2, cq: 2)
    var submission: [UInt16: Ring] = [:]
    var completion: [UInt16: Ring] = [:]
    /// Each outstanding command's short description.
    var pending: [Key: String] = [:]
    /// CC.MPS as last written.
    var pageSize = 4096
    /// Bytes between doorbells, 4 << CAP.DSTRD, read at the first doorbell.
    var doorbellStride: Int?
    /// Logical block size by NSID, read from each Identify Namespace the controller returns.
    var blockSizes: [UInt32: Int] = [:]
    /// Identify Namespace commands outstanding: where their data will land, by command.
    var identifies: [UInt16: (nsid: UInt32, iova: UInt64)] = [:]

    /// Registers or forgets an I/O queue from the admin command that creates or deletes it.
    mutating func learn(_ entry: SubmissionQueueEntry) {
        let id = UInt16(truncatingIfNeeded: entry.cdw10)
        let size = Int(entry.cdw10 >> 16) + 1
        switch AdminOpcode(rawValue: entry.opcode) {
        case .createIOSubmissionQueue?: submission[id] = Ring(base: entry.dptr1, size: size)
        case .createIOCompletionQueue?: completion[id] = Ring(base: entry.dptr1, size: size)
        case .deleteIOSubmissionQueue?: submission[id] = nil
        case .deleteIOCompletionQueue?: completion[id] = nil
        default: break
        }
    }

    /// A controller reset (CC.EN cleared) deletes every I/O queue and empties the admin queue.
    mutating func forgetIOQueues() {
        submission = submission.filter { $0.key == 0 }.mapValues { Ring(base: $0.base, size: $0.size) }
        completion = completion.filter { $0.key == 0 }.mapValues { Ring(base: $0.base, size: $0.size) }
        pending = [:]
    }
}

/// The IOMMU the driver maps through, recording each mapping so the trace can read DMA memory.
final class RecordingIOMMU: IOMMU {
    let base: any IOMMU
    private let mappings = Mutex<[Mapping]>([])

    struct Mapping: @unchecked Sendable {
        // @unchecked: the host pointer is only read, under the trace's own lock, while mapped.
        var iova: UInt64
        var length: Int
        var host: UnsafeMutableRawPointer
    }

    init(_ base: any IOMMU) { self.base = base }

    var iovaRanges: [IOVARange] { base.iovaRanges }

    func map(hostAddress: UnsafeMutableRawPointer, iova: UInt64, length: Int, access: DMAAccess) throws {
        try base.map(hostAddress: hostAddress, iova: iova, length: length, access: access)
        mappings.withLock { $0.append(Mapping(iova: iova, length: length, host: hostAddress)) }
    }

    func unmap(iova: UInt64, length: Int) throws {
        mappings.withLock { $0.removeAll { $0.iova == iova } }
        try base.unmap(iova: iova, length: length)
    }

    /// `count` bytes at `iova` (within one mapping), nil when they are not mapped.
    func bytes(at iova: UInt64, count: Int) -> [UInt8]? {
        mappings.withLock { list in
            guard let mapping = list.first(where: { iova >= $0.iova && iova - $0.iova + UInt64(count) <= UInt64($0.length) })
            else { return nil }
            return Array(UnsafeRawBufferPointer(start: mapping.host + Int(iova - mapping.iova), count: count))
        }
    }

    /// The value of type `T` at `iova`, nil when that range is not mapped.
    func load<T: BitwiseCopyable>(_ type: T.Type, at iova: UInt64) -> T? {
        let size = MemoryLayout<T>.size
        return mappings.withLock { list in
            guard let mapping = list.first(where: { iova >= $0.iova && iova - $0.iova + UInt64(size) <= UInt64($0.length) })
            else { return nil }
            return (UnsafeRawPointer(mapping.host) + Int(iova - mapping.iova)).loadUnaligned(as: T.self)
        }
    }
}
