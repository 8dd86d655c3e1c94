import DMAMapper
import Foundation
import MockNVMe
import NVMe
import PCIDevice
import TestSupport

/// A minimal host for conformance tests: rings in DMA buffers, raw register writes, doorbells,
/// completions read by phase tag. No driver code is involved, so the tests check the mock
/// against the spec and not against the driver's idea of it.
final class Harness: @unchecked Sendable {  // each queue pair is driven by one thread at a time
    let controller: MockController
    let mapper: DMAMapper
    var queues: [UInt16: QueuePair] = [:]
    let stride: Int

    /// One submission/completion ring pair in DMA memory, as the host sees it.
    final class QueuePair {
        let id: UInt16
        let sq: DMABuffer
        let cq: DMABuffer
        let sqEntries: Int
        let cqEntries: Int
        var sqTail = 0
        var cqHead = 0
        var phase = true
        var nextCommandID: UInt16 = 1

        init(id: UInt16, mapper: DMAMapper, sqEntries: Int, cqEntries: Int) throws {
            self.id = id
            self.sqEntries = sqEntries
            self.cqEntries = cqEntries
            sq = try mapper.allocate(length: sqEntries * 64)
            cq = try mapper.allocate(length: cqEntries * 16)
        }
    }

    /// `controller`: one made by the test (e.g. `MockController.open` on a backing file), else a new one.
    /// `pageSize`: the granule of every buffer's IOVA (8192 keeps rings aligned for CC.MPS = 1).
    init(_ configuration: MockConfiguration = MockConfiguration(), controller given: MockController? = nil,
         adminEntries: Int = 16, enable: Bool = true, pageSize: Int = 4096) throws {
        controller = given ?? MockController(configuration: configuration)
        mapper = try DMAMapper(iommu: controller.iommu, pageSize: pageSize, pinning: .disabled)
        stride = 4 << Int(configuration.doorbellStride)
        try installAdminQueue(entries: adminEntries)
        if enable { self.enable() }
    }

    /// A fresh admin queue pair of `entries` entries each, in place of every queue pair the
    /// harness knew: AQA (unless `keepingAQA`, to rely on the controller having kept it), ASQ and
    /// ACQ are written; CC is left alone.
    func installAdminQueue(entries: Int, keepingAQA: Bool = false) throws {
        let admin = try QueuePair(id: 0, mapper: mapper, sqEntries: entries, cqEntries: entries)
        queues = [0: admin]
        if !keepingAQA {
            controller.writeRegister32(try AdminQueueAttributes(submissionEntryCount: entries,
                                                                completionEntryCount: entries).rawValue,
                                       at: ControllerRegister.aqa)
        }
        controller.writeRegister64(admin.sq.iova, at: ControllerRegister.asq)
        controller.writeRegister64(admin.cq.iova, at: ControllerRegister.acq)
    }

    /// CC.EN = 1 with 4 KiB pages and 64/16-byte I/O entries.
    func enable(mps: UInt8 = 0) {
        var cc = ControllerConfiguration()
        cc.en = true
        cc.mps = mps
        cc.iosqes = 6
        cc.iocqes = 4
        controller.writeRegister32(cc.rawValue, at: ControllerRegister.cc)
    }

    /// A driver's controller reset through the registers: CC.EN 1 -> 0, a fresh admin queue pair
    /// (AQA is kept), CC.EN = 1. I/O queue pairs are forgotten, as the controller forgets them.
    func resetController() throws {
        controller.writeRegister32(0, at: ControllerRegister.cc)
        try installAdminQueue(entries: queues[0]!.sqEntries, keepingAQA: true)
        enable()
    }

    var csts: ControllerStatus { ControllerStatus(rawValue: controller.readRegister32(at: ControllerRegister.csts)) }

    // MARK: Submitting

