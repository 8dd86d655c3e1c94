import DMAMapper
import MockNVMe
import NVMe
import PCIDevice
import Synchronization
@testable import SCSIController

/// The controller side of Doorbell Buffer Config (NVMe Base 2.0, admin opcode 7Ch), played by an
/// `InterposedDevice` in front of a mock that answers 7Ch with Invalid Opcode: Identify Controller
/// gets OACS bit 8, each Doorbell Buffer Config is recorded (PRP1 the shadow doorbells, PRP2 the
/// EventIdx buffer) and handed to the mock as a Get Features (Arbitration), which succeeds and
/// changes nothing. With `followsDoorbells`, each doorbell register write sets that doorbell's
/// EventIdx to the value written, as a controller that processes a queue when rung and asks to
/// be rung again for the next entry does. `kick` plays a controller that reads the shadow.
final class ShadowDoorbellController: @unchecked Sendable {
    struct Configuration: Equatable {
        var shadowIOVA: UInt64
        var eventIndexIOVA: UInt64
    }

    private struct State {
        var configurations: [Configuration] = []
        /// Admin opcodes in the order the driver submitted them (before any rewrite).
        var adminOpcodes: [UInt8] = []
        var followsDoorbells = true
    }

    let mock: MockController
    private let stride: Int
    private let state = Mutex(State())

    init(mock: MockController) {
        self.mock = mock
        stride = 4 << Int(mock.configuration.doorbellStride)
    }

    /// Every Doorbell Buffer Config the driver sent, oldest first.
    var configurations: [Configuration] { state.withLock { $0.configurations } }
    /// Admin opcodes the driver submitted, oldest first.
    var adminOpcodes: [UInt8] { state.withLock { $0.adminOpcodes } }
    /// Whether each doorbell register write moves that doorbell's EventIdx to the value written.
    var followsDoorbells: Bool {
        get { state.withLock { $0.followsDoorbells } }
        set { state.withLock { $0.followsDoorbells = newValue } }
    }

    /// The hooks that offer and accept Doorbell Buffer Config; `accept: false` only offers it
    /// (the mock then fails it with Invalid Opcode).
    func install(_ hooks: inout InterposedDevice.Hooks, accept: Bool = true) {
        hooks.patchAdminData = { entry, data in
            guard entry.opcode == AdminOpcode.identify.rawValue, entry.cdw10 & 0xFF == 1 else { return }
            data[IdentifyController.Offset.oacs + 1] |= 1  // OACS bit 8
        }
        hooks.rewriteAdminCommand = { [self] entry in
            state.withLock { $0.adminOpcodes.append(entry.opcode) }
            guard accept, entry.opcode == AdminOpcode.doorbellBufferConfig.rawValue else { return }
            state.withLock { $0.configurations.append(Configuration(shadowIOVA: entry.dptr1, eventIndexIOVA: entry.dptr2)) }
            let commandID = entry.commandID
            entry = .getFeatures(.arbitration)
            entry.commandID = commandID
        }
        hooks.afterWrite32 = { [self] offset, value in
            guard offset >= ControllerRegister.doorbellBase, followsDoorbells else { return }
            setEventIndex(slot: (offset - ControllerRegister.doorbellBase) / stride, to: UInt16(truncatingIfNeeded: value))
        }
    }

    /// Slot `index` (2y: SQ y, 2y + 1: CQ y) of the buffer at `iova`, as the controller reaches it.
    private func slotAtomic(_ iova: UInt64, _ index: Int, access: DMAAccess) -> UnsafeMutablePointer<Atomic<UInt32>>? {
        guard let base = try? mock.softwareIOMMU.translate(iova: iova, length: 4096, access: access) else { return nil }
        return (base + index * stride).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// The value the host last put in the shadow doorbell `slot` (nil before any configuration).
    func shadow(slot index: Int) -> UInt16? {
        guard let latest = configurations.last, let pointer = slotAtomic(latest.shadowIOVA, index, access: .deviceReads) else { return nil }
        return UInt16(truncatingIfNeeded: UInt32(littleEndian: pointer.pointee.load(ordering: .sequentiallyConsistent)))
    }

    /// Writes the controller's EventIdx for doorbell `slot`.
    func setEventIndex(slot index: Int, to value: UInt16) {
        guard let latest = configurations.last, let pointer = slotAtomic(latest.eventIndexIOVA, index, access: .deviceWrites) else { return }
        pointer.pointee.store(UInt32(value).littleEndian, ordering: .sequentiallyConsistent)
    }

    /// What a controller that reads the shadow doorbells does: passes the SQ `queueID` tail the host
    /// left there to the mock, which fetches the new entries (inline: and completes them).
    func kick(queueID: Int) {
        guard let tail = shadow(slot: 2 * queueID) else { return }
        mock.writeRegister32(UInt32(tail), at: ControllerRegister.doorbellBase + 2 * queueID * stride)
    }
}
