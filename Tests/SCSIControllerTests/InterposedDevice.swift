import DMAMapper
import MockNVMe
import NVMe
import PCIDevice

/// A test double between the driver and an inline `MockController`, for device behaviour the mock
/// has no switch for: it forwards every register access, but can change what the driver reads
/// (a CSTS that never shows RDY, a CAP with MQES 0), counts the writes to each register (doorbells),
/// rewrites admin commands before the mock runs them, patches the data they return (Identify
/// fields) and patches completions before the driver polls them (a bogus SQ head, a forged dw0).
///
/// It follows the rings the way a controller does: ASQ/ACQ from the registers, I/O queues from
/// the Create I/O Completion/Submission Queue commands it sees, each completion queue's phase.
/// Inline mode only: the mock has posted a doorbell's completions when the write returns.
final class InterposedDevice: DeviceInterface, @unchecked Sendable {
    let mock: MockController

    /// Where the test changes the device's behaviour; every hook is optional.
    struct Hooks: Sendable {
        /// The BAR0 size the driver is told, instead of the mock's.
        var registerSpaceSize: Int?
        /// What the driver reads from a 32-bit register, given the offset and the mock's value.
        var read32: (@Sendable (_ offset: Int, _ value: UInt32) -> UInt32)?
        /// What the driver reads from a 64-bit register (CAP, ASQ, ACQ).
        var read64: (@Sendable (_ offset: Int, _ value: UInt64) -> UInt64)?
        /// Each admin command, before the mock fetches it.
        var rewriteAdminCommand: (@Sendable (_ entry: inout SubmissionQueueEntry) -> Void)?
        /// Each admin command after the mock ran it, with the first 4 KiB its PRP1 points at.
        var patchAdminData: (@Sendable (_ entry: SubmissionQueueEntry, _ data: UnsafeMutableRawBufferPointer) -> Void)?
        /// Each completion the mock posts, before the driver can see it.
        var patchCompletion: (@Sendable (_ queue: CompletionContext, _ entry: inout CompletionQueueEntry) -> Void)?
        /// Each 32-bit register write, after the mock took it (and posted what it caused).
        var afterWrite32: (@Sendable (_ offset: Int, _ value: UInt32) -> Void)?
        /// Whether setting interrupt triggers fails (as VFIO_DEVICE_SET_IRQS may), instead of reaching the mock.
        var refuseInterruptTriggers = false
    }

    /// Which queue a completion is on, and what the driver last told the controller about it.
    struct CompletionContext: Sendable {
        var queueID: Int
        /// Entries in the submission queue of the same id.
        var submissionQueueSize: Int
        /// The SQ tail the driver last wrote for it.
        var submissionTail: Int
    }

    fileprivate struct Ring {
        var base: UInt64
        var size: Int
        var cursor = 0
        var phase = true
        var tail = 0
    }

    fileprivate struct State {
        var hooks = Hooks()
        var writes: [Int: Int] = [:]
        var adminCommands: [SubmissionQueueEntry] = []
        var asq: UInt64 = 0
        var acq: UInt64 = 0
        var aqa: UInt32 = 0
        var submissionQueues: [Int: Ring] = [:]
        var completionQueues: [Int: Ring] = [:]
        var armedVectors = 0
    }

    private let state = SanitizedMutex(State())
    private let stride: Int

    init(_ mock: MockController) {
        self.mock = mock
        stride = 4 << Int(mock.configuration.doorbellStride)
    }

    /// Changes the hooks (between test phases too).
    func configure(_ change: (inout Hooks) -> Void) {
        state.withLock { change(&$0.hooks) }
    }

    /// Writes the driver made to the register at `offset`.
    func writes(at offset: Int) -> Int { state.withLock { $0.writes[offset, default: 0] } }
    /// Every admin command the driver submitted, oldest first (after any rewrite).
    var adminCommands: [SubmissionQueueEntry] { state.withLock { $0.adminCommands } }
    /// The SQ tail doorbell of queue `id`.
    func submissionDoorbell(_ id: Int) -> Int { ControllerRegister.doorbellBase + 2 * id * stride }
    /// The CQ head doorbell of queue `id`.
    func completionDoorbell(_ id: Int) -> Int { submissionDoorbell(id) + stride }

    // MARK: DeviceInterface

    var name: String { "interposed " + mock.name }
    var numaNode: Int? { mock.numaNode }
    var registerSpaceSize: Int { state.withLock { $0.hooks.registerSpaceSize } ?? mock.registerSpaceSize }
    var iommu: any IOMMU { mock.iommu }
    func reset() throws { try mock.reset() }
    var interruptVectorCount: Int { mock.interruptVectorCount }
    func setInterruptTriggers(_ eventfds: [Int32]) throws(InterruptTriggerError) {
        if state.withLock({ $0.hooks.refuseInterruptTriggers }) { throw InterruptTriggerError(description: "refused by the test") }
        try mock.setInterruptTriggers(eventfds)
        state.withLock { $0.armedVectors = eventfds.count }
    }

    /// MSI-X vectors the driver's last `setInterruptTriggers` set (0: disabled, or never set).
    var armedVectors: Int { state.withLock { $0.armedVectors } }

    func readRegister32(at offset: Int) -> UInt32 {
        let value = mock.readRegister32(at: offset)
        guard let hook = state.withLock({ $0.hooks.read32 }) else { return value }
        return hook(offset, value)
    }

    func readRegister64(at offset: Int) -> UInt64 {
        let value = mock.readRegister64(at: offset)
        guard let hook = state.withLock({ $0.hooks.read64 }) else { return value }
        return hook(offset, value)
    }

