import DMAMapper
import Dispatch
import MockNVMe
import NVMe
import Synchronization
import Testing

/// The null device (`discardData`) serves an I/O queue pair's doorbells on that pair's own lock
/// (the mock's fast path) and hands every other command to the controller: what the host sees
/// must be the same NVMe behaviour either way.
@Suite("Queue pair fast path: the null device")
struct QueueFastPathTests {
    static func harness(queuePairs: [UInt16] = [1], entries: Int = 64) throws -> Harness {
        var configuration = MockConfiguration()
        configuration.discardData = true
        let harness = try Harness(configuration)
        for qid in queuePairs { #expect(try harness.createQueuePair(qid, entries: entries) == (.success, .success)) }
        return harness
    }

    static func io(_ opcode: NVMOpcode, lba: UInt64, nsid: UInt32 = 1, buffer: DMABuffer) -> SubmissionQueueEntry {
        var entry = SubmissionQueueEntry.io(opcode, nsid: nsid, lba: lba, blocks: 8)
        entry.dptr1 = buffer.iova
        return entry
    }

    @Test func oneDoorbellMixingCommandsCompletesEachAsTheSpecSays() throws {
        let harness = try Self.harness()
        let buffer = try harness.allocate(4096)
        let entries: [SubmissionQueueEntry] = [
            Self.io(.read, lba: 0, buffer: buffer),
            Self.io(.write, lba: 8, buffer: buffer),
            Self.io(.read, lba: 1 << 21, buffer: buffer),  // past the namespace's last block
            .flush(nsid: 1),
            Self.io(.read, lba: 0, nsid: 9, buffer: buffer),  // no such namespace
            Self.io(.read, lba: 16, buffer: buffer),
        ]
        let ids = entries.map { harness.place($0, qid: 1) }
        harness.ring(qid: 1)
        let completions = harness.poll(qid: 1)
        #expect(completions.map(\.commandID) == ids)
        #expect(completions.map(\.sqID) == Array(repeating: 1, count: 6))
        // SQ Head Pointer: each completion reports the head after its own command was fetched.
        #expect(completions.map(\.sqHead) == [1, 2, 3, 4, 5, 6])
        let statuses = completions.map(\.status)
        #expect(statuses[0].isSuccess && statuses[1].isSuccess && statuses[3].isSuccess && statuses[5].isSuccess)
        #expect(statuses[2].matches(.lbaOutOfRange))
        #expect(statuses[4].matches(.invalidNamespaceOrFormat))
        let statistics = harness.controller.statistics
        // Host Read/Write Commands count only commands that passed the namespace and range checks.
        #expect(statistics.hostReadCommands == 2)
        #expect(statistics.hostWriteCommands == 1)
        #expect(statistics.dataUnitsRead512 == 16)
        #expect(statistics.errorCount == 2)
    }

    @Test func fullCompletionQueueHoldsBackReadsUntilTheHeadMoves() throws {
        let harness = try Self.harness(entries: 4)
        let buffer = try harness.allocate(4096)
        // 3 completions fill a 4-entry CQ (one slot stays empty); a 4th Read waits in the SQ.
        for block in 0..<3 { harness.place(Self.io(.read, lba: UInt64(block) * 8, buffer: buffer), qid: 1) }
        harness.ring(qid: 1)
        #expect(harness.poll(qid: 1, ringHead: false).count == 3)
        let waiting = harness.place(Self.io(.read, lba: 64, buffer: buffer), qid: 1)
        harness.ring(qid: 1)
        #expect(harness.poll(qid: 1, ringHead: false).isEmpty)
        #expect(harness.controller.statistics.hostReadCommands == 3)
        harness.ringHeadDoorbell(qid: 1)
        let rest = harness.poll(qid: 1)
        #expect(rest.map(\.commandID) == [waiting])
        #expect(rest.first?.status.isSuccess == true)
    }

    @Test func invalidDoorbellValueOnAnIOQueueRaisesTheEvent() throws {
        let harness = try Self.harness(entries: 16)
        let aer = harness.submit(.asynchronousEventRequest())
        // An SQ tail beyond the queue is not taken: Invalid Doorbell Write Value.
        harness.controller.writeRegister32(16, at: ControllerRegister.submissionTailDoorbell(queueID: 1, stride: 0))
        let events = harness.poll()
        #expect(events.map(\.commandID) == [aer])
        #expect(events.first.map { $0.dw0 & 0b111 } == 0)             // error status
        #expect(events.first.map { ($0.dw0 >> 8) & 0xFF } == 0x01)    // invalid doorbell write value
        #expect(harness.poll(qid: 1).isEmpty)
        let buffer = try harness.allocate(4096)
        #expect(harness.execute(Self.io(.read, lba: 0, buffer: buffer), qid: 1).status.isSuccess)
    }

    /// The fast path keeps its ring translations between doorbells (an IOTLB): a ring the host
    /// unmaps afterwards must still fault at the next doorbell (controller fatal status, the
    /// fault recorded), not be written through a stale translation.
    @Test func ringUnmappedAfterUseFaultsAtTheNextDoorbell() throws {
        let harness = try Self.harness(entries: 64)
        let buffer = try harness.allocate(4096)
        #expect(harness.execute(Self.io(.read, lba: 0, buffer: buffer), qid: 1).status.isSuccess)
        let cq = harness.queues[1]!.cq
        let iommu = harness.controller.softwareIOMMU
        try iommu.unmap(iova: cq.iova, length: 4096)  // the ring's 1 KiB, mapped as one 4 KiB page
        defer { try? iommu.map(hostAddress: cq.address, iova: cq.iova, length: 4096, access: .readWrite) }
        harness.controller.clearDMAFaults()
        harness.submit(Self.io(.read, lba: 8, buffer: buffer), qid: 1)
        #expect(harness.csts.cfs)
        #expect(harness.controller.dmaFaults.map(\.iova) == [cq.iova])
        #expect(harness.controller.dmaFaults.first?.reason == .unmapped)
    }

    /// Two queue pairs driven from two threads while a third reads the controller's counters and
    /// then resets it (CC.EN 1 -> 0): each doorbell's commands complete wholly before or after
    /// the reset, so every command the controller counted was posted, once, and successfully.
    /// (Run under the thread sanitizer by scripts/test-tsan.sh.)
    @Test func queuePairsRunConcurrentlyWithAReset() throws {
        let harness = try Self.harness(queuePairs: [1, 2], entries: 64)
        let buffers = try [1, 2].map { _ in try harness.allocate(4096) }
        let batches = 400
        let received = Mutex<[[CompletionQueueEntry]]>([[], []])
        DispatchQueue.concurrentPerform(iterations: 3) { worker in
            guard worker < 2 else {
                for _ in 0..<50 { _ = harness.controller.statistics }
                harness.controller.writeRegister32(0, at: ControllerRegister.cc)
                return
            }
            let qid = UInt16(worker + 1)
            var seen: [CompletionQueueEntry] = []
            for batch in 0..<batches {
                for index in 0..<8 {
                    harness.place(Self.io(.read, lba: UInt64((batch * 8 + index) % 4096) * 8, buffer: buffers[worker]), qid: qid)
                }
                harness.ring(qid: qid)
                seen += harness.poll(qid: qid)
            }
            received.withLock { $0[worker] = seen }
        }
        #expect(!harness.csts.rdy)
        let completions = received.withLock { $0 }
        for (worker, seen) in completions.enumerated() {
            #expect(seen.allSatisfy { $0.status.isSuccess && $0.sqID == UInt16(worker + 1) })
            // Command identifiers were assigned 1, 2, 3...: each completes once, in order.
            #expect(seen.map(\.commandID) == seen.indices.map { UInt16($0 + 1) })
        }
        #expect(harness.controller.statistics.hostReadCommands == UInt64(completions[0].count + completions[1].count))
    }
}
