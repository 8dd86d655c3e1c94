import Foundation
import Histogram

/// `--output-format json`: fio's JSON shape, so a reader of fio's output finds its fields where
/// fio puts them (`jobs[].read.iops`, `jobs[].read.clat_ns.percentile["99.900000"]`, ...), with
/// the group totals in `group` and ctrlbench's own figures in `ctrlbench`.
extension BenchReport {
    var json: [String: Any] {
        let s = setup
        var ours: [String: Any] = [
            "device": s.device,
            "mode": s.mode,
            "path": s.path.rawValue,
            "data_pointers": s.dataPointers,
            "shadow_doorbells": s.shadowDoorbells,
            "namespace": Int(s.nsid),
            "block_size": s.blockSize,
            "region": ["offset": s.regionOffset, "size": s.regionBytes],
            "queue_pairs": ["requested": s.jobsRequested, "granted": s.queuePairsGranted],
            "iodepth": ["requested": s.iodepthRequested, "granted": s.iodepthGranted],
            "notes": s.notes,
            "cpu_ns_per_io": group.cpuNanosecondsPerIO,
        ]
        if let updates = Self.doorbellUpdatesPerIO(group) { ours["doorbell_updates_per_io"] = updates }
        if let verify = s.verify { ours["verify"] = verify.rawValue }
        if let perIO = mmioDoorbellWritesPerIO { ours["mmio_doorbell_writes_per_io"] = perIO }
        var global: [String: Any] = [
            "rw": s.workload.rawValue, "bs": String(s.ioBytes), "iodepth": String(s.iodepthGranted),
            "numjobs": String(s.queuePairsGranted), "offset": String(s.regionOffset), "size": String(s.regionBytes),
            "percentile_list": s.percentiles.map { BenchReport.trimmed($0) }.joined(separator: ":"),
        ]
        if s.workload.isMixed { global["rwmixread"] = String(s.readPercent) }
        let now = Date()
        return [
            "fio version": "ctrlbench",
            "timestamp": Int(now.timeIntervalSince1970),
            "timestamp_ms": Int(now.timeIntervalSince1970 * 1000),
            "time": ISO8601DateFormatter().string(from: now),
            "global options": global,
            "jobs": jobs.map { Self.job($0, setup: s) },
            "group": Self.job(group, setup: s),
            "ctrlbench": ours,
        ]
    }

    var jsonText: String {
        guard let data = try? JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func doorbellUpdatesPerIO(_ job: JobSummary) -> Double? {
        guard let updates = job.doorbellUpdates, job.ios > 0 else { return nil }
        return Double(updates) / Double(job.ios)
    }

    static func job(_ job: JobSummary, setup: BenchSetup) -> [String: Any] {
        var entry: [String: Any] = [
            "jobname": job.name,
            "groupid": 0,
            "error": job.failures > 0 || job.verifyMismatches > 0 ? 1 : 0,
            "job_runtime": job.runtimeNanoseconds / 1_000_000,
            "read": direction(job.read, setup: setup),
            "write": direction(job.write, setup: setup),
            "total_ios": job.ios,
            "failures": job.failures,
            "cpu_ns_per_io": job.cpuNanosecondsPerIO,
            "interrupted": job.interrupted,
        ]
        if let failure = job.firstFailure { entry["first_failure"] = failure }
        if let updates = doorbellUpdatesPerIO(job) { entry["doorbell_updates_per_io"] = updates }
        if setup.verify != nil {
            var verify: [String: Any] = ["blocks_checked": job.verifiedBlocks, "mismatches": job.verifyMismatches]
            if let first = job.firstMismatch { verify["first_mismatch"] = first }
            entry["verify"] = verify
        }
        return entry
    }

    /// One direction: fio's field names and units (bw in KiB/s, runtime in ms, latency in ns).
    static func direction(_ d: DirectionSummary, setup: BenchSetup) -> [String: Any] {
        let latency = latencyObject(d.latency, percentiles: setup.measureLatency ? setup.percentiles : [])
        return [
            "io_bytes": d.bytes,
            "io_kbytes": d.bytes / 1024,
            "bw_bytes": Int(d.bytesPerSecond),
            "bw": Int(d.bytesPerSecond / 1024),
            "iops": d.iops,
            "runtime": d.ios > 0 ? Int(d.runtimeNanoseconds / 1_000_000) : 0,
            "total_ios": d.ios,
            "short_ios": 0,
            "drop_ios": 0,
            // One measurement: from the clock read that stamps the submission batch to the poll
            // pass that saw the completion; submission latency is not measured apart.
            "clat_ns": latency,
            "lat_ns": latency,
        ]
    }

    static func latencyObject(_ h: Histogram<UInt64>, percentiles: [Double]) -> [String: Any] {
        guard h.totalCount > 0 else { return ["min": 0, "max": 0, "mean": 0.0, "stddev": 0.0, "N": 0] }
        var object: [String: Any] = ["min": h.min, "max": h.max, "mean": h.mean, "stddev": h.stdDeviation, "N": h.totalCount]
        if !percentiles.isEmpty {
            object["percentile"] = Dictionary(uniqueKeysWithValues: percentiles.map {
                (String(format: "%f", $0), h.valueAtPercentile($0))
            })
        }
        return object
    }
}
