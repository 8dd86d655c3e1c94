import Foundation
import HexFormat
import PCIDevice
import Testing
import Translation
@testable import ctrlbench

/// The command's own path (`Scsi.send`, `ScsiSession`) against the mock, in process.
@Suite struct MockEndToEndTests {
    func spec(_ words: [String], request: Int? = nil, send: Int? = nil, data: String? = nil,
              lun: Int = 0) throws -> ScsiCommandSpec {
        try ScsiCommandSpec.make(cdbWords: words, lun: lun, request: request, send: send, dataHex: data, infileBytes: nil)
    }

    @Test func inquiry() throws {
        let outcome = try Scsi.send(try spec(["12 00 00 00 24 00"], request: 36), to: .mock(MockGeometry()),
                                    clearUnitAttention: true)
        #expect(outcome.status == .good && outcome.exitCode == 0)
        #expect(outcome.dataIn.count == 36 && outcome.bytesTransferred == 36 && outcome.residual == 0)
        #expect(outcome.dataIn[0] & 0x1F == 0, "peripheral device type 0 (direct access block device)")
        #expect(Array(outcome.dataIn[8..<16]) == Array("NVMe    ".utf8))
        #expect(outcome.clearedUnitAttention?.hasPrefix("UNIT ATTENTION") == true)
    }

    @Test func writeThenReadReturnsTheSameBytes() throws {
        let session = try ScsiSession(.mock(MockGeometry()))
        _ = session.clearUnitAttention(lun: 0)
        let block = (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let hex = hexBytes(block, uppercase: true)
        // WRITE(10) LBA 5, 1 block; READ(10) the same.
        let write = try session.execute(try spec(["2a00 00000005 00 0001 00"], send: 512, data: hex))
        #expect(write.status == .good, "\(ScsiReport.text(write))")
        #expect(write.bytesTransferred == 512)
        let read = try session.execute(try spec(["28 00 00000005 00 0001 00"], request: 512))
        #expect(read.status == .good, "\(ScsiReport.text(read))")
        #expect(read.dataIn == block)
    }

    @Test func unsupportedOpcodeIsCheckCondition() throws {
        let outcome = try Scsi.send(try spec(["a1000000 00000000 00000000"]), to: .mock(MockGeometry()),
                                    clearUnitAttention: true)
        #expect(outcome.status == .checkCondition && outcome.exitCode == 2)
        let sense = try #require(SenseSummary(outcome.sense))
        #expect(sense.senseKeyName == "ILLEGAL REQUEST" && sense.asc == 0x20 && sense.ascq == 0x00)
    }

    @Test func keepUnitAttentionShowsPowerOnReset() throws {
        let outcome = try Scsi.send(try spec(["00 00 00 00 00 00"]), to: .mock(MockGeometry()), clearUnitAttention: false)
        #expect(outcome.status == .checkCondition && outcome.clearedUnitAttention == nil)
        let sense = try #require(SenseSummary(outcome.sense))
        #expect(sense.senseKeyName == "UNIT ATTENTION" && sense.asc == 0x29)
    }

    @Test func mockGeometryReachesReadCapacity() throws {
        let geometry = MockGeometry(namespaces: 2, blocks: 1000, blockSize: 4096, volatileWriteCache: false)
        let outcome = try Scsi.send(try spec(["25 00 00000000 0000 00 00"], request: 8, lun: 1), to: .mock(geometry),
                                    clearUnitAttention: true)
        #expect(outcome.status == .good)
        #expect(outcome.dataIn == [0, 0, 0x03, 0xE7, 0, 0, 0x10, 0x00], "last LBA 999, 4096-byte blocks")
    }

    /// No machine running the tests has a function at ff:1f.7: a device error that names the
    /// address as missing (not a VFIO complaint; see DeviceTargetTests).
    @Test func vfioFailureIsADeviceErrorWithItsExplanation() throws {
        let address = try PCIAddress(parsing: "0000:ff:1f.7")
        let command = try spec(["00 00 00 00 00 00"])
        do throws(ScsiToolError) {
            _ = try Scsi.send(command, to: .vfio(address), clearUnitAttention: true)
            Issue.record("opening \(address) should have failed")
        } catch {
            guard case let .device(message) = error else { Issue.record("not a device error: \(error)"); return }
            #expect(message.hasPrefix("cannot open 0000:ff:1f.7: No PCI function 0000:ff:1f.7"))
        }
    }

    @Test func badGeometryIsAUsageError() {
        #expect(throws: ScsiToolError.self) { try ScsiSession(.mock(MockGeometry(blockSize: 1024))) }
    }

    /// `--outfile`: the data-in goes to the file, byte for byte (INQUIRY standard data here).
    @Test func outfileReceivesTheDataIn() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ctrlbench-outfile-\(UUID().uuidString).bin").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let command = try Scsi.parse(["12", "00", "00", "00", "24", "00", "--request", "36", "--outfile", path])
        try command.run()
        let bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(bytes.count == 36)
        // Direct access block device, VERSION 06h, RESPONSE DATA FORMAT 2, ADDITIONAL LENGTH 45h
        // (74 bytes with the version descriptors; 36 asked for).
        #expect(Array(bytes[0..<5]) == [0x00, 0x00, 0x06, 0x02, 0x45])
        #expect(Array(bytes[8..<16]) == Array("NVMe    ".utf8))
    }

    @Test func outfileNeedsADataInPhase() throws {
        let command = try Scsi.parse(["00", "00", "00", "00", "00", "00", "--outfile", "/tmp/never-written"])
        #expect(throws: ScsiToolError.usage("--outfile receives data-in: give --request N as well")) { try command.run() }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written"))
    }

    @Test func anUnwritableOutfileIsADeviceError() throws {
        let path = "/nonexistent-directory-for-ctrlbench/data.bin"
        let command = try Scsi.parse(["12", "00", "00", "00", "24", "00", "--request", "36", "--outfile", path])
        do {
            try command.run()
            Issue.record("writing \(path) should have failed")
        } catch let error as ScsiToolError {
            guard case let .device(message) = error else { Issue.record("not a device error: \(error)"); return }
            #expect(message.hasPrefix("cannot write --outfile \(path): "))
        }
    }
}
