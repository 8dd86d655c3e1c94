import DMAMapper
import Histogram
import NVMe
import SCSIController
import Synchronization

/// What the raw path's loop needs of a queue pair. `QueuePair` is the real one; tests script
/// completions with their own to reach cases a well-behaved mock never produces.
protocol BenchQueue {
    var hasFreeSlot: Bool { get }
    func submit(_ command: SubmissionQueueEntry, dataIOVA: UInt64, dataLength: Int, tag: UInt64) -> SubmitResult
    func ringDoorbell()
    /// Hands each completion's tag, status and submission time (`Completion.submittedAt`) to
    /// `handler`; returns how many there were.
    func pollCompletions(_ handler: (UInt64, CompletionStatus, UInt64) -> Void) -> Int
    /// Throws the named error when the device can no longer complete anything (gone, fatal).
    func checkDevice() throws(ControllerError)
}

extension BenchQueue {
    /// A scripted queue's device never goes away.
    func checkDevice() throws(ControllerError) {}
}

extension QueuePair: BenchQueue {
    @inline(__always) func pollCompletions(_ handler: (UInt64, CompletionStatus, UInt64) -> Void) -> Int {
        poll { handler($0.tag, $0.status, $0.submittedAt) }
    }
}

/// Shared by every job of a run: the stop request (Ctrl-C, or a test).
final class RunControl: Sendable {
    let stopRequested = Atomic<Bool>(false)
    func requestStop() { stopRequested.store(true, ordering: .relaxed) }
}

/// One job's completed I/Os, published once per poll pass for the progress line.
final class JobProgress: Sendable {
    let completed = Atomic<Int>(0)
}

/// The raw path, fio's engine loop on one queue pair: keep `depth` commands in flight, one
/// command per I/O, one SQ doorbell per batch, one poll pass per loop.
///
/// Clock reads (when timing or bounded by a runtime): one per poll pass, just before it, as SPDK's
/// perf does. It times every completion of the pass against its batch's submission time, which
/// the queue pair read once per batch anyway (`Completion.submittedAt`), and is checked against
/// the deadline.
/// The deadline and the stop request are checked once per pass, so no pattern of completion
/// counts can skip them. After `idlePassesBeforeDeviceCheck` passes in a row with commands in
/// flight and none completing, the device is looked at (as the engine's watchdog does): a device
/// that is gone or failed ends the job with the engine's named error, abandoning what it holds.
struct RawJobRunner<Queue: BenchQueue> {
    let queue: Queue
    let plan: JobPlan
    let control: RunControl
    let progress: JobProgress
    /// Idle passes (a poll and a clock read each) between two looks at the device.
    static var idlePassesBeforeDeviceCheck: Int { 4096 }

    func run(buffer: UnsafeMutableRawPointer, bufferIOVA: UInt64, verifier: Verifier?) -> JobResult {
        // Reads without --verify, the shape every comparison with fio uses, get a loop whose
        // direction and verify branches are compiled away.
        // Latency timing is fixed per loop too, so an untimed run carries none of it.
        switch (verifier == nil && plan.readPercent == 100, plan.measureLatency) {
        case (true, true): run(ReadsOnly.self, Timed.self, buffer: buffer, bufferIOVA: bufferIOVA, verifier: nil)
        case (true, false): run(ReadsOnly.self, Untimed.self, buffer: buffer, bufferIOVA: bufferIOVA, verifier: nil)
        case (false, true): run(AnyShape.self, Timed.self, buffer: buffer, bufferIOVA: bufferIOVA, verifier: verifier)
        case (false, false): run(AnyShape.self, Untimed.self, buffer: buffer, bufferIOVA: bufferIOVA, verifier: verifier)
        }
    }

