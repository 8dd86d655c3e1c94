import Foundation
import MockNVMe
import NVMe
import Testing
@testable import SCSIController

/// Shadow doorbells end to end: the engine's host side against the mock's controller side
/// (NVMe Base 2.0, Doorbell Buffer Config). The mock counts the MMIO doorbell writes it receives.
@Suite struct ShadowDoorbellMockTests {
    /// Runs `batches` batches of 32 reads on the raw queue pair and returns the MMIO doorbell
    /// writes the mock received meanwhile.
    func registerWrites(_ rig: Rig, batches: Int) throws -> UInt64 {
        let qp = rig.queue.queuePair
        let sink = try rig.controller.mapper.allocate(length: 32 * 4096)
        let before = rig.mock.mmioDoorbellWrites
        for _ in 0..<batches {
            for slot in 0..<32 {
                let entry = SubmissionQueueEntry.io(.read, nsid: rig.nsid, lba: UInt64(slot * 8), blocks: 8)
                guard case .submitted = qp.submit(entry, dataIOVA: sink.iova + UInt64(slot * 4096), dataLength: 4096,
                                                  tag: UInt64(slot)) else {
                    Issue.record("submit refused"); return 0
                }
            }
            qp.ringDoorbell()
            var done = 0
            while done < 32 { done += qp.poll { #expect($0.status.isSuccess) } }
        }
        return rig.mock.mmioDoorbellWrites - before
    }

    /// Inline, the mock has consumed everything at each SQ doorbell and set the CQ head's EventIdx
    /// to its tail, so the host's CQ head updates stay in the shadow: one register write per batch
    /// instead of two.
    @Test func fewerRegisterWritesWithTheRealMock() throws {
        let shadowed = try Rig({ $0.doorbellBufferConfig = true })
        let plain = try Rig({ $0.doorbellBufferConfig = false })
        #expect(shadowed.controller.usesShadowDoorbells && !plain.controller.usesShadowDoorbells)
        let withShadow = try registerWrites(shadowed, batches: 100)
        let without = try registerWrites(plain, batches: 100)
        #expect(without == 200)
        #expect(withShadow <= 101)
    }

    /// A reset (the command timeout path) forgets the buffers; the engine configures them again
    /// and data written before and after survives, read back through the shadowed queue.
    @Test func nothingLostAcrossAReset() throws {
        let rig = try Rig({ $0.ioQueueCount = 2 }, options: { $0.ioQueueCount = 2 })
        let before = try rig.patterned(bytes: 64 * 1024, seed: 7)
        #expect(rig.queue.write(nsid: rig.nsid, lba: 0, blocks: 128, from: before).succeeded)
        rig.mock.inject(.neverComplete(.io(.write, count: 1)))
        rig.mock.inject(.failCommands(.admin(.abort, count: 1), status: CompletionStatus(.abortCommandLimitExceeded)))
        let lost = try rig.patterned(bytes: 4096, seed: 8)
        _ = rig.controller.ioQueues[1].write(nsid: rig.nsid, lba: 1000, blocks: 8, from: lost)
        #expect(rig.controller.resetCount == 1)
        #expect(rig.controller.usesShadowDoorbells && rig.queue.queuePair.usesShadowDoorbells)
        let after = try rig.patterned(bytes: 64 * 1024, seed: 9)
        #expect(rig.queue.write(nsid: rig.nsid, lba: 128, blocks: 128, from: after).succeeded)
        let sink = try rig.controller.mapper.allocate(length: 128 * 1024)
        #expect(rig.controller.ioQueues[1].read(nsid: rig.nsid, lba: 0, blocks: 256, into: sink).succeeded)
        #expect(memcmp(sink.address, before.address, 64 * 1024) == 0)
        #expect(memcmp(sink.address + 64 * 1024, after.address, 64 * 1024) == 0)
        #expect(try registerWrites(rig, batches: 10) <= 11)
    }
}
