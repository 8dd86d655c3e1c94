import DMAMapper
import MockNVMe
import NVMe
import Synchronization

/// The host side of shadow doorbells (Doorbell Buffer Config), written from the spec and Linux's
/// rule, over a `Harness`: the tests check the mock against this, not against the driver.
final class ShadowDoorbellHost: @unchecked Sendable {  // one thread drives it at a time
    let harness: Harness
    let shadow: DMABuffer
    let eventIndex: DMABuffer
    /// MMIO doorbell writes this host decided on, and shadow-only updates it made.
    var mmioWrites = 0
    var shadowOnlyUpdates = 0
    /// Set by a successful `configure()`; before that every update rings.
    var configured = false

    init(_ harness: Harness) throws {
        self.harness = harness
        shadow = try harness.allocate(4096)
        eventIndex = try harness.allocate(4096)
    }

    /// Sends Doorbell Buffer Config with the two buffers; returns its status.
    func configure() -> CompletionStatus {
        let status = harness.execute(.doorbellBufferConfig(shadowDoorbellIOVA: shadow.iova, eventIndexIOVA: eventIndex.iova)).status
        configured = status.isSuccess
        return status
    }

    /// Identify Controller, as the host reads it before deciding to configure.
    func identifyController() throws -> IdentifyController {
        let buffer = try harness.allocate(4096)
        precondition(harness.execute(.identify(.controller), buffer: buffer).status.isSuccess)
        return IdentifyController(bytes: UnsafeRawBufferPointer(start: buffer.address, count: 4096))
    }

    /// Linux's and QEMU's `nvme_dbbuf_need_event`: the new value passed EventIdx.
    static func needsEvent(event: UInt16, new: UInt16, old: UInt16) -> Bool {
        new &- event &- 1 < new &- old
    }

    private func slot(_ buffer: DMABuffer, _ doorbell: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (buffer.address + doorbell * harness.stride).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    func shadowValue(doorbell: Int) -> UInt32 { slot(shadow, doorbell).pointee.load(ordering: .sequentiallyConsistent) }
    func eventValue(doorbell: Int) -> UInt32 { slot(eventIndex, doorbell).pointee.load(ordering: .sequentiallyConsistent) }
    func setShadow(_ value: UInt32, doorbell: Int) { slot(shadow, doorbell).pointee.store(value, ordering: .sequentiallyConsistent) }
    func setEvent(_ value: UInt32, doorbell: Int) { slot(eventIndex, doorbell).pointee.store(value, ordering: .sequentiallyConsistent) }

    /// Stores `new` in the shadow slot, then reads EventIdx (both sequentially consistent, which
    /// is the full fence between them) and writes the MMIO doorbell only if the rule says so.
    /// Returns whether it did.
    @discardableResult
    func update(doorbell: Int, from old: Int, to new: Int, mmio register: Int) -> Bool {
        setShadow(UInt32(new), doorbell: doorbell)
        let event = UInt16(truncatingIfNeeded: eventValue(doorbell: doorbell))
        guard !configured || Self.needsEvent(event: event, new: UInt16(new), old: UInt16(old)) else {
            shadowOnlyUpdates += 1
            return false
        }
        mmioWrites += 1
        harness.controller.writeRegister32(UInt32(new), at: register)
        return true
    }

    /// Places `entries` on I/O queue `qid` and publishes the new tail by the rule.
    @discardableResult
    func submit(_ entries: [SubmissionQueueEntry], qid: UInt16) -> Bool {
        let queue = harness.queues[qid]!
        let old = queue.sqTail
        for entry in entries { harness.place(entry, qid: qid) }
        return update(doorbell: 2 * Int(qid), from: old, to: queue.sqTail,
                      mmio: ControllerRegister.submissionTailDoorbell(queueID: Int(qid), stride: harness.stride.trailingZeroBitCount - 2))
    }

    /// New completions of I/O queue `qid`, with the new head published by the rule.
    func poll(qid: UInt16) -> [CompletionQueueEntry] {
        let queue = harness.queues[qid]!
        let old = queue.cqHead
        let found = harness.poll(qid: qid, ringHead: false)
        if !found.isEmpty {
            update(doorbell: 2 * Int(qid) + 1, from: old, to: queue.cqHead,
                   mmio: ControllerRegister.completionHeadDoorbell(queueID: Int(qid), stride: harness.stride.trailingZeroBitCount - 2))
        }
        return found
    }
}