    private func run<Shape: LoopShape, Timing: LoopTiming>(_: Shape.Type, _: Timing.Type, buffer: UnsafeMutableRawPointer,
                                                          bufferIOVA: UInt64, verifier: Verifier?) -> JobResult {
        var result = JobResult()
        result.index = plan.index
        var pattern = IOPattern(plan: plan)
        let queue = self.queue
        let depth = plan.depth
        let ioBytes = plan.ioBytes
        let blocksPerIO = plan.blocksPerIO
        let firstLBA = plan.firstLBA
        let measure = Timing.measured
        let logging = measure && plan.histogramInterval > 0
        let clocked = measure || plan.runtimeNanoseconds != nil
        let checksEveryRead = !plan.workload.writes
        // The loop is fio's part, not the driver's: a raw free-slot array keeps it lean.
        let freeSlots = UnsafeMutablePointer<Int>.allocate(capacity: depth)
        // Latencies go to raw bucket counts (LatencyCounts), drained into histograms at the end.
        let readLatency = LatencyCounts()
        let writeLatency = LatencyCounts()
        let intervalLatency = LatencyCounts()
        defer {
            freeSlots.deallocate()
            readLatency.deallocate(); writeLatency.deallocate(); intervalLatency.deallocate()
        }
        for slot in 0..<depth { freeSlots[slot] = depth - 1 - slot }
        var freeCount = depth
        var commands = (read: SubmissionQueueEntry.io(.read, nsid: plan.nsid, lba: 0, blocks: blocksPerIO),
                        write: SubmissionQueueEntry.io(.write, nsid: plan.nsid, lba: 0, blocks: blocksPerIO))
        var intervalEnd = plan.histogramEpoch &+ plan.histogramInterval
        let limit = plan.ioLimit ?? .max
        // Counts below are bounded by `limit` or by the run's length: wrapping arithmetic only
        // drops overflow checks that cannot fire.
        var submitted = 0
        var completed = 0
        // Writes are counted where the write branch is taken anyway, so reads pay nothing.
        var writesSubmitted = 0
        var failedWrites = 0
        var failedReads = 0
        var doorbells = 0
        var idlePasses = 0
        var stop = false
        let cpuStart = ThreadClock.cpuNanoseconds()
        var now = MonotonicClock.nanoseconds()
        result.startNanoseconds = now
        let deadline = plan.runtimeNanoseconds.map { now &+ $0 } ?? .max
        while completed < submitted || !stop {
            if !stop, now >= deadline || control.stopRequested.load(ordering: .relaxed) {
                stop = true
                result.interrupted = now < deadline
            }
            // No hasFreeSlot check: at most `depth` (<= the queue's capacity) are outstanding, and
            // submit refuses a full queue by itself.
            let submittedBefore = submitted
            while !stop, freeCount > 0 {
                let slot = freeSlots[freeCount &- 1]
                let unit = pattern.nextUnit()
                let isWrite = Shape.readsOnly ? false : pattern.nextIsWrite()
                let lba = firstLBA &+ unit &* UInt64(truncatingIfNeeded: blocksPerIO)
                var tag = UInt64(truncatingIfNeeded: slot) | unit << RawTag.unitShift
                if !Shape.readsOnly, let verifier {
                    if isWrite { verifier.fill(buffer + slot &* ioBytes, lba: lba, count: blocksPerIO) }
                    else if checksEveryRead || verifier.wasWritten(unit) { tag |= RawTag.check }
                }
                let dataIOVA = bufferIOVA &+ UInt64(truncatingIfNeeded: slot &* ioBytes)
                let submission: SubmitResult
                if isWrite {
                    commands.write.startingLBA = lba
                    submission = queue.submit(commands.write, dataIOVA: dataIOVA, dataLength: ioBytes, tag: tag | RawTag.write)
                    if submission == .submitted { writesSubmitted &+= 1 }
                } else {
                    commands.read.startingLBA = lba
                    submission = queue.submit(commands.read, dataIOVA: dataIOVA, dataLength: ioBytes, tag: tag)
                }
                guard _fastPath(submission == .submitted) else {
                    // A closed queue (controller stopped or lost) or a refused size ends the run
                    // with the reason; a full queue waits for the next poll.
                    if submission != .queueFull {
                        result.fail("submission refused: \(submission)")
                        stop = true
                    }
                    break
                }
                freeCount &-= 1
                submitted &+= 1
                if submitted >= limit { stop = true }
            }
            if submitted != submittedBefore {
                queue.ringDoorbell()
                doorbells &+= 1
            }
            if clocked { now = MonotonicClock.nanoseconds() }
            let handled = queue.pollCompletions { tag, status, submittedAt in
                let slot = Int(truncatingIfNeeded: tag & RawTag.slotMask)
                let isWrite = Shape.readsOnly ? false : tag & RawTag.write != 0
                freeSlots[freeCount] = slot
                freeCount &+= 1
                guard _fastPath(status.isSuccess) else {
                    stop = true  // fio's default: the first error ends the job (in-flight I/Os still complete)
                    if isWrite { failedWrites &+= 1 } else { failedReads &+= 1 }
                    Self.noteFailure(tag: tag, status: status, isWrite: isWrite, firstLBA: firstLBA, blocksPerIO: blocksPerIO,
                                     into: &result)
                    return
                }
                if measure {
                    let latency = now &- submittedAt
                    if isWrite { writeLatency.record(latency) } else { readLatency.record(latency) }
                    if logging { intervalLatency.record(latency) }
                }
                if !Shape.readsOnly, let verifier {
                    let unit = tag >> RawTag.unitShift
                    if isWrite {
                        verifier.markWritten(unit)
                    } else if tag & RawTag.check != 0 {
                        verifier.check(buffer + slot &* ioBytes, lba: firstLBA &+ unit &* UInt64(truncatingIfNeeded: blocksPerIO),
                                       blocks: blocksPerIO, into: &result)
                    }
                }
            }
            if handled > 0 {
                completed &+= handled
                doorbells &+= 1
                idlePasses = 0
                progress.completed.store(completed, ordering: .relaxed)
            } else if completed < submitted {
                idlePasses &+= 1
                if idlePasses == Self.idlePassesBeforeDeviceCheck {
                    idlePasses = 0
                    do { try queue.checkDevice() } catch {
                        // Nothing in flight will complete: end here rather than wait forever.
                        result.fail("\(error) (\(submitted - completed) I/Os in flight abandoned)")
                        break
                    }
                }
            }
            if logging, now >= intervalEnd {
                var interval = DirectionResult.emptyHistogram()
                intervalLatency.drain(into: &interval)
                result.intervals.append((Int((intervalEnd - plan.histogramEpoch) / plan.histogramInterval) - 1, interval))
                intervalEnd = plan.histogramEpoch &+ ((now - plan.histogramEpoch) / plan.histogramInterval + 1) * plan.histogramInterval
            }
        }
        result.endNanoseconds = MonotonicClock.nanoseconds()
        // Every submitted command has completed by now (the loop drains them).
        result.write.ios = writesSubmitted - failedWrites
        // Abandoned writes were counted at submission, so after a device loss this may undercount reads.
        result.read.ios = max(0, completed - writesSubmitted - failedReads)
        result.cpuNanoseconds = ThreadClock.cpuNanoseconds() - cpuStart
        result.doorbellUpdates = doorbells
        readLatency.drain(into: &result.read.latency)
        writeLatency.drain(into: &result.write.latency)
        var interval = DirectionResult.emptyHistogram()
        intervalLatency.drain(into: &interval)
        if logging, interval.totalCount > 0 {
            result.intervals.append((Int((intervalEnd - plan.histogramEpoch) / plan.histogramInterval) - 1, interval))
        }
        return result
    }

