import Foundation
import Testing
@testable import ctrlbench

/// `bench --trace`: the option shared with scsi and explain reaches bench's device, so every I/O
/// the loop submits is written out with its completion, and the run's figures stay the same.
@Suite struct BenchTraceTests {
    @Test func everyBenchIOIsTracedWithItsCompletion() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bench-trace-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let report = try BenchRunTests.run(["--rw", "randread", "--bs", "4k", "--iodepth", "4",
                                             "--number_ios", "64", "--trace", path])
        #expect(report.group.ios == 64)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        // 4 KiB on the mock's 512-byte blocks: NLB 7 (0's based, NVM Command Set 3.3.4).
        let reads = lines.filter { $0.contains("SQ1 submit") && $0.contains(": read nsid 1 slba ") }
        #expect(reads.count == 64)
        #expect(reads.allSatisfy { $0.contains(" nlb 7 (8 blocks, 4096 bytes)") })
        let completions = lines.filter { $0.contains("CQ1 complete SQ1") && $0.contains("(read nsid 1") }
        #expect(completions.count == 64)
        #expect(completions.allSatisfy { $0.contains(": success (SCT 0h, SC 00h)") })
        // stop() flushes before the shutdown handshake, and the trace shows it.
        #expect(lines.contains { $0.contains("SQ1 submit") && $0.contains("flush") })
    }
}
