import Foundation
import NVMe
import SCSIController
import Synchronization
import Testing
@testable import ctrlbench

/// A queue whose completions a test scripts: while the host keeps submitting, each poll
/// completes all but the newest outstanding command (as a device that is always one command
/// behind); a poll after no new submission completes everything.
final class OneBehindQueue: BenchQueue, @unchecked Sendable {
    let capacity: Int
    private var outstanding: [UInt64] = []
    private var submittedSincePoll = false

    init(capacity: Int) { self.capacity = capacity }

    var hasFreeSlot: Bool { outstanding.count < capacity }

    func submit(_ command: SubmissionQueueEntry, dataIOVA: UInt64, dataLength: Int, tag: UInt64) -> SubmitResult {
        guard hasFreeSlot else { return .queueFull }
        outstanding.append(tag)
        submittedSincePoll = true
        return .submitted
    }

    func ringDoorbell() {}

    func pollCompletions(_ handler: (UInt64, CompletionStatus, UInt64) -> Void) -> Int {
        let count = submittedSincePoll ? max(0, outstanding.count - 1) : outstanding.count
        submittedSincePoll = false
        let done = outstanding.prefix(count)
        outstanding.removeFirst(count)
        for tag in done { handler(tag, CompletionStatus(rawValue: 0), 0) }
        return count
    }
}

/// A queue that completes everything at once, failing the command whose tag is `failing`'s
/// n-th submission with Unrecovered Read Error.
final class FailingQueue: BenchQueue, @unchecked Sendable {
    private var outstanding: [UInt64] = []
    private var submissions = 0
    let failAt: Int
    private var failedTag: UInt64?

    init(failAt: Int) { self.failAt = failAt }

    var hasFreeSlot: Bool { outstanding.count < 4 }

    func submit(_ command: SubmissionQueueEntry, dataIOVA: UInt64, dataLength: Int, tag: UInt64) -> SubmitResult {
        guard hasFreeSlot else { return .queueFull }
        submissions += 1
        if submissions == failAt { failedTag = tag }
        outstanding.append(tag)
        return .submitted
    }

    func ringDoorbell() {}

    func pollCompletions(_ handler: (UInt64, CompletionStatus, UInt64) -> Void) -> Int {
        let done = outstanding
        outstanding.removeAll(keepingCapacity: true)
        for tag in done {
            let failed = tag == failedTag
            if failed { failedTag = nil }
            handler(tag, failed ? CompletionStatus(.unrecoveredReadError) : CompletionStatus(rawValue: 0), 0)
        }
        return done.count
    }
}

/// A device that completes the first `answered` commands and then stops answering, the way a
/// removed function does (or one whose removal the kernel announced: its registers read all ones
/// and its doorbells go nowhere); `checkDevice` says so once it has stopped.
final class VanishingQueue: BenchQueue, @unchecked Sendable {
    private var outstanding: [UInt64] = []
    private var answered: Int
    private(set) var deviceChecks = 0

    init(answered: Int) { self.answered = answered }

    var hasFreeSlot: Bool { outstanding.count < 4 }

    func submit(_ command: SubmissionQueueEntry, dataIOVA: UInt64, dataLength: Int, tag: UInt64) -> SubmitResult {
        guard hasFreeSlot else { return .queueFull }
        outstanding.append(tag)
        return .submitted
    }

    func ringDoorbell() {}

    func pollCompletions(_ handler: (UInt64, CompletionStatus, UInt64) -> Void) -> Int {
        let count = min(answered, outstanding.count)
        answered -= count
        for tag in outstanding.prefix(count) { handler(tag, CompletionStatus(rawValue: 0), 0) }
        outstanding.removeFirst(count)
        return count
    }

    func checkDevice() throws(ControllerError) {
        deviceChecks += 1
        if answered == 0 { throw .deviceGone(during: "I/O on queue 1") }
    }
}

@Suite struct BenchLoopTests {
    static func plan(depth: Int, runtime: UInt64?, ios: Int? = nil) -> JobPlan {
        JobPlan(index: 0, nsid: 1, blockSize: 512, firstLBA: 0, units: 1000, ioBytes: 512, depth: depth,
                workload: .randread, readPercent: 100, measureLatency: false, ioLimit: ios,
                runtimeNanoseconds: runtime, verify: nil, seed: 1)
    }

    /// Runs `body` on its own thread and waits at most `seconds` for it.
    static func finishes(within seconds: Int, _ body: @escaping @Sendable () -> JobResult) -> JobResult? {
        let result = Mutex<JobResult?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread { result.withLock { $0 = body() }; done.signal() }.start()
        guard done.wait(timeout: .now() + .seconds(seconds)) == .success else { return nil }
        return result.withLock { $0 }
    }