    /// Writes `entry` at the tail of queue `qid` (assigning a command id unless `keepID`) without ringing.
    @discardableResult
    func place(_ entry: SubmissionQueueEntry, qid: UInt16 = 0, keepID: Bool = false) -> UInt16 {
        let queue = queues[qid]!
        var entry = entry
        if !keepID {
            entry.commandID = queue.nextCommandID
            queue.nextCommandID = queue.nextCommandID == 0xFFF0 ? 1 : queue.nextCommandID + 1
        }
        queue.sq.address.storeBytes(of: entry, toByteOffset: queue.sqTail * 64, as: SubmissionQueueEntry.self)
        queue.sqTail = (queue.sqTail + 1) % queue.sqEntries
        return entry.commandID
    }

    func ring(qid: UInt16 = 0) {
        controller.writeRegister32(UInt32(queues[qid]!.sqTail), at: ControllerRegister.submissionTailDoorbell(queueID: Int(qid), stride: stride.trailingZeroBitCount - 2))
    }

    @discardableResult
    func submit(_ entry: SubmissionQueueEntry, qid: UInt16 = 0) -> UInt16 {
        let id = place(entry, qid: qid)
        ring(qid: qid)
        return id
    }

    // MARK: Completions

    /// Every new completion of queue `qid`, by phase tag; rings the CQ head doorbell once.
    func poll(qid: UInt16 = 0, ringHead: Bool = true) -> [CompletionQueueEntry] {
        let queue = queues[qid]!
        var found: [CompletionQueueEntry] = []
        while true {
            let slot = queue.cq.address + queue.cqHead * 16
            let dw3 = DMAOrdering.loadAcquiring(at: slot + 12)
            guard (dw3 >> 16) & 1 == (queue.phase ? 1 : 0) else { break }
            var entry = slot.loadUnaligned(as: CompletionQueueEntry.self)
            entry.commandID = UInt16(truncatingIfNeeded: dw3)
            entry.statusAndPhase = UInt16(truncatingIfNeeded: dw3 >> 16)
            found.append(entry)
            queue.cqHead += 1
            if queue.cqHead == queue.cqEntries {
                queue.cqHead = 0
                queue.phase.toggle()
            }
        }
        if !found.isEmpty && ringHead { ringHeadDoorbell(qid: qid) }
        return found
    }

    func ringHeadDoorbell(qid: UInt16) {
        controller.writeRegister32(UInt32(queues[qid]!.cqHead), at: ControllerRegister.completionHeadDoorbell(queueID: Int(qid), stride: stride.trailingZeroBitCount - 2))
    }

    /// Polls until `count` completions arrived (threaded mode), yielding between polls.
    /// Bounded so a broken device fails the test instead of hanging it.
    func wait(for count: Int, qid: UInt16 = 0) -> [CompletionQueueEntry] {
        var found: [CompletionQueueEntry] = []
        var idle = 0
        while found.count < count && idle < 2_000_000 {
            let new = poll(qid: qid)
            if new.isEmpty { idle += 1; if idle % 64 == 0 { usleep(50) } else { sched_yield() } } else { idle = 0 }
            found += new
        }
        return found
    }

    /// Submits one command and returns its completion (inline: at once; threaded: waits).
    func execute(_ entry: SubmissionQueueEntry, qid: UInt16 = 0) -> CompletionQueueEntry {
        let id = submit(entry, qid: qid)
        let completions = wait(for: 1, qid: qid)
        precondition(completions.count == 1 && completions[0].commandID == id, "expected one completion for \(id), got \(completions)")
        return completions[0]
    }

    /// PRP list pages made by `pointing(_:at:offset:)`, kept mapped while the harness lives.
    var listPages: [DMABuffer] = []

    /// Runs `entry` with its data pointer at `buffer` from `offset` to the buffer's end
    /// (`pointing(_:at:offset:)`).
    func execute(_ entry: SubmissionQueueEntry, buffer: DMABuffer, offset: Int = 0, qid: UInt16 = 0) -> CompletionQueueEntry {
        execute(pointing(entry, at: buffer, offset: offset), qid: qid)
    }

