import MockNVMe
import SCSIController
import Testing
import Translation

/// The README's "Using the driver from Swift" sample, kept compiling and passing here.
@Suite struct ReadmeExampleTests {
    @Test func theReadmeSampleWorks() throws {
        let controller = try NVMeController(device: MockController())
        let queue = controller.ioQueues[0]
        let buffer = try controller.mapper.allocate(length: 1 << 30)
        let outcome = queue.write(nsid: 1, lba: 0, blocks: (1 << 30) / 512, from: buffer, fua: true)
        #expect(outcome.succeeded, "\(String(describing: outcome.error))")
        #expect(queue.flush(nsid: 1).succeeded)

        let hba = SCSIHostAdapter(controller: controller)
        let inquiry = try controller.mapper.allocate(length: 36)
        let response = hba.process(SCSITask(cdb: [0x12, 0, 0, 0, 36, 0], buffer: inquiry, transferLength: 36,
                                            direction: .fromDevice), on: queue)
        // INQUIRY is answered even with the power-on unit attention pending (SPC-5 5.14).
        #expect(response.status == .good)
        #expect(Array(inquiry.bytes[8..<16]) == Array("NVMe    ".utf8))
        try controller.stop()
    }
}
