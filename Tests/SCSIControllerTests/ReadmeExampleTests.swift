import Foundation
import MockNVMe
import PCIDevice
import SCSIController
import Testing
import Translation

/// The README's "Using the driver from Swift" sample is the code between the markers below:
/// one test checks the two are the same lines, the other runs it.
@Suite struct ReadmeExampleTests {
    /// The README sample, verbatim between the markers (its imports are this file's).
    func readmeSample() throws -> (SCSITaskResponse, [UInt8]) {
        // README sample begin
        let controller = try NVMeController(device: MockController())   // reset, admin queue, Identify, I/O queues
        let queue = controller.ioQueues[0]                               // one queue per thread
        let buffer = try controller.mapper.allocate(length: 1 << 30)     // one IOVA segment, any size
        try queue.write(nsid: 1, lba: 0, blocks: (1 << 30) / 512, from: buffer, fua: true).get()  // or throws a ControllerError
        try queue.flush(nsid: 1).get()                                   // naming the command, LBA and status

        let hba = SCSIHostAdapter(controller: controller)                // the SCSI face: CDB in, status and sense out
        let inquiry = try controller.mapper.allocate(length: 36)
        let response = hba.process(SCSITask(cdb: [0x12, 0, 0, 0, 36, 0], buffer: inquiry, transferLength: 36,
                                            direction: .fromDevice), on: queue)
        try controller.stop()                                            // flush, delete queues, CC.SHN handshake
        // README sample end
        return (response, Array(inquiry.bytes))
    }

    @Test func theReadmeSampleWorks() throws {
        let (response, inquiry) = try readmeSample()
        // INQUIRY is answered even with the power-on unit attention pending (SPC-5 5.14).
        #expect(response.status == .good)
        #expect(Array(inquiry[8..<16]) == Array("NVMe    ".utf8))
    }

    /// The README's first comment names how a real controller is opened instead of the mock.
    /// That expression is compiled here (never run: it would open a real device) and must be
    /// the README's, character for character.
    @Test func theReadmeVFIOAlternativeCompiles() throws {
        let expression = #"VFIODevice.open(try PCIAddress(parsing: "0000:01:00.0"))"#
        let open: () throws -> any DeviceInterface = { try VFIODevice.open(try PCIAddress(parsing: "0000:01:00.0")) }
        _ = open
        let here = URL(fileURLWithPath: #filePath)
        let readme = try String(contentsOf: here.deletingLastPathComponent().appendingPathComponent("../../README.md").standardized, encoding: .utf8)
        let source = try String(contentsOf: here, encoding: .utf8)
        #expect(readme.contains("// or PCIDevice: " + expression))
        #expect(source.contains("{ try " + expression + " }"))
    }

    /// The README's Swift block, without its import lines, is the code between the markers above,
    /// line for line (indentation aside); its imports are among this file's.
    @Test func theReadmeSampleIsTheCodeThisFileRuns() throws {
        let here = URL(fileURLWithPath: #filePath)
        let readme = try String(contentsOf: here.deletingLastPathComponent().appendingPathComponent("../../README.md").standardized, encoding: .utf8)
        let source = try String(contentsOf: here, encoding: .utf8)
        let readmeLines = readme.components(separatedBy: "\n")
        let section = try #require(readmeLines.firstIndex(of: "## Using the driver from Swift"))
        let open = try #require(readmeLines[section...].firstIndex(of: "```swift"))
        let close = try #require(readmeLines[(open + 1)...].firstIndex(of: "```"))
        let block = readmeLines[(open + 1)..<close].map { $0.trimmingCharacters(in: .whitespaces) }
        let imports = block.filter { $0.hasPrefix("import ") }.map { String($0.split(separator: " ")[1]) }
        let code = block.filter { !$0.hasPrefix("import ") }.drop { $0.isEmpty }

        let sourceLines = source.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let begin = try #require(sourceLines.firstIndex(of: "// README sample begin"))
        let end = try #require(sourceLines.firstIndex(of: "// README sample end"))
        #expect(Array(code) == Array(sourceLines[(begin + 1)..<end]))
        for module in imports { #expect(sourceLines.contains("import \(module)"), "README imports \(module)") }
        #expect(!imports.isEmpty)
    }
}
