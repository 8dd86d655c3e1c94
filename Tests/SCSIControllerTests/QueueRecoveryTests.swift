import MockNVMe
import NVMe
import Testing
@testable import SCSIController

/// What a queue's owner sees of a reset or stop made elsewhere: its next poll hands back every
/// outstanding command as dropped (never a tracker silently cleared), after a reset the queue is
/// re-created and works, after a stop it is closed.
@Suite struct QueueRecoveryTests {
    /// A command held by the controller on queue 1, submitted through the raw queue pair.
    func holdOneRead(_ rig: Rig) throws -> QueuePair {
        rig.mock.inject(.neverComplete(.io(.read, count: 1)))
        let qp = rig.queue.queuePair
        let sink = try rig.controller.mapper.allocate(length: 4096)
        #expect(qp.submit(.io(.read, nsid: rig.nsid, lba: 0, blocks: 8), dataIOVA: sink.iova, dataLength: 4096, tag: 7) == .submitted)
        qp.ringDoorbell()
        #expect(qp.poll { _ in } == 0 && qp.outstanding == 1)
        return qp
    }

    /// Queue 2's stuck command (Abort refused) resets the controller while queue 1 has a command
    /// outstanding: queue 1's next poll reports it dropped by the reset, and queue 1 works again.
    @Test func aResetMadeByAnotherQueueIsSeenAtTheNextPoll() throws {
        let rig = try Rig(options: { $0.ioQueueCount = 2 })
        let qp = try holdOneRead(rig)
        rig.mock.inject(.neverComplete(.io(.write, count: 1)))
        rig.mock.inject(.failCommands(.admin(.abort, count: 1), status: CompletionStatus(.abortCommandLimitExceeded)))
        let source = try rig.patterned(bytes: 4096, seed: 1)
        _ = rig.controller.ioQueues[1].write(nsid: rig.nsid, lba: 0, blocks: 8, from: source)
        #expect(rig.controller.resetCount == 1)
        #expect(qp.outstanding == 1)  // nothing touched queue 1's trackers behind its owner's back

        var dropped: [Completion] = []
        #expect(qp.poll { dropped.append($0) } == 1)
        #expect(dropped.map(\.tag) == [7] && dropped.first?.droppedBy == .controllerReset)
        #expect(dropped.first?.status.matches(.abortedSQDeletion) == true)
        #expect(qp.outstanding == 0 && !qp.isClosed)
        let sink = try rig.controller.mapper.allocate(length: 4096)
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink).succeeded)
    }

    /// A request that starts on a queue that has not looked since another queue reset the
    /// controller runs on the re-created queue: it is not the one the reset dropped.
    @Test func aRequestAfterAResetMadeElsewhereSucceeds() throws {
        let rig = try Rig(options: { $0.ioQueueCount = 2 })
        rig.mock.inject(.neverComplete(.io(.write, count: 1)))
        rig.mock.inject(.failCommands(.admin(.abort, count: 1), status: CompletionStatus(.abortCommandLimitExceeded)))
        let source = try rig.patterned(bytes: 4096, seed: 1)
        _ = rig.controller.ioQueues[1].write(nsid: rig.nsid, lba: 0, blocks: 8, from: source)
        #expect(rig.controller.resetCount == 1)
        let sink = try rig.controller.mapper.allocate(length: 4096)
        let outcome = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink)
        #expect(outcome.succeeded, "\(String(describing: outcome.error))")
    }

    /// After stop, the raw queue pair hands back what was outstanding as dropped by the stop and
    /// refuses new commands as closed (not as a full queue).
    @Test func afterStopTheQueueIsClosed() throws {
        let rig = try Rig { $0.volatileWriteCache = false }
        let qp = try holdOneRead(rig)
        try rig.controller.stop()
        var dropped: [Completion] = []
        qp.poll { dropped.append($0) }
        #expect(dropped.map(\.tag) == [7] && dropped.first?.droppedBy == .controllerStopped)
        #expect(qp.isClosed && qp.closeReason == .stopped)
        #expect(qp.submit(.flush(nsid: rig.nsid), tag: 8) == .closed)
        #expect(rig.queue.flush(nsid: rig.nsid).error == .stopped)
    }
}
