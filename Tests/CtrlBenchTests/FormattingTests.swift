import SCSIController
import Testing
import Translation
@testable import ctrlbench

/// The report and the hex dump, on bytes written by hand from SPC-5.
@Suite struct FormattingTests {
    /// Fixed format (70h), ILLEGAL REQUEST, ASC/ASCQ 24h/00h, SKSV=1 C/D=1 BPV=1 bit 5, field pointer 0001h.
    let fixedSense: [UInt8] = [0x70, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00,
                               0x00, 0x00, 0x24, 0x00, 0x00, 0xCD, 0x00, 0x01]

    @Test func fixedSenseDecodesFieldByField() throws {
        let summary = try #require(SenseSummary(fixedSense))
        #expect(summary.responseCode == 0x70 && !summary.descriptorFormat && !summary.deferred)
        #expect(summary.senseKey == 5 && summary.senseKeyName == "ILLEGAL REQUEST")
        #expect(summary.asc == 0x24 && summary.ascq == 0 && summary.additionalSense == "INVALID FIELD IN CDB")
        #expect(summary.information == nil)
        #expect(summary.fieldPointer == SenseSummary.Pointer(inCDB: true, byte: 1, bit: 5))
        #expect(ScsiReport.senseLines(fixedSense) == [
            "sense: fixed format, current error (response code 70h)",
            "  sense key: ILLEGAL REQUEST (5h)",
            "  ASC/ASCQ: 24h/00h INVALID FIELD IN CDB",
            "  information: none",
            "  field pointer: C/D=1 (CDB), byte 1, bit 5",
            "  raw (18 bytes): 70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cd 00 01",
        ])
    }

    /// Descriptor format (72h): MEDIUM ERROR 11h/00h with an Information descriptor (VALID, 0x1234).
    @Test func descriptorSenseWithInformation() throws {
        let sense: [UInt8] = [0x72, 0x03, 0x11, 0x00, 0, 0, 0, 0x0C,
                              0x00, 0x0A, 0x80, 0x00, 0, 0, 0, 0, 0, 0, 0x12, 0x34]
        let lines = ScsiReport.senseLines(sense)
        #expect(lines[0] == "sense: descriptor format, current error (response code 72h)")
        #expect(lines[1] == "  sense key: MEDIUM ERROR (3h)")
        #expect(lines[2] == "  ASC/ASCQ: 11h/00h UNRECOVERED READ ERROR")
        #expect(lines[3] == "  information: 0x1234 (4660)")
        #expect(lines[4] == "  field pointer: none")
    }

    @Test func noSenseAndUndecodableSense() {
        #expect(ScsiReport.senseLines([]) == ["sense: none"])
        #expect(ScsiReport.senseLines([0x7F, 1]) == [
            "sense: not fixed or descriptor format (response code 7Fh)", "  raw (2 bytes): 7f 01"])
    }

    @Test func hexDumpLayout() {
        let bytes = Array("NVMe".utf8) + [0x00, 0x7F, 0x20] + Array(0x30...0x3B).map(UInt8.init)
        #expect(ScsiReport.hexDump(bytes) == [
            "00000000  4e 56 4d 65 00 7f 20 30  31 32 33 34 35 36 37 38  |NVMe.. 012345678|",
            "00000010  39 3a 3b                                          |9:;|",
        ])
        #expect(ScsiReport.hexDump([]) == [])
        let lines = ScsiReport.hexDump([UInt8](repeating: 0x41, count: 33))
        #expect(lines.count == 3 && lines[2].hasPrefix("00000020  41 "))
        #expect(lines.allSatisfy { $0.firstIndex(of: "|") == lines[0].firstIndex(of: "|") })
    }

    @Test func reportOfACheckCondition() {
        let spec = ScsiCommandSpec(cdb: [0x12, 0x20, 0, 0, 0, 0], lun: 0, direction: .none, length: 0, dataOut: [])
        let outcome = ScsiOutcome(device: "mock", spec: spec, status: .checkCondition, serviceResponse: .taskComplete,
                                  bytesTransferred: 0, residual: 0, sense: fixedSense, dataIn: [])
        #expect(outcome.exitCode == 2)
        let text = ScsiReport.text(outcome)
        #expect(text.hasPrefix("status: CHECK CONDITION (02h)\nservice response: TASK COMPLETE\ndata: none\nsense: fixed"))
        let json = ScsiReport.json(outcome)
        #expect(json.contains(#""senseHex" : "700005000000000a00000000240000cd0001""#))
        #expect(json.contains(#""fieldPointer" : {"#) && json.contains(#""bit" : 5"#))
        #expect(json.contains(#""status" : "CHECK CONDITION""#) && json.contains(#""statusCode" : 2"#))
    }

    @Test func exitCodes() {
        let spec = ScsiCommandSpec(cdb: [0], lun: 0, direction: .none, length: 0, dataOut: [])
        var outcome = ScsiOutcome(device: "mock", spec: spec, status: .good, serviceResponse: .taskComplete,
                                  bytesTransferred: 0, residual: 0, sense: [], dataIn: [])
        #expect(outcome.exitCode == 0)
        outcome.status = .busy
        #expect(outcome.exitCode == 2)
        outcome.serviceResponse = .serviceDeliveryOrTargetFailure
        #expect(outcome.exitCode == 1)
    }

    /// Every column but the last starts at the same place on every line; no line ends in spaces,
    /// even when its last cell is empty or a row is shorter than the others.
    @Test func alignedRowsLineUpColumns() {
        let lines = alignedRows([["A", "BBB", "C"], ["DDDD", "E", ""], ["F"]], separator: "  ", indent: "> ")
        #expect(lines == ["> A     BBB  C", "> DDDD  E", "> F"])
    }
}
