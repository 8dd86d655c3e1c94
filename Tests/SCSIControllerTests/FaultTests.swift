import MockNVMe
import NVMe
import Testing
@testable import SCSIController

/// The device is untrusted: every misbehaviour the mock can script ends in a named error, and
/// the driver keeps working (or says it cannot) - never a crash or a hang.
@Suite struct FaultTests {
    @Test func aFullQueueWaitsInsteadOfDroppingWork() throws {
        // Depth 4: three commands outstanding at most; a 64-piece request must still complete.
        let rig = try Rig({ $0.mdts = 1 }, options: { $0.ioQueueDepth = 4 })
        #expect(rig.queue.queuePair.capacity == 3)
        let source = try rig.patterned(bytes: 512 << 10, seed: 5)
        let outcome = rig.queue.write(nsid: rig.nsid, lba: 0, blocks: 1024, from: source)
        #expect(outcome.succeeded && outcome.commands == 64)
        // Nothing was lost or reordered while the queue was full: every block reads back.
        let sink = try rig.controller.mapper.allocate(length: 512 << 10)
        let read = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 1024, into: sink)
        #expect(read.succeeded && read.bytesTransferred == 512 << 10)
        #expect(same(source.address, sink.address, count: 512 << 10))
        // The raw queue pair pushes back rather than overwriting a slot.
        let qp = rig.queue.queuePair
        for tag in 0..<3 { #expect(qp.submit(.flush(nsid: 1), tag: UInt64(tag)) == .submitted) }
        #expect(qp.submit(.flush(nsid: 1), tag: 3) == .queueFull)
        qp.ringDoorbell()
        var seen = 0
        while seen < 3 { seen += qp.poll { _ in } }
        #expect(qp.submit(.flush(nsid: 1), tag: 4) == .submitted)
        qp.ringDoorbell()
        while qp.outstanding > 0 { qp.poll { _ in } }
    }

    @Test func aStuckCommandIsAborted() throws {
        let rig = try Rig()
        rig.mock.inject(.neverComplete(.io(.read, count: 1)))
        let sink = try rig.controller.mapper.allocate(length: 4096)
        guard let timedOut = timeout(of: rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink)) else { return }
        #expect(timedOut.command == "Read")
        #expect(timedOut.recovery.contains("aborted with NVMe Abort"))
        #expect(rig.controller.resetCount == 0)
        // The queue still works.
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink).succeeded)
    }

    @Test func anAbortThatFailsLeadsToAReset() throws {
        let rig = try Rig()
        rig.mock.inject(.neverComplete(.io(.write, count: 1)))
        rig.mock.inject(.failCommands(.admin(.abort, count: 1), status: CompletionStatus(.abortCommandLimitExceeded)))
        let source = try rig.patterned(bytes: 4096, seed: 1)
        guard let timedOut = timeout(of: rig.queue.write(nsid: rig.nsid, lba: 0, blocks: 8, from: source)) else { return }
        #expect(timedOut.recovery.contains("NVMe Abort failed") && timedOut.recovery.contains("reset"))
        #expect(rig.controller.resetCount == 1)
        // After the reset the queues were re-created and I/O works again.
        let again = rig.queue.write(nsid: rig.nsid, lba: 0, blocks: 8, from: source)
        #expect(again.succeeded, "\(String(describing: again.error))")
    }

    @Test func controllerFatalStatusIsNamedAndRecovered() throws {
        let rig = try Rig()
        rig.mock.inject(.controllerFatal)
        let sink = try rig.controller.mapper.allocate(length: 4096)
        let outcome = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink)
        guard case .controllerFatal = outcome.error else {
            Issue.record("expected controllerFatal, got \(String(describing: outcome.error))")
            return
        }
        #expect("\(outcome.error!)".contains("CSTS.CFS"))
        #expect(rig.controller.resetCount == 1)
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink).succeeded)
    }

    @Test func surpriseRemovalIsNamed() throws {
        let rig = try Rig()
        rig.mock.inject(.surpriseRemoval)
        let sink = try rig.controller.mapper.allocate(length: 4096)
        let outcome = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink)
        guard case .deviceGone = outcome.error else {
            Issue.record("expected deviceGone, got \(String(describing: outcome.error))")
            return
        }
        #expect(throws: ControllerError.self) { try rig.controller.stop() }
    }

    @Test(arguments: [HostileCompletion.unknownCommandID(999), .duplicate, .sqHeadOutOfRange])
    func hostileCompletionsFailTheWorkWithANamedError(kind: HostileCompletion) throws {
        let rig = try Rig()
        rig.mock.inject(.hostileCompletion(kind, .io(.read, count: 1)))
        let sink = try rig.controller.mapper.allocate(length: 4096)
        let outcome = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink)
        guard case let .hostileCompletion(queueID, detail) = outcome.error else {
            Issue.record("expected hostileCompletion, got \(String(describing: outcome.error))")
            return
        }
        #expect(queueID == rig.queue.id)
        #expect(!detail.isEmpty)
        #expect(rig.queue.queuePair.hostileCompletionCount >= 1)
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink).succeeded)
    }

    @Test func aCompletionWithTheWrongPhaseIsNotTakenAsDone() throws {
        let rig = try Rig()
        rig.mock.inject(.hostileCompletion(.wrongPhase, .io(.read, count: 1)))
        let sink = try rig.controller.mapper.allocate(length: 4096)
        // The host cannot see a stale-phase entry: the command times out and is recovered.
        guard timeout(of: rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink)) != nil else { return }
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink).succeeded)
    }

    @Test func nvmeErrorStatusesNameTheCommandAndStatus() throws {
        let rig = try Rig()
        rig.mock.inject(.failCommands(.io(.write, count: 1), status: CompletionStatus(.writeFault)))
        let source = try rig.patterned(bytes: 4096, seed: 2)
        let outcome = rig.queue.write(nsid: rig.nsid, lba: 64, blocks: 8, from: source)
        let text = "\(outcome.error!)"
        #expect(text.contains("Write"))
        #expect(text.contains("LBA 64"))
        #expect(text.contains("writeFault"))
    }
}
