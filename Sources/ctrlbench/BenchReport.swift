import Foundation
import Histogram

/// `--path`: which layer of the driver each I/O goes through.
enum BenchPath: String, CaseIterable, Sendable {
    /// The queue pair: one NVMe command per I/O, `--iodepth` in flight.
    case raw
    /// The block API (`IOQueue.read`/`write`) with the request breaker: any size.
    case block
    /// READ(16)/WRITE(16) tasks through `SCSIHostAdapter`: translation, then the block path.
    case scsi
}

/// What a run was asked to do and what the controller granted.
struct BenchSetup: Sendable {
    var device: String
    var mode: String
    var path: BenchPath
    var workload: Workload
    var readPercent: Int
    var ioBytes: Int
    var iodepthRequested: Int
    var iodepthGranted: Int
    var jobsRequested: Int
    var queuePairsGranted: Int
    var dataPointers: String
    /// Whether the controller took Doorbell Buffer Config (shadow doorbells) for this run.
    var shadowDoorbells = false
    var nsid: UInt32
    var blockSize: Int
    var regionOffset: Int
    var regionBytes: Int
    var verify: VerifyMode?
    var percentiles: [Double]
    var measureLatency: Bool

    /// What the controller granted below what was asked, said in the output and the JSON.
    var notes: [String] {
        var notes: [String] = []
        if queuePairsGranted < jobsRequested {
            notes.append("asked for \(jobsRequested) queue pairs (--numjobs); the controller granted \(queuePairsGranted), "
                         + "so \(queuePairsGranted) job(s) ran")
        }
        if iodepthGranted < iodepthRequested {
            notes.append("asked for iodepth \(iodepthRequested); the controller's queues hold \(iodepthGranted) commands "
                         + "(CAP.MQES), so \(iodepthGranted) were kept in flight")
        }
        return notes
    }
}

/// One direction's figures over a span of wall time, as fio reports them.
struct DirectionSummary {
    var ios: Int
    var bytes: Int
    var runtimeNanoseconds: UInt64
    var latency: Histogram<UInt64>

    var seconds: Double { Double(runtimeNanoseconds) / 1e9 }
    var iops: Double { runtimeNanoseconds > 0 ? Double(ios) / seconds : 0 }
    var bytesPerSecond: Double { runtimeNanoseconds > 0 ? Double(bytes) / seconds : 0 }

    /// Sums `parts` over `span`: wall time from the first submission to the last completion.
    init(_ parts: [DirectionResult], ioBytes: Int, span: UInt64) {
        ios = parts.reduce(0) { $0 + $1.ios }
        bytes = ios * ioBytes
        runtimeNanoseconds = span
        latency = DirectionResult.emptyHistogram()
        for part in parts where part.latency.totalCount > 0 { latency.add(part.latency) }
    }
}

/// A job's (or the group's) figures.
struct JobSummary {
    var name: String
    var read: DirectionSummary
    var write: DirectionSummary
    var failures: Int
    var firstFailure: String?
    var verifyMismatches: Int
    var firstMismatch: String?
    var verifiedBlocks: Int
    var cpuNanoseconds: UInt64
    var doorbellUpdates: Int?
    var interrupted: Bool
    var runtimeNanoseconds: UInt64

    var ios: Int { read.ios + write.ios }
    var cpuNanosecondsPerIO: Double { ios > 0 ? Double(cpuNanoseconds) / Double(ios) : 0 }

    /// Jobs summed over the span from the earliest first submission to the latest last
    /// completion (fio's group reporting): jobs that did not overlap in time are not added up
    /// as if they had.
    init(name: String, jobs: [JobResult], ioBytes: Int) {
        let start = jobs.map(\.startNanoseconds).min() ?? 0
        let end = jobs.map(\.endNanoseconds).max() ?? 0
        let span = end > start ? end - start : 0
        self.name = name
        read = DirectionSummary(jobs.map(\.read), ioBytes: ioBytes, span: span)
        write = DirectionSummary(jobs.map(\.write), ioBytes: ioBytes, span: span)
        failures = jobs.reduce(0) { $0 + $1.failures }
        firstFailure = jobs.compactMap(\.firstFailure).first
        verifyMismatches = jobs.reduce(0) { $0 + $1.verifyMismatches }
        firstMismatch = jobs.compactMap(\.firstMismatch).first
        verifiedBlocks = jobs.reduce(0) { $0 + $1.verifiedBlocks }
        cpuNanoseconds = jobs.reduce(0) { $0 + $1.cpuNanoseconds }
        let doorbells = jobs.compactMap(\.doorbellUpdates)
        doorbellUpdates = doorbells.count == jobs.count && !jobs.isEmpty ? doorbells.reduce(0, +) : nil
        interrupted = jobs.contains(where: \.interrupted)
        runtimeNanoseconds = span
    }
}

/// A finished benchmark: the setup, each job, and the group.
struct BenchReport {
    var setup: BenchSetup
    var jobs: [JobSummary]
    var group: JobSummary
    /// MMIO doorbell writes the device received while the jobs ran (known on the mock only).
    var mmioDoorbellWrites: UInt64?

