import DMAMapper
import Dispatch
import Foundation
import MockNVMe
import NVMe
import SeededRandom
import Testing
@testable import SCSIController

/// A power cut while threads have commands in flight on the threaded mock: every write the
/// driver acknowledged as durable (FUA, or followed by an acknowledged Flush) is on the media
/// afterwards, and every request caught by the cut ends with a named error instead of hanging.
@Suite struct ThreadedPowerCutTests {
    /// One acknowledged write: where, and the seed of its pattern.
    struct Write: Sendable {
        var lba: UInt64
        var seed: UInt64
    }

    struct WorkerLog: Sendable {
        var durable: [Write] = []
        var operations = 0
        var endedWith: ControllerError?
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func aCutWithCommandsInFlightLosesNoAcknowledgedDurableWrite(seed: UInt64) throws {
        let rig = try Rig({
            $0.executionMode = .threaded(latency: .microseconds(30), outOfOrder: true)
            $0.volatileWriteCache = true
            $0.ioQueueCount = 2
        }, options: { $0.ioQueueCount = 2; $0.ioQueueDepth = 16; $0.commandTimeoutMilliseconds = 5_000 })
        let nsid = rig.nsid
        let mapper = rig.controller.mapper
        let logs = rig.controller.ioQueues.map { _ in Shared(WorkerLog()) }
        let group = DispatchGroup()
        for (index, queue) in rig.controller.ioQueues.enumerated() {
            group.enter()
            Thread { [logs] in
                defer { group.leave() }
                logs[index].value = Self.work(queue: queue, nsid: nsid, mapper: mapper, region: UInt64(index) * 100_000,
                                               seed: seed &* 31 &+ UInt64(index), progress: logs[index])
            }.start()
        }
        var random = SplitMix64(seed: seed)
        let cutAfter = 20 + Int(random.next() % 40)
        let deadline = Date().addingTimeInterval(60)
        while logs.contains(where: { $0.value.operations < cutAfter }), Date() < deadline { usleep(200) }
        rig.mock.powerCut(survivingFraction: Double(random.next() % 100) / 100, seed: random.next())
        #expect(group.wait(timeout: .now() + 60) == .success, "a worker hung after the power cut")

        let scratch = try mapper.allocate(length: 4096)
        var lost = 0
        for log in logs.map(\.value) {
            #expect(log.operations >= cutAfter)
            if let error = log.endedWith {
                // The cut leaves the controller disabled: requests in flight say so.
                guard case .controllerNotReady = error else { Issue.record("unexpected \(error)"); continue }
            }
            for write in log.durable {
                fill(scratch, seed: write.seed)
                let media = rig.mock.mediaContents(nsid: nsid, lba: write.lba, count: 8)
                if !media.withUnsafeBytes({ same($0.baseAddress!, scratch.address, count: 4096) }) { lost += 1 }
            }
        }
        #expect(lost == 0)
        #expect(rig.mock.dmaFaults.isEmpty)
    }

    /// Writes 4 KiB blocks at fresh LBAs, some with FUA, with a Flush now and then, until a request
    /// fails (the cut) or 10 000 operations. Returns what was acknowledged as durable.
    static func work(queue: IOQueue, nsid: UInt32, mapper: DMAMapper, region: UInt64, seed: UInt64,
                     progress: Shared<WorkerLog>) -> WorkerLog {
        var log = WorkerLog()
        var pending: [Write] = []
        var random = SplitMix64(seed: seed)
        guard let buffer = try? mapper.allocate(length: 4096) else { return log }
        for step in 0..<10_000 {
            let choice = random.next() % 4
            let outcome: BlockOutcome
            if choice == 0 {
                outcome = queue.flush(nsid: nsid)
                if outcome.succeeded { log.durable += pending; pending.removeAll() }
            } else {
                let write = Write(lba: region + UInt64(step) * 8, seed: random.next())
                fill(buffer, seed: write.seed)
                outcome = queue.write(nsid: nsid, lba: write.lba, blocks: 8, from: buffer, fua: choice == 1)
                if outcome.succeeded { if choice == 1 { log.durable.append(write) } else { pending.append(write) } }
            }
            log.operations += 1
            if step % 8 == 0 { progress.value.operations = log.operations }
            if let error = outcome.error {
                log.endedWith = error
                break
            }
        }
        return log
    }
}
