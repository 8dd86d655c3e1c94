import MockNVMe
import NVMe
import Testing
@testable import SCSIController

/// Doorbell writes cost a VM exit on emulated controllers: one SQ tail write per submitted batch
/// and one CQ head write per poll pass that consumed something, counted at the register. These
/// are the register doorbells of a controller without Doorbell Buffer Config (ShadowDoorbell*Tests
/// cover shadow doorbells).
@Suite struct DoorbellTests {
    @Test func oneSQTailWritePerBatchAndOneCQHeadWritePerPollPass() throws {
        let rig = try Rig({ $0.doorbellBufferConfig = false }, interposed: { _ in })
        let device = try #require(rig.device)
        let qp = rig.queue.queuePair
        let sqTail = device.submissionDoorbell(1)
        let cqHead = device.completionDoorbell(1)
        let (sqBefore, cqBefore) = (device.writes(at: sqTail), device.writes(at: cqHead))
        let buffer = try rig.controller.mapper.allocate(length: 8 * 4096)
        for index in 0..<8 {
            let read = SubmissionQueueEntry.io(.read, nsid: rig.nsid, lba: UInt64(index * 8), blocks: 8)
            #expect(qp.submit(read, dataIOVA: buffer.iova + UInt64(index * 4096), dataLength: 4096, tag: UInt64(index)) == .submitted)
        }
        #expect(device.writes(at: sqTail) == sqBefore)
        qp.ringDoorbell()
        qp.ringDoorbell()  // nothing new: no write
        #expect(device.writes(at: sqTail) == sqBefore + 1)
        // Inline, the mock posted all eight at the doorbell: one pass takes them with one write.
        #expect(qp.poll { _ in } == 8)
        #expect(device.writes(at: cqHead) == cqBefore + 1)
        #expect(qp.poll { _ in } == 0)  // nothing consumed: no write
        #expect(device.writes(at: cqHead) == cqBefore + 1)
    }

    /// A request broken into pieces rings once per batch it submits: 16 pieces in a 64-entry
    /// queue are one batch; 8 pieces in a 4-entry queue (3 in flight) are three (3 + 3 + 2).
    @Test(arguments: [(64, 16, 1), (4, 8, 3)])
    func aBrokenUpRequestRingsOncePerBatch(depth: Int, pieces: Int, batches: Int) throws {
        let rig = try Rig({ $0.mdts = 1; $0.doorbellBufferConfig = false }, options: { $0.ioQueueDepth = depth }, interposed: { _ in })
        let device = try #require(rig.device)
        let (sqBefore, cqBefore) = (device.writes(at: device.submissionDoorbell(1)), device.writes(at: device.completionDoorbell(1)))
        let source = try rig.patterned(bytes: pieces * 8192, seed: 8)
        let outcome = rig.queue.write(nsid: rig.nsid, lba: 0, blocks: pieces * 16, from: source)
        #expect(outcome.succeeded && outcome.commands == pieces)
        #expect(device.writes(at: device.submissionDoorbell(1)) == sqBefore + batches)
        #expect(device.writes(at: device.completionDoorbell(1)) == cqBefore + batches)
    }
}