    func writeRegister64(_ value: UInt64, at offset: Int) {
        state.withLock { state in
            state.writes[offset, default: 0] += 1
            if offset == ControllerRegister.asq { state.asq = value }
            if offset == ControllerRegister.acq { state.acq = value }
        }
        mock.writeRegister64(value, at: offset)
    }

    func writeRegister32(_ value: UInt32, at offset: Int) {
        let hooks = state.withLock { state in
            state.writes[offset, default: 0] += 1
            if offset == ControllerRegister.aqa { state.aqa = value }
            return state.hooks
        }
        let wasEnabled = ControllerConfiguration(rawValue: mock.readRegister32(at: ControllerRegister.cc)).en
        var announced: [SubmissionQueueEntry] = []
        if offset == submissionDoorbell(0) { announced = takeAdminCommands(upTo: Int(value), hooks: hooks) }
        if offset >= ControllerRegister.doorbellBase, (offset - ControllerRegister.doorbellBase) % (2 * stride) == 0 {
            let id = (offset - ControllerRegister.doorbellBase) / (2 * stride)
            state.withLock { $0.submissionQueues[id]?.tail = Int(value) }
        }
        mock.writeRegister32(value, at: offset)
        if offset == ControllerRegister.cc { followEnable(wasEnabled: wasEnabled) }
        for entry in announced { afterAdminCommand(entry, hooks: hooks) }
        patchNewCompletions(hooks: hooks)
        hooks.afterWrite32?(offset, value)
    }

    // MARK: Following the controller

    private func followEnable(wasEnabled: Bool) {
        let enabled = ControllerConfiguration(rawValue: mock.readRegister32(at: ControllerRegister.cc)).en
        state.withLock { state in
            if wasEnabled && !enabled {
                state.submissionQueues.removeAll()
                state.completionQueues.removeAll()
            } else if !wasEnabled && enabled {
                let attributes = AdminQueueAttributes(rawValue: state.aqa)
                state.submissionQueues[0] = Ring(base: state.asq, size: Int(attributes.asqs) + 1)
                state.completionQueues[0] = Ring(base: state.acq, size: Int(attributes.acqs) + 1)
            }
        }
    }

    /// The admin entries between the last announced tail and `tail`, rewritten in place.
    private func takeAdminCommands(upTo tail: Int, hooks: Hooks) -> [SubmissionQueueEntry] {
        guard let ring = state.withLock({ $0.submissionQueues[0] }), tail < ring.size,
              let base = try? mock.softwareIOMMU.translate(iova: ring.base, length: ring.size * 64, access: .deviceReads)
        else { return [] }
        var entries: [SubmissionQueueEntry] = []
        var index = ring.tail
        while index != tail {
            let slot = (base + index * 64).bindMemory(to: SubmissionQueueEntry.self, capacity: 1)
            hooks.rewriteAdminCommand?(&slot.pointee)
            entries.append(slot.pointee)
            index = (index + 1) % ring.size
        }
        state.withLock { state in
            state.adminCommands += entries
            for entry in entries { state.followQueueCommand(entry) }
        }
        return entries
    }

    private func afterAdminCommand(_ entry: SubmissionQueueEntry, hooks: Hooks) {
        guard let patch = hooks.patchAdminData, entry.dptr1 != 0,
              let data = try? mock.softwareIOMMU.translate(iova: entry.dptr1, length: 4096, access: .deviceWrites) else { return }
        patch(entry, UnsafeMutableRawBufferPointer(start: data, count: 4096))
    }

    /// Walks every completion queue from where it was last seen, by phase tag, patching what is new.
    private func patchNewCompletions(hooks: Hooks) {
        let queues = state.withLock { $0.completionQueues }
        for (id, ring) in queues {
            guard let base = try? mock.softwareIOMMU.translate(iova: ring.base, length: ring.size * 16, access: .deviceWrites) else { continue }
            var ring = ring
            let context = state.withLock { state in
                CompletionContext(queueID: id, submissionQueueSize: state.submissionQueues[id]?.size ?? 0,
                                  submissionTail: state.submissionQueues[id]?.tail ?? 0)
            }
            while true {
                let slot = (base + ring.cursor * 16).bindMemory(to: CompletionQueueEntry.self, capacity: 1)
                guard slot.pointee.phase == ring.phase else { break }
                hooks.patchCompletion?(context, &slot.pointee)
                ring.cursor += 1
                if ring.cursor == ring.size { ring.cursor = 0; ring.phase.toggle() }
            }
            state.withLock { $0.completionQueues[id]?.cursor = ring.cursor; $0.completionQueues[id]?.phase = ring.phase }
        }
    }
}

extension InterposedDevice.State {
    /// Create and Delete I/O queue commands tell where the I/O rings are.
    fileprivate mutating func followQueueCommand(_ entry: SubmissionQueueEntry) {
        let id = Int(entry.cdw10 & 0xFFFF)
        let size = Int(entry.cdw10 >> 16) + 1
        switch AdminOpcode(rawValue: entry.opcode) {
        case .createIOCompletionQueue?: completionQueues[id] = .init(base: entry.dptr1, size: size)
        case .createIOSubmissionQueue?: submissionQueues[id] = .init(base: entry.dptr1, size: size)
        case .deleteIOCompletionQueue?: completionQueues[id] = nil
        case .deleteIOSubmissionQueue?: submissionQueues[id] = nil
        default: break
        }
    }
}
