import SeededRandom
import MockNVMe
import NVMe
import Testing
@testable import SCSIController

/// Acknowledged durable writes survive a power cut: after a Flush, with FUA, and after stop()
/// (flush + shutdown handshake). Plain writes in a volatile cache may be lost.
@Suite struct PowerCutTests {
    @Test func stopFlushesAndShutsDownSoACutLosesNothing() throws {
        let rig = try Rig { $0.volatileWriteCache = true }
        #expect(rig.controller.volatileWriteCacheEnabled)
        let source = try rig.patterned(bytes: 64 << 10, seed: 11)
        #expect(rig.queue.write(nsid: rig.nsid, lba: 0, blocks: 128, from: source).succeeded)
        try rig.controller.stop()
        let csts = rig.mock.status
        #expect(csts.shst == .complete)
        rig.mock.powerCut()
        let media = rig.mock.mediaContents(nsid: rig.nsid, lba: 0, count: 128)
        #expect(media.withUnsafeBytes { same($0.baseAddress!, source.address, count: 64 << 10) })
    }

    @Test func unflushedWritesMayBeLostButFlushedOnesMayNot() throws {
        let rig = try Rig { $0.volatileWriteCache = true }
        let durable = try rig.patterned(bytes: 4096, seed: 1)
        let volatile = try rig.patterned(bytes: 4096, seed: 2)
        #expect(rig.queue.write(nsid: rig.nsid, lba: 0, blocks: 8, from: durable).succeeded)
        #expect(rig.queue.flush(nsid: rig.nsid).succeeded)
        #expect(rig.queue.write(nsid: rig.nsid, lba: 8, blocks: 8, from: volatile).succeeded)
        rig.mock.powerCut(survivingFraction: 0)
        let kept = rig.mock.mediaContents(nsid: rig.nsid, lba: 0, count: 8)
        #expect(kept.withUnsafeBytes { same($0.baseAddress!, durable.address, count: 4096) })
        let lost = rig.mock.mediaContents(nsid: rig.nsid, lba: 8, count: 8)
        #expect(lost.allSatisfy { $0 == 0 })
    }

    @Test func fuaWritesSurviveWithoutAFlush() throws {
        let rig = try Rig { $0.volatileWriteCache = true }
        let source = try rig.patterned(bytes: 8192, seed: 3)
        #expect(rig.queue.write(nsid: rig.nsid, lba: 40, blocks: 16, from: source, fua: true).succeeded)
        rig.mock.powerCut()
        let media = rig.mock.mediaContents(nsid: rig.nsid, lba: 40, count: 16)
        #expect(media.withUnsafeBytes { same($0.baseAddress!, source.address, count: 8192) })
    }

    /// 1000 random cut points, with torn caches: every write acknowledged as durable (FUA, or
    /// followed by an acknowledged Flush) before the cut is on the media afterwards.
    @Test func athousandRandomCutPointsLoseNoDurableWrite() throws {
        var random = SplitMix64(seed: 0xC0FFEE)
        var lost = 0
        for round in 0..<1000 {
            let rig = try Rig({ $0.volatileWriteCache = true; $0.namespaces = [MockNamespace(blockCount: 4096, blockSize: 512)] },
                              options: { $0.ioQueueDepth = 8 })
            let operations = Int(random.next() % 24) + 1
            let cutAfter = Int(random.next() % UInt64(operations + 1))
            var pending: [(lba: UInt64, seed: UInt64)] = []
            var durable: [(lba: UInt64, seed: UInt64)] = []
            let buffer = try rig.controller.mapper.allocate(length: 4096)
            for step in 0..<cutAfter {
                let choice = random.next() % 4
                if choice == 0 {
                    #expect(rig.queue.flush(nsid: rig.nsid).succeeded)
                    durable += pending
                    pending.removeAll()
                } else {
                    // Distinct LBAs per write, so a block's expected content is unambiguous.
                    let lba = UInt64(round % 8 * 512 + step * 8)
                    let seed = random.next()
                    fill(buffer, seed: seed)
                    let fua = choice == 1
                    #expect(rig.queue.write(nsid: rig.nsid, lba: lba, blocks: 8, from: buffer, fua: fua).succeeded)
                    if fua { durable.append((lba, seed)) } else { pending.append((lba, seed)) }
                }
            }
            rig.mock.powerCut(survivingFraction: Double(random.next() % 100) / 100, seed: random.next())
            for write in durable {
                fill(buffer, seed: write.seed)
                let media = rig.mock.mediaContents(nsid: rig.nsid, lba: write.lba, count: 8)
                if !media.withUnsafeBytes({ same($0.baseAddress!, buffer.address, count: 4096) }) { lost += 1 }
            }
        }
        #expect(lost == 0)
    }

