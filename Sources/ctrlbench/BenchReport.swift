import Foundation
import Histogram

/// A finished benchmark: the settings and what every queue measured, summed.
struct BenchReport: Codable, Sendable {
    var device: String
    var mode: String
    var workload: String
    var ioBytes: Int
    var depth: Int
    var queues: Int
    var dataPointers: String
    var ios: Int
    var failures: Int
    var firstFailure: String?
    var seconds: Double
    var iops: Double
    var bytesPerSecond: Double
    /// Wall time one queue spent per I/O (all queues run in parallel, each on its own thread).
    var nanosecondsPerIOPerQueue: Double
    /// Submit-to-completion latency percentiles in nanoseconds; absent with --no-latency.
    var latencyNanoseconds: [String: UInt64]?

    init(device: String, mode: String, workload: Workload, ioBytes: Int, depth: Int, dataPointers: String,
         results: [QueueRunResult]) {
        self.device = device
        self.mode = mode
        self.workload = workload.rawValue
        self.ioBytes = ioBytes
        self.depth = depth
        queues = results.count
        self.dataPointers = dataPointers
        ios = results.reduce(0) { $0 + $1.ios }
        failures = results.reduce(0) { $0 + $1.failures }
        firstFailure = results.compactMap(\.firstFailure).first
        let longest = results.map(\.elapsedNanoseconds).max() ?? 1
        seconds = Double(longest) / 1e9
        iops = seconds > 0 ? Double(ios) / seconds : 0
        bytesPerSecond = iops * Double(ioBytes)
        let perQueue = results.map { $0.ios > 0 ? Double($0.elapsedNanoseconds) / Double($0.ios) : 0 }
        nanosecondsPerIOPerQueue = perQueue.isEmpty ? 0 : perQueue.reduce(0, +) / Double(perQueue.count)
        var merged = results.first?.latency
        for result in results.dropFirst() { merged?.add(result.latency) }
        if let merged, merged.totalCount > 0 {
            latencyNanoseconds = Dictionary(uniqueKeysWithValues: [
                ("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9), ("p99.99", 99.99),
            ].map { ($0.0, merged.valueAtPercentile($0.1)) } + [("min", merged.min), ("max", merged.max)])
        }
    }

    /// The human-readable report.
    var text: String {
        var lines = [
            "ctrlbench bench: \(device) (\(mode)), \(workload), \(ioBytes) B, iodepth \(depth), \(queues) queue(s), \(dataPointers)",
            String(format: "  I/Os          %d in %.3f s%@", ios, seconds, failures > 0 ? " (\(failures) FAILED: \(firstFailure ?? ""))" : ""),
            "  IOPS          " + Self.scaled(iops, unit: ""),
            "  throughput    " + Self.scaled(bytesPerSecond, unit: "B/s"),
            String(format: "  time per I/O  %.1f ns per queue", nanosecondsPerIOPerQueue),
        ]
        if let latency = latencyNanoseconds {
            let order = ["min", "p50", "p90", "p99", "p99.9", "p99.99", "max"]
            lines.append("  latency (us)  " + order.compactMap { key in
                latency[key].map { String(format: "%@ %.2f", key, Double($0) / 1000) }
            }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    static func scaled(_ value: Double, unit: String) -> String {
        let steps: [(Double, String)] = [(1e9, "G"), (1e6, "M"), (1e3, "k")]
        for (factor, prefix) in steps where value >= factor {
            return String(format: "%.2f %@%@", value / factor, prefix, unit)
        }
        return String(format: "%.0f %@", value, unit)
    }
}
