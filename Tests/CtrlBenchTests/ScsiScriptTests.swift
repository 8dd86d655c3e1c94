import Foundation
import Testing
@testable import ctrlbench

/// Several CDBs in one session (`--cdb`, `--script`), so a later command sees what an earlier one
/// changed: MODE SELECT setting D_SENSE in the Control mode page (SPC-5 7.5.8) makes the next
/// CHECK CONDITION carry descriptor format sense (response code 72h) instead of fixed (70h).
@Suite struct ScsiScriptTests {
    /// An opcode the SCSI layer does not support: CHECK CONDITION, ILLEGAL REQUEST.
    static let unsupported = "a1 00 00 00 00 00 00 00 00 00 00 00"
    /// MODE SELECT(6), PF=1, 16 bytes: a header of zeros, then the Control page (0Ah, length 0Ah)
    /// as the mock reports it (MODE SENSE: 0a 0a 02 10 00 00 00 00 ff ff 00 00) with D_SENSE
    /// (byte 2 bit 2) set.
    static let dSenseOn = "15 10 00 00 10 00 --data 00000000 0a0a0610 00000000 ffff0000"

    static func run(_ lines: [String]) throws -> [ScsiOutcome] {
        let specs = try lines.map { line throws(ScsiToolError) in try ScsiScript.command(line, lun: 0) }
        return try Scsi.sendAll(specs, to: .mock(MockGeometry()), clearUnitAttention: true)
    }

    @Test func modeSelectTurnsOnDescriptorSenseForLaterCommands() throws {
        let outcomes = try Self.run([Self.unsupported, Self.dSenseOn, "1a 08 0a 00 ff 00", Self.unsupported])
        #expect(outcomes.map(\.status) == [.checkCondition, .good, .good, .checkCondition])
        #expect(outcomes[0].sense.first.map { $0 & 0x7F } == 0x70)
        // The Control page read back (after the 4-byte header, DBD=1) has D_SENSE set.
        #expect(outcomes[2].dataIn.count >= 16 && outcomes[2].dataIn[4] & 0x3F == 0x0A && outcomes[2].dataIn[6] & 0x04 != 0)
        #expect(outcomes[3].sense.first.map { $0 & 0x7F } == 0x72)
        #expect(outcomes[0].clearedUnitAttention != nil && outcomes[1].clearedUnitAttention == nil)
    }

    @Test func aLineWithoutOptionsReceivesWhatItsCDBAsksFor() throws {
        let inquiry = try ScsiScript.command("12 00 00 00 24 00", lun: 0)
        #expect(inquiry.direction == .fromDevice && inquiry.length == 36)
        let read = try ScsiScript.command("28 00 00000000 00 0002 00", lun: 3, blockSize: 4096)
        #expect(read.length == 8192 && read.lun == 3)
        let testUnitReady = try ScsiScript.command("00 00 00 00 00 00", lun: 0)
        #expect(testUnitReady.direction == .none)
        let own = try ScsiScript.command("12 00 00 00 24 00 -r 8 --lun 1", lun: 0)
        #expect(own.length == 8 && own.lun == 1)
    }

    @Test func aScriptSkipsCommentsAndNamesTheBadLine() throws {
        let path = NSTemporaryDirectory() + "ctrlbench-script-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "# first\n\n12 00 00 00 24 00   # INQUIRY\n00 00 00 00 00 00\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ScsiScript.commands(inFile: path, lun: 0).map(\.cdb.first) == [0x12, 0x00])
        try "12 00 00 00 24 00\n12 00 00 00 24 00 --bogus 1\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            try ScsiScript.commands(inFile: path, lun: 0)
        } throws: { error in
            "\(error)".contains("line 2: '--bogus' is not an option of a CDB line")
        }
    }

    @Test func versionIsPrinted() {
        do {
            _ = try CtrlBench.parseAsRoot(["--version"])
            Issue.record("--version should end parsing")
        } catch {
            #expect(CtrlBench.fullMessage(for: error) == CtrlBench.version)
            #expect(CtrlBench.exitCode(for: error).rawValue == 0)
        }
    }
}
