import Histogram
import NVMe

/// fio's `--rw`: the I/O pattern.
enum Workload: String, CaseIterable, Sendable {
    case read, write, randread, randwrite, rw, randrw

    var isRandom: Bool { self == .randread || self == .randwrite || self == .randrw }
    var isMixed: Bool { self == .rw || self == .randrw }
    var writes: Bool { self != .read && self != .randread }

    /// Percent of I/Os that read: 100 or 0, or `--rwmixread` for the mixes.
    func readPercent(mix: Int) -> Int { isMixed ? mix : writes ? 0 : 100 }
}

/// What the bench loops need to know about one job (one thread, one queue pair).
struct JobPlan: Sendable {
    var index: Int
    var nsid: UInt32
    var blockSize: Int
    /// The region: its first LBA and the number of whole I/Os it holds.
    var firstLBA: UInt64
    var units: UInt64
    var ioBytes: Int
    /// I/Os in flight (raw path); the block and SCSI paths keep one request at a time.
    var depth: Int
    var workload: Workload
    var readPercent: Int
    var measureLatency: Bool
    /// Stop after this many I/Os (`--number_ios`)...
    var ioLimit: Int?
    /// ...or after this long (`--runtime`), counted from the job's first submission.
    var runtimeNanoseconds: UInt64?
    var verify: VerifyMode?
    var seed: UInt64
    /// Where `--write_hist_log` intervals are counted from, and their length (0: not logging).
    var histogramEpoch: UInt64 = 0
    var histogramInterval: UInt64 = 0

    var blocksPerIO: Int { ioBytes / blockSize }
}

/// The next I/O's place and direction: fio's sequential or random offsets within the region and
/// its read/write mix, from one xorshift state (no allocation, a few instructions per I/O).
struct IOPattern {
    private var random: UInt64
    private var sequential: UInt64 = 0
    let units: UInt64
    let isRandom: Bool
    let readPercent: UInt64

    init(plan: JobPlan) {
        random = plan.seed | 1
        units = max(1, plan.units)
        isRandom = plan.workload.isRandom
        readPercent = UInt64(plan.readPercent)
    }

    @inline(__always) mutating func nextRandom() -> UInt64 {
        random ^= random << 13; random ^= random >> 7; random ^= random << 17
        return random
    }

    /// The unit (I/O-sized piece of the region) of the next I/O.
    @inline(__always) mutating func nextUnit() -> UInt64 {
        if isRandom { return nextRandom() % units }
        let unit = sequential
        let next = sequential &+ 1  // below `units`, a UInt64: cannot wrap
        sequential = next == units ? 0 : next
        return unit
    }

    /// Whether the next I/O writes.
    @inline(__always) mutating func nextIsWrite() -> Bool {
        if readPercent == 100 { return false }
        if readPercent == 0 { return true }
        return nextRandom() % 100 >= readPercent
    }
}

/// One direction's tally in a job.
struct DirectionResult: Sendable {
    var ios = 0
    /// Submit-to-completion latency (absent with --no-latency: the histogram stays empty).
    var latency = DirectionResult.emptyHistogram()

    static func emptyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
    }
}

/// What one job measured.
struct JobResult: Sendable {
    var index = 0
    var read = DirectionResult()
    var write = DirectionResult()
    var failures = 0
    var firstFailure: String?
    var verifyMismatches = 0
    var firstMismatch: String?
    /// Blocks checked by --verify (on reads and in the read-back after writing).
    var verifiedBlocks = 0
    /// Monotonic time of the first submission and of the last completion.
    var startNanoseconds: UInt64 = 0
    var endNanoseconds: UInt64 = 0
    /// The job thread's CPU time over its run.
    var cpuNanoseconds: UInt64 = 0
    /// SQ tail and CQ head doorbell updates the raw loop asked for (nil on the other paths).
    var doorbellUpdates: Int?
    /// Stopped early by Ctrl-C.
    var interrupted = false
    /// `--write_hist_log` intervals: interval number (from the plan's epoch) and its latencies.
    var intervals: [(number: Int, latency: Histogram<UInt64>)] = []

    var elapsedNanoseconds: UInt64 { endNanoseconds > startNanoseconds ? endNanoseconds - startNanoseconds : 0 }
    var ios: Int { read.ios + write.ios }

    mutating func fail(_ message: @autoclosure () -> String) {
        failures += 1
        if firstFailure == nil { firstFailure = message() }
    }

    mutating func mismatch(_ message: @autoclosure () -> String) {
        verifyMismatches += 1
        if firstMismatch == nil { firstMismatch = message() }
    }
}

/// Thread CPU time, for CPU nanoseconds per I/O.
enum ThreadClock {
    static func cpuNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

#if canImport(Glibc)
import Glibc
#endif