    var mmioDoorbellWritesPerIO: Double? {
        guard let writes = mmioDoorbellWrites, group.ios > 0 else { return nil }
        return Double(writes) / Double(group.ios)
    }

    init(setup: BenchSetup, results: [JobResult]) {
        self.setup = setup
        let ordered = results.sorted { $0.index < $1.index }
        jobs = ordered.map { JobSummary(name: "job\($0.index)", jobs: [$0], ioBytes: setup.ioBytes) }
        group = JobSummary(name: "group", jobs: ordered, ioBytes: setup.ioBytes)
    }

    /// Exit status: 0 when every I/O succeeded and verified, 2 otherwise.
    var succeeded: Bool { group.failures == 0 && group.verifyMismatches == 0 }

    /// The human-readable report.
    var text: String {
        let s = setup
        var lines = [
            "ctrlbench bench: \(s.device) (\(s.mode)), \(s.workload.rawValue)"
                + (s.workload.isMixed ? " (\(s.readPercent)% reads)" : "")
                + ", bs \(s.ioBytes) B, iodepth \(s.iodepthGranted), \(s.queuePairsGranted) job(s), path \(s.path.rawValue), \(s.dataPointers)",
            "  namespace \(s.nsid) (\(s.blockSize)-byte blocks), region \(s.regionBytes) B at offset \(s.regionOffset)"
                + (s.verify.map { ", verify \($0.rawValue)" } ?? ""),
            "  queue pairs   \(s.jobsRequested) requested, \(s.queuePairsGranted) granted",
        ]
        lines += s.notes.map { "  note: \($0)" }
        if jobs.count > 1 {
            for job in jobs { lines += Self.lines(job, setup: s, indent: "  ") }
            lines.append("  group (all jobs, wall time from the first submission to the last completion):")
        }
        lines += Self.lines(group, setup: s, indent: jobs.count > 1 ? "    " : "  ")
        if let perIO = mmioDoorbellWritesPerIO {
            let counter = s.mode.hasPrefix("mock") ? "counted by the mock" : "counted by the driver"
            let shadow = s.shadowDoorbells ? ", shadow doorbells on" : ""
            lines.append(String(format: "  MMIO doorbell writes per I/O (\(counter)\(shadow)): %.4f", perIO))
        }
        return lines.joined(separator: "\n")
    }

    static func lines(_ job: JobSummary, setup: BenchSetup, indent: String) -> [String] {
        var lines: [String] = []
        let failed = job.failures > 0 ? " (\(job.failures) FAILED: \(job.firstFailure ?? ""))" : ""
        lines.append(indent + String(format: "%@I/Os          %d in %.3f s%@%@", job.name == "group" ? "" : "\(job.name) ",
                                     job.ios, Double(job.runtimeNanoseconds) / 1e9, failed,
                                     job.interrupted ? " (stopped early by Ctrl-C)" : ""))
        for (name, direction) in [("read", job.read), ("write", job.write)] where direction.ios > 0 {
            lines.append(indent + "  \(name): IOPS " + scaled(direction.iops, unit: "")
                         + ", throughput " + scaled(direction.bytesPerSecond, unit: "B/s"))
            if setup.measureLatency, direction.latency.totalCount > 0 {
                let h = direction.latency
                var parts = [String(format: "min %.2f", Double(h.min) / 1000)]
                parts += setup.percentiles.map { String(format: "p%@ %.2f", trimmed($0), Double(h.valueAtPercentile($0)) / 1000) }
                parts.append(String(format: "max %.2f", Double(h.max) / 1000))
                for row in stride(from: 0, to: parts.count, by: 7) {
                    lines.append(indent + (row == 0 ? "    latency (us) " : "                 ")
                                 + parts[row..<min(parts.count, row + 7)].joined(separator: "  "))
                }
            }
        }
        if job.ios > 0 {
            // One figure per line, "IOPS" first on its line: scripts read it (Tests/VM's iops_of).
            lines.append(indent + "  IOPS          " + scaled(job.read.iops + job.write.iops, unit: ""))
            lines.append(indent + "  throughput    " + scaled(job.read.bytesPerSecond + job.write.bytesPerSecond, unit: "B/s"))
            lines.append(indent + String(format: "  CPU per I/O   %.1f ns", job.cpuNanosecondsPerIO))
        }
        if setup.verify != nil {
            lines.append(indent + "  verify: \(job.verifiedBlocks) blocks checked, \(job.verifyMismatches) mismatched"
                         + (job.firstMismatch.map { " (first: \($0))" } ?? ""))
        }
        return lines
    }

    /// 99.9 -> "99.9", 50 -> "50".
    static func trimmed(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    static func scaled(_ value: Double, unit: String) -> String {
        let steps: [(Double, String)] = [(1e9, "G"), (1e6, "M"), (1e3, "k")]
        for (factor, prefix) in steps where value >= factor {
            return String(format: "%.2f %@%@", value / factor, prefix, unit)
        }
        return String(format: "%.0f %@", value, unit)
    }
}
