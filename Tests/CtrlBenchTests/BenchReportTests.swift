import Foundation
import Histogram
import SCSIController
import Testing
@testable import ctrlbench

/// The report's arithmetic, fio's JSON shape and the histogram log, on results made by hand.
@Suite struct BenchReportTests {
    static let setup = BenchSetup(device: "mock", mode: "mock null", path: .raw, workload: .randread, readPercent: 100,
                                  ioBytes: 4096, iodepthRequested: 32, iodepthGranted: 32, jobsRequested: 2,
                                  queuePairsGranted: 2, dataPointers: "SGL", nsid: 1, blockSize: 512, regionOffset: 0,
                                  regionBytes: 1 << 30, verify: nil, percentiles: [50, 99.9], measureLatency: true)

    static func job(_ index: Int, ios: Int, from start: UInt64, to end: UInt64, latencies: [UInt64] = []) -> JobResult {
        var result = JobResult()
        result.index = index
        result.read.ios = ios
        for value in latencies { _ = result.read.latency.record(value) }
        result.startNanoseconds = start
        result.endNanoseconds = end
        result.cpuNanoseconds = UInt64(ios) * 50
        return result
    }

    /// Issue 12, defect 1: jobs that did not run at the same time (more jobs than cores) were
    /// summed and divided by one job's time. Two jobs of 1 M I/Os, one second each, one after
    /// the other: 1 M IOPS for each job and for the group (2 M I/Os over 2 s of wall time).
    @Test func groupIOPSIsOverWallTimeFromFirstSubmitToLastCompletion() {
        let report = BenchReport(setup: Self.setup, results: [
            Self.job(1, ios: 1_000_000, from: 2_000_000_000, to: 3_000_000_000),
            Self.job(0, ios: 1_000_000, from: 1_000_000_000, to: 2_000_000_000),
        ])
        #expect(report.jobs.map(\.name) == ["job0", "job1"])
        #expect(report.jobs.allSatisfy { abs($0.read.iops - 1e6) < 1 })
        #expect(report.group.runtimeNanoseconds == 2_000_000_000)
        #expect(abs(report.group.read.iops - 1e6) < 1, "\(report.group.read.iops)")
        #expect(abs(report.group.read.bytesPerSecond - 4096e6) < 1)
        // The text keeps "IOPS" first on its own line, which scripts read (Tests/VM's iops_of).
        let lines = report.text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("IOPS          1.00 M") && lines.contains("throughput    4.10 GB/s"), "\(report.text)")
        // Overlapping jobs: both in the same second give twice the rate.
        let together = BenchReport(setup: Self.setup, results: [
            Self.job(0, ios: 1_000_000, from: 0, to: 1_000_000_000), Self.job(1, ios: 1_000_000, from: 0, to: 1_000_000_000),
        ])
        #expect(abs(together.group.read.iops - 2e6) < 1)
    }

    /// fio's field names and units: bw in KiB/s, runtime in ms, latencies in ns, percentiles
    /// keyed with six decimals.
    @Test func jsonHasFiosShape() throws {
        let report = BenchReport(setup: Self.setup, results: [
            Self.job(0, ios: 2000, from: 0, to: 500_000_000, latencies: [1000, 2000, 3000, 4000]),
        ])
        let root = try #require(JSONSerialization.jsonObject(with: Data(report.jsonText.utf8)) as? [String: Any])
        let jobs = try #require(root["jobs"] as? [[String: Any]])
        #expect(jobs.count == 1 && jobs[0]["jobname"] as? String == "job0")
        let read = try #require(jobs[0]["read"] as? [String: Any])
        #expect(read["io_bytes"] as? Int == 2000 * 4096)
        #expect(read["total_ios"] as? Int == 2000)
        #expect(read["runtime"] as? Int == 500)
        #expect(read["iops"] as? Double == 4000)
        #expect(read["bw"] as? Int == 4000 * 4096 / 1024)
        let clat = try #require(read["clat_ns"] as? [String: Any])
        #expect(clat["min"] as? Int == 1000 && clat["N"] as? Int == 4)
        #expect(abs((clat["mean"] as? Double ?? 0) - 2500) < 5)
        #expect(clat["stddev"] is Double)
        let percentiles = try #require(clat["percentile"] as? [String: Any])
        #expect(Set(percentiles.keys) == ["50.000000", "99.900000"])
        #expect(read["lat_ns"] is [String: Any])
        let write = try #require(jobs[0]["write"] as? [String: Any])
        #expect(write["total_ios"] as? Int == 0 && write["iops"] as? Double == 0)
        #expect(root["group"] is [String: Any])
        let ours = try #require(root["ctrlbench"] as? [String: Any])
        #expect(ours["data_pointers"] as? String == "SGL" && ours["device"] as? String == "mock")
        #expect(ours["cpu_ns_per_io"] as? Double == 50)
    }

    /// The interval log: HdrHistogram's header lines and one line per interval whose payload
    /// decodes (V2 cookies, stored zlib, ZigZag LEB128 counts) back to the recorded counts.
    @Test func histogramLogDecodesToTheRecordedCounts() throws {
        var first = JobResult()
        var h = DirectionResult.emptyHistogram()
        for value: UInt64 in [100, 100, 5000, 1_000_000] { _ = h.record(value) }
        first.intervals = [(0, h)]
        var second = JobResult()
        second.intervals = [(0, h), (2, h)]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hist-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try HistogramLog.write([first, second], to: path, epoch: MonotonicClock.nanoseconds(), intervalNanoseconds: 500_000_000)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines[0] == "#[Histogram log format version 1.3]")
        #expect(lines[1].hasPrefix("#[StartTime: "))
        #expect(lines[2] == "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"")
        #expect(lines.count == 5)
        let fields = lines[3].split(separator: ",")
        #expect(fields[0] == "0.000" && fields[1] == "0.500" && fields[2] == "1.000", "largest: 1 ms")
        #expect(lines[4].hasPrefix("1.000,0.500,"))
        let bytes = try #require(Data(base64Encoded: String(fields[3])).map(Array.init))
        #expect(Array(bytes[0..<4]) == [0x1C, 0x84, 0x93, 0x14])
        // zlib header, one final stored block, then the V2 encoding.
        #expect(bytes[8] == 0x78 && bytes[10] == 1)
        let plain = Array(bytes[15..<(bytes.count - 4)])
        #expect(Array(plain[0..<4]) == [0x1C, 0x84, 0x93, 0x13])
        #expect(plain[15] == 3, "three significant digits")
        var total: Int64 = 0
        var index = 40
        while index < plain.count {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let byte = plain[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { break }
            }
            let decoded = Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
            if decoded > 0 { total += decoded }
        }
        #expect(total == 8, "two jobs' interval 0 merged: 2 x 4 values")
    }

    /// The raw loop's recorder keeps HdrHistogram's buckets: drained, it reads like a Histogram
    /// that recorded the same values; beyond an hour it clamps to the last bucket.
    @Test func latencyCountsKeepTheHistogramsBuckets() {
        #expect(LatencyCounts.layoutMatches)
        let counts = LatencyCounts()
        defer { counts.deallocate() }
        var direct = DirectionResult.emptyHistogram()
        for value: UInt64 in [0, 1, 100, 2047, 2048, 5000, 123_456, 9_999_999, 3_000_000_000_000] {
            counts.record(value)
            _ = direct.record(value)
        }
        var drained = DirectionResult.emptyHistogram()
        counts.drain(into: &drained)
        #expect(drained.totalCount == 9)
        for percentile in [0.0, 10, 30, 50, 70, 90, 99.9, 100] {
            // The same bucket (HdrHistogram's 0.1% at three digits): the drained histogram knows a
            // bucket, not the exact largest value, which Histogram clamps its top percentiles to.
            #expect(direct.valuesAreEquivalent(drained.valueAtPercentile(percentile), direct.valueAtPercentile(percentile)),
                    "p\(percentile)")
        }
        counts.record(5_000_000_000_000)
        var clamped = DirectionResult.emptyHistogram()
        counts.drain(into: &clamped)
        #expect(clamped.totalCount == 1 && clamped.max >= 3_500_000_000_000)
    }

    /// The progress line (fio's status line) and its silence off a terminal.
    @Test func progressLine() throws {
        #expect(ProgressLine(jobs: 1, ioBytes: 4096, totalIOs: nil, runtimeNanoseconds: 10_000_000_000, letter: "r",
                             forceTerminal: false) == nil)
        let line = try #require(ProgressLine(jobs: 2, ioBytes: 4096, totalIOs: 1000, runtimeNanoseconds: nil, letter: "r",
                                             forceTerminal: true))
        let text = line.line(completed: 500, now: DispatchTime.now().uptimeNanoseconds + 1_000_000_000)
        #expect(text.hasPrefix("Jobs: 2: [r(2)][50.0%][r="), "\(text)")
        #expect(text.contains(" IOPS][elapsed ") && text.contains("[eta 00m:0"), "\(text)")
    }
}