    /// Issue 11, item 2: the deadline was looked at only when `submitted % 1024 == 0`. With 33 in
    /// flight and a device one command behind, every pass submits 32 after the first 33, so the
    /// count is always odd and the old check never fired: a 50 ms run never ended.
    @Test func theDeadlineEndsARunWhateverCompletesPerPoll() throws {
        let queue = OneBehindQueue(capacity: 33)
        let plan = Self.plan(depth: 33, runtime: 50_000_000)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 33 * 512, alignment: 4096)
        defer { buffer.deallocate() }
        let address = UInt(bitPattern: buffer)
        let result = try #require(Self.finishes(within: 20) {
            RawJobRunner(queue: queue, plan: plan, control: RunControl(), progress: JobProgress())
                .run(buffer: UnsafeMutableRawPointer(bitPattern: address)!, bufferIOVA: 0x10000, verifier: nil)
        }, "a 50 ms run was still going after 20 s")
        #expect(result.elapsedNanoseconds >= 50_000_000)
        #expect(result.elapsedNanoseconds < 5_000_000_000, "\(result.elapsedNanoseconds) ns for a 50 ms run")
        #expect(result.ios > 33 && result.failures == 0)
        #expect(!result.interrupted)
    }

    @Test func aStopRequestEndsTheRunAfterTheInFlightCommandsComplete() throws {
        let queue = OneBehindQueue(capacity: 8)
        let control = RunControl()
        let plan = Self.plan(depth: 8, runtime: 60_000_000_000)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 8 * 512, alignment: 4096)
        defer { buffer.deallocate() }
        let address = UInt(bitPattern: buffer)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) { control.requestStop() }
        let result = try #require(Self.finishes(within: 20) {
            RawJobRunner(queue: queue, plan: plan, control: control, progress: JobProgress())
                .run(buffer: UnsafeMutableRawPointer(bitPattern: address)!, bufferIOVA: 0x10000, verifier: nil)
        })
        #expect(result.interrupted)
        #expect(queue.hasFreeSlot && queue.pollCompletions { _, _, _ in } == 0, "nothing left in flight")
        #expect(result.ios > 0)
    }

    /// A failed command ends the job (fio's default), is counted apart from the good I/Os, and
    /// its status is reported; the commands in flight with it still complete.
    @Test func aFailedCommandEndsTheJobAndIsNotCountedAsAnIO() throws {
        let queue = FailingQueue(failAt: 10)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4 * 512, alignment: 4096)
        defer { buffer.deallocate() }
        let result = RawJobRunner(queue: queue, plan: Self.plan(depth: 4, runtime: nil, ios: 1000),
                                  control: RunControl(), progress: JobProgress())
            .run(buffer: buffer, bufferIOVA: 0x10000, verifier: nil)
        #expect(result.failures == 1)
        #expect(result.read.ios == 11, "12 submitted (three batches of 4), one failed")
        #expect(result.firstFailure?.hasPrefix("Read at LBA ") == true, "\(result.firstFailure ?? "")")
        #expect(result.firstFailure?.contains("\(CompletionStatus(.unrecoveredReadError))") == true)
    }

    /// The function removed under a running bench: its commands never complete, so the loop,
    /// which waits for what is in flight, would wait forever. It looks at the device after a run
    /// of idle passes and ends the job with the engine's named error.
    @Test func aDeviceThatStopsAnsweringEndsTheJobWithItsNamedError() throws {
        let queue = VanishingQueue(answered: 10)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4 * 512, alignment: 4096)
        defer { buffer.deallocate() }
        let address = UInt(bitPattern: buffer)
        let result = try #require(Self.finishes(within: 20) {
            RawJobRunner(queue: queue, plan: Self.plan(depth: 4, runtime: 60_000_000_000),
                         control: RunControl(), progress: JobProgress())
                .run(buffer: UnsafeMutableRawPointer(bitPattern: address)!, bufferIOVA: 0x10000, verifier: nil)
        }, "the job still waited for a removed device after 20 s")
        #expect(result.failures == 1)
        #expect(result.read.ios == 10)
        let failure = result.firstFailure ?? ""
        #expect(failure.contains("\(ControllerError.deviceGone(during: "I/O on queue 1"))"), "\(failure)")
        #expect(failure.contains("4 I/Os in flight abandoned"), "\(failure)")
        #expect(queue.deviceChecks == 1, "one look at the device, after \(RawJobRunner<VanishingQueue>.idlePassesBeforeDeviceCheck) idle passes")
    }

    /// `--number_ios N` is exactly N I/Os, whatever the depth.
    @Test func numberIOsIsExact() throws {
        let queue = OneBehindQueue(capacity: 7)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 7 * 512, alignment: 4096)
        defer { buffer.deallocate() }
        let result = RawJobRunner(queue: queue, plan: Self.plan(depth: 7, runtime: nil, ios: 1000),
                                  control: RunControl(), progress: JobProgress())
            .run(buffer: buffer, bufferIOVA: 0x10000, verifier: nil)
        #expect(result.ios == 1000)
    }
}
