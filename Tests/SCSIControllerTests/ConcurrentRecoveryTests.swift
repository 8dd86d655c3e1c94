import DMAMapper
import Dispatch
import Foundation
import MockNVMe
import NVMe
import Testing
@testable import SCSIController

/// Controller resets while several threads keep I/O going on their own queues, against the
/// threaded mock: recovery never touches a queue another thread owns, every request ends (with
/// success or a named error), and data read back after a successful write is what was written.
/// CI runs this under `swift test --sanitize=thread`.
@Suite struct ConcurrentRecoveryTests {
    /// What one worker saw.
    struct WorkerReport: Sendable {
        var rounds = 0
        var succeeded = 0
        var corrupted = 0
        var namedFailures: [String] = []
        var unexpected: [String] = []
    }

    /// Errors a request may end with when a reset hits it.
    static func isExpected(_ error: ControllerError) -> Bool {
        switch error {
        case .abortedByReset, .controllerFatal, .commandTimedOut: true
        default: false
        }
    }

    /// Where worker `worker` writes its 128 blocks in round `round`.
    static func firstLBA(worker: Int, round: Int) -> UInt64 { UInt64(worker * 10_000 + round * 128) }

    /// Each worker writes then reads 64 KiB per round at its own LBAs; before reset k, every
    /// worker's write of round `target(k)` has a piece held at the mock (fetched, never completed),
    /// so the controller fails while all four queues provably have I/O in flight and every worker
    /// still has rounds to go, however the threads are scheduled: the fault is gated on the
    /// mock's held-command count, not on time.
    @Test func resetsInTheMiddleOfIOOnFourQueues() throws {
        // A command timeout far beyond any wait here: a held piece must end by the reset, not by
        // a timeout on a starved machine.
        let rig = try Rig.threadedFourQueues(commandTimeoutMilliseconds: 600_000)
        let queues = rig.controller.ioQueues
        #expect(queues.count == 4)
        let mapper = rig.controller.mapper
        let nsid = rig.nsid
        let rounds = 24
        let resetRounds = [rounds / 3, 2 * rounds / 3]
        // One piece of each worker's write in each reset round is held: one rule per queue and round.
        for round in resetRounds {
            for worker in queues.indices {
                let first = Self.firstLBA(worker: worker, round: round)
                rig.mock.inject(.neverComplete(CommandMatch(queueID: UInt16(worker + 1), opcode: NVMOpcode.write.rawValue,
                                                            lbaRange: first...(first + 127), count: 1)))
            }
        }
        let progress = queues.map { _ in Shared(0) }
        let reports = queues.map { _ in Shared(WorkerReport()) }
        let group = DispatchGroup()
        for (index, queue) in queues.enumerated() {
            group.enter()
            let thread = Thread { [progress, reports] in
                defer { group.leave() }
                var report = WorkerReport()
                guard let source = try? mapper.allocate(length: 64 << 10), let sink = try? mapper.allocate(length: 64 << 10) else {
                    report.unexpected.append("no DMA memory")
                    reports[index].value = report
                    return
                }
                for round in 0..<rounds {
                    fill(source, seed: UInt64(index * 1000 + round))
                    let lba = Self.firstLBA(worker: index, round: round)
                    let written = queue.write(nsid: nsid, lba: lba, blocks: 128, from: source)
                    let read = written.succeeded ? queue.read(nsid: nsid, lba: lba, blocks: 128, into: sink) : written
                    report.rounds += 1
                    if read.succeeded {
                        report.succeeded += 1
                        if !same(source.address, sink.address, count: 64 << 10) { report.corrupted += 1 }
                    } else if let error = read.error {
                        if Self.isExpected(error) { report.namedFailures.append("\(error)") } else { report.unexpected.append("\(error)") }
                    }
                    progress[index].value = round + 1
                }
                reports[index].value = report
            }
            thread.start()
        }

        // Two controller failures while every worker is inside the same round with a write piece
        // held at the controller: whichever worker notices first resets (which drops the held pieces).
        for (index, target) in resetRounds.enumerated() {
            let resets = index + 1
            #expect(wait(upTo: 60) { rig.mock.statistics.heldCommands == queues.count }, "not every worker reached round \(target)")
            #expect(progress.map(\.value) == Array(repeating: target, count: queues.count), "every worker is in round \(target)")
            rig.mock.inject(.controllerFatal)
            #expect(wait(upTo: 60) { rig.controller.resetCount >= resets }, "reset \(resets) did not happen")
        }
        #expect(group.wait(timeout: .now() + 120) == .success, "a worker hung")
        for (index, report) in reports.map(\.value).enumerated() {
            #expect(report.rounds == rounds, "queue \(index + 1)")
            #expect(report.corrupted == 0, "queue \(index + 1)")
            #expect(report.unexpected.isEmpty, "queue \(index + 1): \(report.unexpected)")
        }
        // The workers are done, so this thread may use their queues: each works after the resets.
        let source = try rig.patterned(bytes: 64 << 10, seed: 77)
        let sink = try mapper.allocate(length: 64 << 10)
        for queue in queues {
            #expect(queue.write(nsid: nsid, lba: 50_000, blocks: 128, from: source).succeeded)
            #expect(queue.read(nsid: nsid, lba: 50_000, blocks: 128, into: sink).succeeded)
            #expect(same(source.address, sink.address, count: 64 << 10))
        }
        // Each reset was made by a worker whose request saw CSTS.CFS, so it failed naming it.
        let named = reports.flatMap { $0.value.namedFailures }
        #expect(named.filter { $0.contains("CSTS.CFS") }.count == 2, "\(named)")
        #expect(rig.controller.resetCount == 2)
        #expect(rig.mock.dmaFaults.isEmpty)
        try rig.controller.stop()
    }

    /// stop() from one thread while another is inside a request on queue 1: the request ends
    /// (done, or refused as stopped), stop's Flush waits for it and then runs on that queue, and
    /// what the request acknowledged survives a power cut.
    @Test func stopWhileAnotherThreadIsInARequest() throws {
        let rig = try Rig({
            $0.executionMode = .threaded(latency: .milliseconds(5), outOfOrder: false)
            $0.volatileWriteCache = true
            $0.mdts = 1
        }, options: { $0.commandTimeoutMilliseconds = 5_000 })
        let (queue, nsid) = (rig.queue, rig.nsid)
        let source = try rig.patterned(bytes: 1 << 20, seed: 3)
        let started = Shared(false)
        let result = Shared<BlockOutcome?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            started.value = true
            result.value = queue.write(nsid: nsid, lba: 0, blocks: 2048, from: source)
            done.signal()
        }.start()
        #expect(wait(upTo: 10) { started.value })
        usleep(2000)
        try rig.controller.stop()
        #expect(done.wait(timeout: .now() + 30) == .success)
        let outcome = try #require(result.value)
        #expect(outcome.succeeded || outcome.error == .stopped, "\(String(describing: outcome.error))")
        #expect(rig.mock.status.shst == .complete)
        rig.mock.powerCut()
        if outcome.succeeded {
            let media = rig.mock.mediaContents(nsid: nsid, lba: 0, count: 2048)
            #expect(media.withUnsafeBytes { same($0.baseAddress!, source.address, count: 1 << 20) })
        }
    }

    /// Polls `condition` every millisecond for up to `seconds`.
    func wait(upTo seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(1000)
        }
        return condition()
    }
}