    /// `entry` with its data pointer at `buffer` from `offset` to the buffer's end: PRP2 is the
    /// second page, or a PRP list (one list page, enough for these tests) when more pages follow.
    func pointing(_ entry: SubmissionQueueEntry, at buffer: DMABuffer, offset: Int = 0) -> SubmissionQueueEntry {
        var entry = entry
        let start = buffer.iova + UInt64(offset)
        entry.dptr1 = start
        let secondPage = start & ~0xFFF + 0x1000
        let end = Int64(bitPattern: buffer.iova) + Int64(buffer.length)
        let pagesAfterFirst = Int(max(0, end - Int64(bitPattern: secondPage)) + 4095) / 4096
        if pagesAfterFirst <= 1 {
            entry.dptr2 = secondPage
        } else {
            let list = try! allocate(4096)
            listPages.append(list)
            for index in 0..<min(pagesAfterFirst, 512) {
                list.address.storeBytes(of: secondPage + UInt64(index * 4096), toByteOffset: index * 8, as: UInt64.self)
            }
            entry.dptr2 = list.iova
        }
        return entry
    }

    // MARK: Set-up helpers

    func allocate(_ length: Int, access: DMAAccess = .readWrite) throws -> DMABuffer {
        try mapper.allocate(length: length, access: access)
    }

    /// Creates I/O queue pair `qid` (CQ and SQ with the same id) and returns both statuses.
    @discardableResult
    func createQueuePair(_ qid: UInt16, entries: Int = 64) throws -> (CompletionStatus, CompletionStatus) {
        let pair = try QueuePair(id: qid, mapper: mapper, sqEntries: entries, cqEntries: entries)
        let cq = execute(try .createIOCompletionQueue(id: qid, entryCount: entries, baseIOVA: pair.cq.iova))
        let sq = execute(try .createIOSubmissionQueue(id: qid, entryCount: entries, baseIOVA: pair.sq.iova, completionQueueID: qid))
        if cq.status.isSuccess && sq.status.isSuccess { queues[qid] = pair }
        return (cq.status, sq.status)
    }

    /// Writes `blocks` blocks at `lba` with a pattern derived from `seed`; returns the bytes.
    @discardableResult
    func writePattern(nsid: UInt32 = 1, lba: UInt64, blocks: Int, blockSize: Int = 512, seed: UInt8, qid: UInt16 = 1, fua: Bool = false) throws -> (CompletionStatus, [UInt8]) {
        let bytes = blocks * blockSize
        let buffer = try allocate(bytes)
        let pattern = Self.pattern(bytes, seed: seed)
        pattern.withUnsafeBytes { buffer.address.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
        let status = execute(.io(.write, nsid: nsid, lba: lba, blocks: blocks, fua: fua), buffer: buffer, qid: qid).status
        return (status, pattern)
    }

    /// Reads `blocks` blocks at `lba`.
    func read(nsid: UInt32 = 1, lba: UInt64, blocks: Int, blockSize: Int = 512, qid: UInt16 = 1) throws -> (CompletionStatus, [UInt8]) {
        let bytes = blocks * blockSize
        let buffer = try allocate(bytes)
        memset(buffer.address, 0xEE, bytes)
        let status = execute(.io(.read, nsid: nsid, lba: lba, blocks: blocks), buffer: buffer, qid: qid).status
        return (status, Array(UnsafeRawBufferPointer(start: buffer.address, count: bytes)))
    }

    /// The shared test pattern (TestSupport), under the name these tests have always used.
    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] { TestSupport.pattern(count, seed: seed) }
}

extension CompletionStatus {
    /// Equality on type and code only (DNR/More aside), for readable expectations.
    static func ~= (pattern: GenericStatus, value: CompletionStatus) -> Bool { value.matches(pattern) }
}

extension Harness {
    /// A harness over a controller configured by `configure`, enabled, with I/O queue pair 1.
    static func withQueuePair(_ configure: (inout MockConfiguration) -> Void = { _ in }) throws -> Harness {
        var configuration = MockConfiguration()
        configure(&configuration)
        let harness = try Harness(configuration)
        try harness.createQueuePair(1)
        return harness
    }
}
