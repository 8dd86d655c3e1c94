import MockNVMe
import NVMe
import Testing

/// BAR0 has a size; what lies beyond it is nobody's register. A read there completes as all ones
/// (an unclaimed PCIe read) and a write changes nothing, as `DeviceInterface` requires of every
/// device, so a driver that computed a doorbell from a hostile CAP.DSTRD reaches no queue.
@Suite("Register space")
struct RegisterSpaceTests {
    @Test func theBARCoversEveryDoorbellAndIsSizedLikeABAR() {
        var configuration = MockConfiguration()
        configuration.ioQueueCount = 4
        configuration.doorbellStride = 2  // 16-byte doorbells
        let controller = MockController(configuration: configuration)
        // Doorbells start at 1000h; 5 queues x 2 doorbells x 16 bytes end at 10A0h; 16 KiB granules.
        #expect(controller.registerSpaceSize == 0x4000)
    }

    @Test func beyondTheBARReadsAllOnesAndTakesNoWrites() throws {
        let harness = try Harness(enable: false)
        let controller = harness.controller
        let end = controller.registerSpaceSize
        #expect(controller.readRegister32(at: end) == 0xFFFF_FFFF)
        #expect(controller.readRegister32(at: end - 2) == 0xFFFF_FFFF)  // straddles the end
        #expect(controller.readRegister32(at: -4) == 0xFFFF_FFFF)
        #expect(controller.readRegister64(at: end - 4) == .max)
        // Inside the BAR the registers read as themselves: CC is 0 before enabling.
        #expect(controller.readRegister32(at: ControllerRegister.cc) == 0)
        // A CC value written beyond the end at the same page offset must not reach CC.
        controller.writeRegister32(1, at: end + ControllerRegister.cc)
        controller.writeRegister64(1, at: end - 4)
        #expect(controller.readRegister32(at: ControllerRegister.cc) == 0)
        #expect(ControllerStatus(rawValue: controller.readRegister32(at: ControllerRegister.csts)).rdy == false)
    }
}