    /// A failed command's report, kept out of the loop: its message is built only here.
    @inline(never)
    static func noteFailure(tag: UInt64, status: CompletionStatus, isWrite: Bool, firstLBA: UInt64, blocksPerIO: Int,
                            into result: inout JobResult) {
        result.fail("\(isWrite ? "Write" : "Read") at LBA \(firstLBA + (tag >> RawTag.unitShift) * UInt64(blocksPerIO)): \(status)")
    }
}

/// A command's tag: its buffer slot, whether it writes, whether its data is to be checked,
/// and its unit in the region, so nothing per slot needs storing (the submit time comes back
/// with the completion).
enum RawTag {
    static let slotMask: UInt64 = 0xFFFF
    static let write: UInt64 = 1 << 16
    static let check: UInt64 = 1 << 17
    static let unitShift: UInt64 = 18
    /// Units above this do not fit the tag (2^46 I/Os: 32 PiB at 512 bytes each).
    static let maximumUnits: UInt64 = 1 << 46
}

/// Which branches a raw loop needs, fixed at compile time per specialization.
protocol LoopShape { static var readsOnly: Bool { get } }
/// Reads only, nothing verified.
enum ReadsOnly: LoopShape { static var readsOnly: Bool { true } }
/// Any workload, with or without --verify.
enum AnyShape: LoopShape { static var readsOnly: Bool { false } }

/// Whether a raw loop times each I/O (`--no-latency` turns it off), fixed per specialization.
protocol LoopTiming { static var measured: Bool { get } }
/// Submit-to-completion latency recorded: one clock read per poll pass serves every I/O of it.
enum Timed: LoopTiming { static var measured: Bool { true } }
/// No latency: no clock read unless a runtime bound needs one.
enum Untimed: LoopTiming { static var measured: Bool { false } }
