import DMAMapper
import MockNVMe
import NVMe
import Testing
@testable import SCSIController

/// A device that lies - about its SQ head, with stale completions, with an Abort it claims to
/// have done - and commands that never complete: each ends in a named error within the command
/// timeout, and the queue works again afterwards.
@Suite struct HostileDeviceTests {
    /// Every completion on queue 1 claims the controller fetched one entry more than it was given.
    static func sqHeadPastTheTail(_ hooks: inout InterposedDevice.Hooks) {
        hooks.patchCompletion = { queue, entry in
            guard queue.queueID == 1 else { return }
            entry.sqHead = UInt16((queue.submissionTail + 1) % queue.submissionQueueSize)
        }
    }

    /// SQ head = tail + 1 is in range (< queue size) but outside the entries the controller was
    /// given: taking it would make the queue look full forever. It is refused as hostile.
    @Test func anSQHeadPastTheTailIsHostileAndIgnored() throws {
        let rig = try Rig({ $0.mdts = 1 }, interposed: Self.sqHeadPastTheTail)
        let sink = try rig.controller.mapper.allocate(length: 64 << 10)
        let outcome = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 128, into: sink)
        guard case let .hostileCompletion(queueID, detail) = outcome.error else {
            Issue.record("expected hostileCompletion, got \(String(describing: outcome.error))")
            return
        }
        #expect(queueID == 1 && detail.contains("SQ head 9 is outside") && detail.contains("tail 8"))
        #expect(rig.queue.queuePair.hasFreeSlot)
        rig.device!.configure { $0.patchCompletion = nil }
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 128, into: sink).succeeded)
        #expect(rig.controller.resetCount == 0)
    }

    /// In a 4-entry queue the same lie (tail + 1 = the old head) never moves the head: after three
    /// commands the queue looks full with nothing outstanding. The request ends with a named
    /// no-progress error after the command timeout, the controller is reset, and I/O works again.
    @Test func aQueueThatNeverDrainsEndsInANamedErrorAndAReset() throws {
        let rig = try Rig({ $0.mdts = 1 }, options: { $0.ioQueueDepth = 4 }, interposed: Self.sqHeadPastTheTail)
        let sink = try rig.controller.mapper.allocate(length: 64 << 10)
        let outcome = rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 128, into: sink)
        guard case let .noProgress(command, queueID, milliseconds, detail) = outcome.error else {
            Issue.record("expected noProgress, got \(String(describing: outcome.error))")
            return
        }
        #expect(command == "Read" && queueID == 1 && milliseconds == 300)
        #expect(detail.contains("looks full") && detail.contains("0 command(s) outstanding"))
        #expect(rig.controller.resetCount == 1)
        rig.device!.configure { $0.patchCompletion = nil }
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 128, into: sink).succeeded)
        #expect(rig.queue.flush(nsid: rig.nsid).succeeded)
    }

    /// A completion carrying the command id a tracker had before its reuse (a late duplicate) is
    /// reported as hostile and does not complete the command now using that tracker.
    @Test func aDuplicateCompletionAfterItsIDWasReusedDoesNotCompleteTheNewCommand() throws {
        let rig = try Rig(options: { $0.ioQueueDepth = 4 })
        let qp = rig.queue.queuePair
        let sink = try rig.controller.mapper.allocate(length: 4096)
        func runOne(tag: UInt64) -> [Completion] {
            var seen: [Completion] = []
            #expect(qp.submit(.io(.read, nsid: rig.nsid, lba: 0, blocks: 8), dataIOVA: sink.iova, dataLength: 4096, tag: tag) == .submitted)
            qp.ringDoorbell()
            pollUntil(qp, { !seen.isEmpty && qp.outstanding == 0 }) { seen.append($0) }
            return seen
        }
        let first = try #require(runOne(tag: 1).first)
        // Run commands until the first one's tracker is in use again.
        var tag: UInt64 = 2
        while true {
            let trackerOfNext = Int(qp.freeList[Int(qp.state.pointee.freeHead & qp.freeListMask)])
            if trackerOfNext == Int(first.commandID & qp.indexMask) { break }
            _ = runOne(tag: tag)
            tag += 1
        }
        rig.mock.inject(.hostileCompletion(.unknownCommandID(first.commandID), .io(.read, count: 1)))
        let hostileBefore = qp.hostileCompletionCount
        let seen = runOne(tag: 99)
        #expect(seen.count == 1)
        let reused = try #require(seen.first)
        #expect(reused.tag == 99 && reused.status.isSuccess)
        #expect(reused.commandID & qp.indexMask == first.commandID & qp.indexMask)
        #expect(reused.commandID != first.commandID)
        #expect(qp.hostileCompletionCount == hostileBefore + 1)
        #expect(qp.anomalies.last.map { "\($0)".contains("command id \(first.commandID) is stale") } == true)
    }

    /// NVMe Abort accepted (Dword 0 bit 0 = 0), yet the command never completes: the second
    /// deadline resets the controller.
    @Test func anAbortThatIsAcceptedButNeverCompletesLeadsToAReset() throws {
        let abortID = Shared<UInt16?>(nil)
        let rig = try Rig(interposed: { hooks in
            hooks.rewriteAdminCommand = { entry in
                guard entry.opcode == AdminOpcode.abort.rawValue else { return }
                abortID.value = entry.commandID
                entry.cdw10 = entry.cdw10 & 0xFFFF | 0xFFFE << 16  // the mock finds no such command...
            }
            hooks.patchCompletion = { queue, entry in
                // ...and the controller claims it aborted it anyway.
                if queue.queueID == 0, abortID.value == entry.commandID { entry.dw0 = 0 }
            }
        })
        rig.mock.inject(.neverComplete(.io(.read, count: 1)))
        let sink = try rig.controller.mapper.allocate(length: 4096)
        guard let timedOut = timeout(of: rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink)) else { return }
        #expect(timedOut.command == "Read")
        #expect(timedOut.recovery.contains("NVMe Abort did not complete it") && timedOut.recovery.contains("reset"))
        #expect(rig.controller.resetCount == 1)
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink).succeeded)
    }

    /// Flush, Dataset Management and fused Compare and Write wait in the same loop as reads and
    /// writes: a stuck one is aborted first (no reset), then the queue works again.
    @Test(arguments: [NVMOpcode.flush, .datasetManagement, .compare])
    func everyCommandKindIsAbortedBeforeAnyReset(opcode: NVMOpcode) throws {
        let rig = try Rig()
        rig.mock.inject(.neverComplete(.io(opcode, count: 1)))
        let buffer = try rig.patterned(bytes: 8192, seed: 5)
        func run() -> BlockOutcome {
            switch opcode {
            case .flush: rig.queue.flush(nsid: rig.nsid)
            case .datasetManagement:
                rig.queue.deallocate(nsid: rig.nsid, ranges: [DatasetManagementRange(contextAttributes: 0, blockCount: 8, startingLBA: 0)])
            default:
                rig.queue.compareAndWrite(nsid: rig.nsid, lba: 0, blocks: 8, compareIOVA: buffer.iova, writeIOVA: buffer.iova + 4096)
            }
        }
        guard let timedOut = timeout(of: run()) else { return }
        #expect(timedOut.queueID == rig.queue.id && timedOut.recovery.contains("aborted with NVMe Abort"))
        #expect(rig.controller.resetCount == 0)
        #expect(opcode == .compare ? run().status?.matches(.compareFailure) == true : run().succeeded)
    }

    @Test func fatalStatusDuringCompareAndWriteIsNamedAndRecovered() throws {
        let rig = try Rig()
        let buffer = try rig.patterned(bytes: 8192, seed: 6)
        rig.mock.inject(.controllerFatal)
        let outcome = rig.queue.compareAndWrite(nsid: rig.nsid, lba: 0, blocks: 8, compareIOVA: buffer.iova, writeIOVA: buffer.iova + 4096)
        guard case .controllerFatal = outcome.error else {
            Issue.record("expected controllerFatal, got \(String(describing: outcome.error))")
            return
        }
        #expect(rig.controller.resetCount == 1)
        #expect(rig.queue.flush(nsid: rig.nsid).succeeded)
    }

    @Test func aDeviceGoneDuringFlushIsNamed() throws {
        let rig = try Rig()
        rig.mock.inject(.surpriseRemoval)
        guard case .deviceGone = rig.queue.flush(nsid: rig.nsid).error else {
            Issue.record("a flush on a removed device was not refused as gone")
            return
        }
    }

    /// The raw queue pair refuses a data length its tracker's PRP list pages cannot describe,
    /// distinctly from a full queue, and changes nothing.
    @Test func submitRefusesATransferLargerThanOneCommand() throws {
        let rig = try Rig(options: { $0.dataPointerMode = .prp })
        let qp = rig.queue.queuePair
        let buffer = try rig.controller.mapper.allocate(length: qp.maximumDataLength + 4096)
        let read = SubmissionQueueEntry.io(.read, nsid: rig.nsid, lba: 0, blocks: 8)
        #expect(qp.submit(read, dataIOVA: buffer.iova, dataLength: qp.maximumDataLength + 512, tag: 1) == .transferTooLarge)
        #expect(qp.submit(read, dataIOVA: buffer.iova, dataLength: -4096, tag: 2) == .transferTooLarge)
        #expect(qp.outstanding == 0)
        let blocks = qp.maximumDataLength / 512
        #expect(qp.submit(.io(.read, nsid: rig.nsid, lba: 0, blocks: blocks), dataIOVA: buffer.iova,
                          dataLength: qp.maximumDataLength, tag: 3) == .submitted)
        qp.ringDoorbell()
        var status: CompletionStatus?
        #expect(pollUntil(qp, { status != nil }) { status = $0.status })
        #expect(status?.isSuccess == true)
        #expect(rig.mock.dmaFaults.isEmpty)
    }
}
