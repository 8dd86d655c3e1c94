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

    @Test func resetsInTheMiddleOfIOOnFourQueues() throws {
        let rig = try Rig.threadedFourQueues()
        let queues = rig.controller.ioQueues
        #expect(queues.count == 4)
        let mapper = rig.controller.mapper
        let nsid = rig.nsid
        let rounds = 24
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
                    let lba = UInt64(index * 10_000 + round * 128)
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

        // Two controller failures while every worker is busy: whichever worker notices first resets.
        for resets in 1...2 {
            let target = resets * rounds / 3
            #expect(wait(upTo: 60) { progress.allSatisfy { $0.value >= target } }, "workers stopped before round \(target)")
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
        #expect(ControllerStatus(rawValue: rig.mock.readRegister32(at: ControllerRegister.csts)).shst == .complete)
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
