import Foundation
import MockNVMe
import Testing
@testable import ctrlbench

/// `--trace`: each SCSI CDB, the NVMe commands it became as the controller reads them from the
/// rings (opcode, NSID, SLBA, NLB, PRP/SGL), and each completion, in order, with timestamps.
@Suite struct TraceTests {
    func spec(_ words: [String], request: Int) throws -> ScsiCommandSpec {
        try ScsiCommandSpec.make(cdbWords: words, lun: 0, request: request, send: nil, dataHex: nil, infileBytes: nil)
    }

    /// The lines without their `[seconds.micros] ` stamps.
    static func bodies(_ trace: CommandTrace) -> [String] {
        trace.lines.map { line in
            #expect(line.first == "[" && line.contains("] "), "every line is stamped: \(line)")
            return String(line.drop { $0 != "]" }.dropFirst(2))
        }
    }

    @Test func aReadTenIsTracedFromCDBToCompletion() throws {
        let trace = CommandTrace()
        let outcome = try Scsi.send(try spec(["28 00 00000020 00 0010 00"], request: 8192), to: .mock(MockGeometry()),
                                    clearUnitAttention: true, pointers: .prp, trace: trace)
        #expect(outcome.status == .good)
        let lines = Self.bodies(trace)
        let cdb = try #require(lines.firstIndex { $0.hasPrefix("SCSI LUN 0 CDB 28 00 00 00 00 20 00 00 10 00, data-in 8192 bytes") })
        // READ(10) of LBA 20h, 16 blocks -> NVM Read, SLBA 32, NLB 15 (0's based); 8 KiB from a page
        // boundary is two pages: PRP1 and PRP2, no list (NVMe Base 2.0, 4.1.1).
        let submit = try #require(lines.firstIndex { $0.hasPrefix("SQ1 submit") && $0.contains("read nsid 1 slba 32 nlb 15 (16 blocks, 8192 bytes), PRP1 0x") })
        #expect(lines[submit].contains(" PRP2 0x") && !lines[submit].contains("list"))
        let complete = try #require(lines.firstIndex { $0.hasPrefix("CQ1 complete SQ1") && $0.contains("(read nsid 1 slba 32 nlb 15): success") })
        let status = try #require(lines.firstIndex { $0 == "SCSI status GOOD, 8192 bytes transferred, residual 0" })
        #expect(cdb < submit && submit < complete && complete < status)
    }

    @Test func theEngineCarriesOutWhatExplainPlans() throws {
        for pointers in ["prp", "sgl"] {
            let trace = CommandTrace()
            let command = try Explain.parse(["--bytes", "10m", "--pointers", pointers] + ExplainCommandTests.mdts512k
                + ExplainCommandTests.kextSet + ["--maxTransferSize", "67633152"])
            let report = try command.explain(trace: trace)
            let reads = Self.bodies(trace).filter { $0.hasPrefix("SQ1 submit") && $0.contains(": read ") }
            #expect(reads.count == report.plan.commands && reads.count == 20)
            for (index, line) in reads.enumerated() {
                #expect(line.contains("slba \(index * 1024) nlb 1023 (1024 blocks, 524288 bytes)"))
                #expect(line.contains(pointers == "prp" ? "PRP list at 0x" : "SGL dataBlock 0x"), "\(line)")
                #expect(line.contains(pointers == "prp" ? ": 127 entries in 1 list page" : "length 524288"), "\(line)")
            }
            let completions = Self.bodies(trace).filter { $0.hasPrefix("CQ1 complete") && $0.contains("(read nsid 1") }
            #expect(completions.count == 20 && completions.allSatisfy { $0.hasSuffix("success (SCT 0h, SC 00h)") })
        }
    }

    @Test func withoutATraceTheEngineGetsTheDeviceItself() throws {
        let plain = try DeviceTarget.mock(MockGeometry()).open()
        #expect(plain.device is MockController)
        let traced = try DeviceTarget.mock(MockGeometry()).open(trace: CommandTrace())
        #expect(traced.device is TracingDevice)
    }

    @Test func traceOptionWritesAFileOrRefusesAMissingFolder() throws {
        let options = try TraceOptions.parse(["--trace", "/nonexistent-folder/trace.txt"])
        #expect(throws: ScsiToolError.self) { try options.open() }
        #expect(try TraceOptions.parse([]).open() == nil)
    }
}

/// The JSON of info and explain parses and carries the fields the text shows.
@Suite struct ReportJSONTests {
    @Test func explainAndInfoJSONParse() throws {
        let explain = try Explain.parse(["--bytes", "1m"]).explain()
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(explain.json.utf8)) as? [String: Any])
        #expect(plan["commands"] as? Int == explain.plan.commands && plan["tasks"] as? Int == 1)
        #expect((plan["constraints"] as? [[String: Any]])?.count == 9)
        let info = try Info.parse([]).collect()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(info.json.utf8)) as? [String: Any])
        #expect(object["serial"] as? String == info.serial && object["doorbellBufferConfig"] as? Bool == info.doorbellBufferConfig)
        #expect((object["namespaces"] as? [[String: Any]])?.count == 1)
    }
}
