import DMAMapper
import Foundation
import MockNVMe
import NVMe
import PCIDevice
import Testing
@testable import SCSIController

/// The function removed under running I/O, the way vfio-pci does it: the kernel signals the
/// device request eventfd and waits for user space to let go. `VFIODevice` answers by making
/// BAR0 read all ones and drop writes (tested with a real mapping in PCIDeviceTests); this fake
/// does the same in front of the mock, driven by the same `DeviceRequestWatch`, so the engine
/// must see the device gone mid-request and name it (`deviceGone`), without waiting for a
/// command timeout and without hanging.
final class RemovableDevice: DeviceInterface, @unchecked Sendable {
    let mock: MockController
    /// Heard the request: from then on the device is removed.
    let watch: DeviceRequestWatch

    init(_ mock: MockController) throws {
        self.mock = mock
        watch = try DeviceRequestWatch {}
    }

    /// Signals the request eventfd, as the kernel's remove does.
    func kernelAsksForTheDevice() {
        var one: UInt64 = 1
        _ = write(watch.requestDescriptor, &one, 8)
    }

    var isRemoved: Bool { watch.requested }

    var name: String { "removable " + mock.name }
    var numaNode: Int? { mock.numaNode }
    var registerSpaceSize: Int { mock.registerSpaceSize }
    var iommu: any IOMMU { mock.iommu }
    func reset() throws { try mock.reset() }
    func readRegister32(at offset: Int) -> UInt32 { isRemoved ? .max : mock.readRegister32(at: offset) }
    func readRegister64(at offset: Int) -> UInt64 { isRemoved ? .max : mock.readRegister64(at: offset) }
    func writeRegister32(_ value: UInt32, at offset: Int) {
        guard !isRemoved else { return }
        mock.writeRegister32(value, at: offset)
    }
    func writeRegister64(_ value: UInt64, at offset: Int) {
        guard !isRemoved else { return }
        mock.writeRegister64(value, at: offset)
    }
}

@Suite struct RemovalRequestTests {
    /// A threaded mock with 16 KiB commands (mdts 2) and 1 ms per command behind a 16-entry
    /// queue: a 4 MiB read is 256 commands, which take some 16 ms and more to get through, so the
    /// request is still running when the kernel asks. A 30 s command timeout: a failure that
    /// waited for it would be a timeout error, not `deviceGone`.
    static func bringUp() throws -> (RemovableDevice, NVMeController) {
        var configuration = MockConfiguration()
        configuration.executionMode = .threaded(latency: .milliseconds(1), outOfOrder: false)
        configuration.mdts = 2
        let device = try RemovableDevice(MockController(configuration: configuration))
        let controller = try NVMeController(device: device, options: testOptions {
            $0.ioQueueDepth = 16
            $0.commandTimeoutMilliseconds = 30_000
        })
        return (device, controller)
    }

    @Test func aRemovalRequestMidReadFailsItAndLaterRequestsWithDeviceGone() throws {
        let (device, controller) = try Self.bringUp()
        let queue = controller.ioQueues[0]
        let nsid = controller.namespaces[0].id
        let blocks = 4 << 20 / controller.namespaces[0].blockSize
        let buffer = try controller.mapper.allocate(length: 4 << 20)
        #expect(queue.read(nsid: nsid, lba: 0, blocks: 8, into: buffer).succeeded, "the device works before the removal")
        let readsBefore = device.mock.statistics.hostReadCommands

        // The kernel asks once the mock has run some of the read's commands.
        let asker = Thread {
            while device.mock.statistics.hostReadCommands < readsBefore + 4 { usleep(100) }
            device.kernelAsksForTheDevice()
        }
        asker.start()
        let outcome = queue.read(nsid: nsid, lba: 0, blocks: blocks, into: buffer)

        #expect(device.isRemoved)
        guard case .deviceGone = outcome.error else {
            Issue.record("the read under the removal ended with \(String(describing: outcome.error)), not deviceGone")
            return
        }
        #expect("\(outcome.error!)".contains("removed"), "the message names the removal: \(outcome.error!)")
        let readCommands = device.mock.statistics.hostReadCommands - readsBefore
        #expect(readCommands < 256, "every command reached the device although its doorbells were dropped")

        // Later requests fail the same way, at once (no command reaches the device).
        let again = queue.read(nsid: nsid, lba: 0, blocks: 8, into: buffer)
        guard case .deviceGone = again.error else {
            Issue.record("a read after the removal ended with \(String(describing: again.error)), not deviceGone")
            return
        }
        #expect(device.mock.statistics.hostReadCommands - readsBefore == readCommands)
        // Stopping a removed controller names the removal too, rather than waiting out the shutdown.
        #expect(throws: ControllerError.self) { try controller.stop() }
    }
}
