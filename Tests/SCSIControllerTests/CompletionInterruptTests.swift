#if canImport(Glibc)
import Glibc
#endif
import CVFIO
import DMAMapper
import MockNVMe
import NVMe
import Testing
@testable import SCSIController

/// `ControllerOptions.completionInterrupts`: each I/O completion queue created with interrupts
/// enabled on a vector of its own (NVMe Base 2.0, 5.4 Create I/O Completion Queue: CDW11 bit 1
/// IEN, bits 31:16 IV), the device's vectors set to signal eventfds, a clean fall-back to polling
/// when the device cannot, and `QueuePair.waitForCompletion` sleeping until the vector fires.
@Suite struct CompletionInterruptTests {
    /// The Create I/O Completion Queue commands the driver sent (opcode 05h), in order.
    static func createCompletionQueues(_ device: InterposedDevice?) -> [SubmissionQueueEntry] {
        (device?.adminCommands ?? []).filter { $0.opcode == AdminOpcode.createIOCompletionQueue.rawValue }
    }

    /// A rig through an interposed device (to see the admin commands) on a mock with `vectors`
    /// MSI-X vectors, four I/O queues asked for, interrupts asked for.
    static func rig(vectors: Int, threaded: Bool = false, refuseTriggers: Bool = false) throws -> Rig {
        try Rig({
            $0.interruptVectors = vectors
            $0.ioQueueCount = 4
            if threaded { $0.executionMode = .threaded(latency: .microseconds(200), outOfOrder: false) }
        }, options: {
            $0.ioQueueCount = 4
            $0.completionInterrupts = true
        }, interposed: { $0.refuseInterruptTriggers = refuseTriggers })
    }

    /// Reads the eventfd's count (resetting it to 0); 0 when nothing signalled it.
    static func drain(_ fd: Int32) -> UInt64 {
        var count: UInt64 = 0
        return read(fd, &count, 8) == 8 ? count : 0
    }

    /// Submits one 4 KiB read on `pair` and announces it; returns the buffer it reads into,
    /// which the caller keeps until the read completes (the device may still be writing it).
    static func submitRead(_ rig: Rig, on pair: QueuePair, tag: UInt64) throws -> DMABuffer {
        let sink = try rig.controller.mapper.allocate(length: 4096)
        #expect(pair.submit(.io(.read, nsid: rig.nsid, lba: 0, blocks: 8), dataIOVA: sink.iova, dataLength: 4096, tag: tag) == .submitted)
        pair.ringDoorbell()
        return sink
    }

    @Test func eachIOCompletionQueueIsCreatedWithInterruptsOnAVectorOfItsOwn() throws {
        let rig = try Self.rig(vectors: 5)
        let creates = Self.createCompletionQueues(rig.device)
        #expect(creates.count == 4)
        for entry in creates {
            let qid = entry.cdw10 & 0xFFFF
            #expect(entry.cdw11 & 0b1 == 1, "PC: physically contiguous")
            #expect(entry.cdw11 & 0b10 != 0, "IEN set for queue \(qid)")
            #expect(entry.cdw11 >> 16 == qid, "IV of queue \(qid) is vector \(qid); vector 0 stays the admin queue's")
        }
        for queue in rig.controller.ioQueues {
            #expect(queue.queuePair.completionInterrupt?.vector == queue.id)
            #expect(queue.queuePair.canWaitForCompletion)
        }
    }