    @Test func withoutAVolatileCacheEveryAcknowledgedWriteIsDurable() throws {
        let rig = try Rig { $0.volatileWriteCache = false }
        #expect(!rig.controller.volatileWriteCacheEnabled)
        let source = try rig.patterned(bytes: 4096, seed: 4)
        #expect(rig.queue.write(nsid: rig.nsid, lba: 0, blocks: 8, from: source).succeeded)
        rig.mock.powerCut()
        let media = rig.mock.mediaContents(nsid: rig.nsid, lba: 0, count: 8)
        #expect(media.withUnsafeBytes { same($0.baseAddress!, source.address, count: 4096) })
    }

    @Test func deinitStopsTheController() throws {
        let mock: MockController
        do {
            let rig = try Rig { $0.volatileWriteCache = true }
            mock = rig.mock
            let source = try rig.patterned(bytes: 4096, seed: 9)
            #expect(rig.queue.write(nsid: rig.nsid, lba: 0, blocks: 8, from: source).succeeded)
        }
        let csts = mock.status
        #expect(csts.shst == .complete)
        mock.powerCut()
        #expect(mock.mediaContents(nsid: 1, lba: 0, count: 8).contains { $0 != 0 })
    }
}


@Suite struct StopTests {
    @Test func stopIssuesAFlushAndReportsItsFailure() throws {
        let rig = try Rig { $0.volatileWriteCache = true }
        rig.mock.inject(.failCommands(.io(.flush), status: CompletionStatus(.internalError)))
        #expect {
            try rig.controller.stop()
        } throws: { error in
            guard case let .ioCommandFailed(command, _, _, status) = error as? ControllerError else { return false }
            return command == "Flush" && status.matches(.internalError)
        }
        // The shutdown handshake still ran after the failed flush.
        let csts = rig.mock.status
        #expect(csts.shst == .complete)
        #expect(rig.controller.isStopped)
    }

    /// The seed thread's teardown loss: dropping the controller without calling stop() must still
    /// send the Flush (observed here by making it fail: the mock logs one error for it).
    @Test func droppingTheControllerFlushes() throws {
        let mock: MockController
        do {
            let rig = try Rig { $0.volatileWriteCache = true }
            mock = rig.mock
            mock.inject(.failCommands(.io(.flush, count: 1), status: CompletionStatus(.internalError)))
            #expect(mock.statistics.errorCount == 0)
        }
        #expect(mock.statistics.errorCount == 1)
    }

    @Test func stopDeletesTheQueuesAndRefusesFurtherWork() throws {
        let rig = try Rig({ $0.volatileWriteCache = false }, options: { $0.ioQueueCount = 2; })
        try rig.controller.stop()
        let sink = try rig.controller.mapper.allocate(length: 4096)
        guard case .stopped = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 1, into: sink).error else {
            Issue.record("I/O after stop was not refused")
            return
        }
        try rig.controller.stop()  // a second stop is a no-op
    }

    /// A reset re-creates queue 1 only when its owner next looks; a controller dropped before then
    /// still flushes through it (observed by making that Flush fail: the mock logs one error).
    @Test func droppingTheControllerAfterAResetStillFlushes() throws {
        let mock: MockController
        do {
            let rig = try Rig({ $0.volatileWriteCache = true }, options: { $0.ioQueueCount = 2 })
            mock = rig.mock
            mock.inject(.neverComplete(.io(.read, count: 1)))
            mock.inject(.failCommands(.admin(.abort, count: 1), status: CompletionStatus(.abortCommandLimitExceeded)))
            let sink = try rig.controller.mapper.allocate(length: 4096)
            _ = rig.controller.ioQueues[1].read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink)
            #expect(rig.controller.resetCount == 1)
            mock.inject(.failCommands(.io(.flush, count: 1), status: CompletionStatus(.internalError)))
            #expect(mock.statistics.errorCount == 1)  // the failed Abort
        }
        #expect(mock.statistics.errorCount == 2)
    }

    /// The controller's own view: after stop, queues 1 and 2 no longer exist, so a doorbell write
    /// to them is an Invalid Doorbell Register error in the mock's Error Information log.
    @Test func stopDeletesTheIOQueuesInTheController() throws {
        let rig = try Rig({ $0.volatileWriteCache = false }, options: { $0.ioQueueCount = 2 })
        let doorbell = { (queue: Int) in ControllerRegister.submissionTailDoorbell(queueID: queue, stride: 0) }
        let errors = rig.mock.statistics.errorCount
        rig.mock.writeRegister32(0, at: doorbell(1))  // tail 0 again: valid while the queue exists
        #expect(rig.mock.statistics.errorCount == errors)
        try rig.controller.stop()
        rig.mock.writeRegister32(0, at: doorbell(1))
        rig.mock.writeRegister32(0, at: doorbell(2))
        #expect(rig.mock.statistics.errorCount == errors + 2)
    }

    /// CSTS.SHST never reports complete: stop ends within its bound with a named error.
    @Test func aShutdownThatNeverCompletesIsBounded() throws {
        let rig = try Rig(options: { $0.shutdownTimeoutMilliseconds = 200 }, interposed: { hooks in
            hooks.read32 = { offset, value in offset == ControllerRegister.csts ? value & ~0b1100 : value }
        })
        #expect(rig.controller.shutdownMilliseconds == 200)
        #expect {
            try rig.controller.stop()
        } throws: { error in
            guard case let .shutdownTimeout(milliseconds, csts) = error as? ControllerError else { return false }
            return milliseconds == 200 && ControllerStatus(rawValue: csts).rdy && "\(error)".contains("200 ms")
        }
        #expect(rig.controller.isStopped)
    }

    /// Dropping the controller while another holder keeps one of its queues does not stop it
    /// under that holder: the queue keeps working, and the stop (with its flush) runs when the
    /// last queue goes.
    @Test func theControllerStopsWhenItsLastQueueIsGone() throws {
        let mock: MockController
        var queue: IOQueue?
        do {
            let rig = try Rig { $0.volatileWriteCache = true }
            mock = rig.mock
            queue = rig.queue
        }
        #expect(mock.status.shst != .complete)
        let buffer = try queue!.core.mapper.allocate(length: 4096)
        fill(buffer, seed: 21)
        #expect(queue!.write(nsid: 1, lba: 0, blocks: 8, from: buffer).succeeded)
        queue = nil
        #expect(mock.status.shst == .complete)
        mock.powerCut()
        #expect(mock.mediaContents(nsid: 1, lba: 0, count: 8).withUnsafeBytes { same($0.baseAddress!, buffer.address, count: 4096) })
    }

    @Test func stopOnAPoweredOffControllerSaysSoQuickly() throws {
        let rig = try Rig()
        rig.mock.powerCut()
        #expect {
            try rig.controller.stop()
        } throws: { error in
            guard case .controllerNotReady = error as? ControllerError else { return false }
            return true
        }
    }
}