    @Test func aCompletionSignalsItsOwnQueuesEventfdOnly() throws {
        let rig = try Self.rig(vectors: 5)
        let pairs = rig.controller.ioQueues.map(\.queuePair)
        for pair in pairs { _ = Self.drain(pair.completionInterrupt!.descriptor) }
        let sink = try Self.submitRead(rig, on: pairs[1], tag: 1)
        #expect(pollUntil(pairs[1], { pairs[1].outstanding == 0 }))
        withExtendedLifetime(sink) {}  // read complete: the buffer may go
        #expect(Self.drain(pairs[1].completionInterrupt!.descriptor) == 1, "one completion, one signal on vector 2")
        for index in [0, 2, 3] { #expect(Self.drain(pairs[index].completionInterrupt!.descriptor) == 0) }
    }

    @Test func stopDisarmsTheVectorsAfterDeletingTheQueues() throws {
        let rig = try Self.rig(vectors: 5)
        #expect(rig.device?.armedVectors == 5, "vector 0 (admin, no trigger) and one per I/O queue")
        try rig.controller.stop()
        #expect(rig.device?.armedVectors == 0, "a stopped controller keeps no MSI-X set up")
        let deletions = (rig.device?.adminCommands ?? []).filter { $0.opcode == AdminOpcode.deleteIOCompletionQueue.rawValue }
        #expect(deletions.count == 4)
    }

    @Test func tooFewVectorsLeavesTheQueuesPolled() throws {
        // Four I/O queues need vectors 1...4 besides vector 0: four vectors are one short.
        let rig = try Self.rig(vectors: 4)
        for entry in Self.createCompletionQueues(rig.device) { #expect(entry.cdw11 & 0b10 == 0, "IEN clear") }
        for queue in rig.controller.ioQueues { #expect(queue.queuePair.completionInterrupt == nil) }
        let sink = try rig.controller.mapper.allocate(length: 4096)
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink).succeeded)
        #expect(rig.queue.queuePair.waitForCompletion(timeoutMilliseconds: 10_000) == .completion, "no interrupt: return at once, poll")
    }

    @Test func refusedTriggersLeaveTheQueuesPolled() throws {
        let rig = try Self.rig(vectors: 5, refuseTriggers: true)
        for entry in Self.createCompletionQueues(rig.device) { #expect(entry.cdw11 & 0b10 == 0, "IEN clear") }
        for queue in rig.controller.ioQueues { #expect(!queue.queuePair.canWaitForCompletion) }
        let sink = try rig.controller.mapper.allocate(length: 4096)
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink).succeeded)
    }

    @Test func withoutTheOptionNoQueueRaisesAnInterrupt() throws {
        let rig = try Rig({ $0.interruptVectors = 5; $0.ioQueueCount = 4 }, options: { $0.ioQueueCount = 4 }, interposed: { _ in })
        for entry in Self.createCompletionQueues(rig.device) { #expect(entry.cdw11 & 0b10 == 0) }
        for queue in rig.controller.ioQueues { #expect(queue.queuePair.completionInterrupt == nil) }
    }

    @Test func theWaitEndsWhenTheDevicePostsTheCompletion() throws {
        let rig = try Self.rig(vectors: 5, threaded: true)
        let pair = rig.queue.queuePair
        let sink = try Self.submitRead(rig, on: pair, tag: 3)
        var tags: [UInt64] = []
        // The bound only keeps a broken wait from hanging the test; the sleep ends at the signal.
        for _ in 0..<100 where pair.outstanding > 0 {
            let wake = pair.waitForCompletion(timeoutMilliseconds: 10_000)
            #expect(wake == .completion)
            pair.poll { tags.append($0.tag) }
        }
        #expect(tags == [3])
        withExtendedLifetime(sink) {}  // read complete: the buffer may go
    }

    @Test func aCompletionAlreadyPostedEndsTheWaitAtOnce() throws {
        // Inline: the completion is in the queue when the doorbell write returns, and its signal
        // is drained by the wait before it looks: only the look at the queue can end it.
        let rig = try Self.rig(vectors: 5)
        let pair = rig.queue.queuePair
        let sink = try Self.submitRead(rig, on: pair, tag: 4)
        #expect(pair.completionPending)
        #expect(pair.waitForCompletion(timeoutMilliseconds: 60_000) == .completion)
        #expect(pair.poll { _ in } == 1)
        withExtendedLifetime(sink) {}  // read complete: the buffer may go
        #expect(!pair.completionPending)
    }

    @Test func theWaitTimesOutWithNothingAtTheDeviceAndWakesForTheOtherDescriptor() throws {
        let rig = try Self.rig(vectors: 5)
        let pair = rig.queue.queuePair
        #expect(pair.waitForCompletion(timeoutMilliseconds: 1).isEmpty)
        let other = cvfio_eventfd()
        try #require(other >= 0)
        defer { close(other) }
        var one: UInt64 = 1
        #expect(write(other, &one, 8) == 8)
        #expect(pair.waitForCompletion(alsoWatching: other, timeoutMilliseconds: 60_000) == .other)
    }

    @Test func aResetRecreatesTheQueuesWithTheirVectors() throws {
        let rig = try Self.rig(vectors: 5)
        let before = Self.createCompletionQueues(rig.device).count
        let core = rig.controller.core
        #expect(core.recover(reason: "test", seenEpoch: core.epoch.value.load(ordering: .acquiring)))
        let pair = rig.queue.queuePair
        #expect(pair.completionPending, "the reset is there for the owner to catch up on")
        #expect(pair.poll { _ in } == 0)  // catches up: queue 1 is created again
        let again = Self.createCompletionQueues(rig.device).dropFirst(before)
        #expect(!again.isEmpty)
        for entry in again {
            #expect(entry.cdw11 & 0b10 != 0 && entry.cdw11 >> 16 == entry.cdw10 & 0xFFFF, "IEN and IV as at bring-up")
        }
        _ = Self.drain(pair.completionInterrupt!.descriptor)
        let sink = try Self.submitRead(rig, on: pair, tag: 5)
        #expect(pollUntil(pair, { pair.outstanding == 0 }))
        withExtendedLifetime(sink) {}  // read complete: the buffer may go
        #expect(Self.drain(pair.completionInterrupt!.descriptor) == 1, "the vector still signals after the reset")
    }
}
