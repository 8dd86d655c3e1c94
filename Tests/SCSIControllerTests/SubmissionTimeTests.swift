import MockNVMe
import NVMe
import Testing
@testable import SCSIController

/// A completion carries the time its batch was submitted (`Completion.submittedAt`): the clock
/// the batch's first command read, so a caller times commands with one clock read of its own per
/// poll pass. The watchdog's deadlines count from the same stamp.
@Suite struct SubmissionTimeTests {
    @Test func eachCompletionCarriesItsBatchsSubmissionTime() throws {
        let rig = try Rig({ $0.doorbellBufferConfig = false }, interposed: { _ in })
        let qp = rig.queue.queuePair
        let buffer = try rig.controller.mapper.allocate(length: 4 * 4096)
        var bounds: [(UInt64, UInt64)] = []
        var times: [UInt64: UInt64] = [:]
        for batch in 0..<2 {
            let before = MonotonicClock.nanoseconds()
            for index in 0..<2 {
                let tag = UInt64(batch * 2 + index)
                let read = SubmissionQueueEntry.io(.read, nsid: rig.nsid, lba: tag * 8, blocks: 8)
                #expect(qp.submit(read, dataIOVA: buffer.iova + tag * 4096, dataLength: 4096, tag: tag) == .submitted)
            }
            qp.ringDoorbell()
            bounds.append((before, MonotonicClock.nanoseconds()))
            var handled = 0
            for _ in 0..<1000 where handled < 2 {
                handled += qp.poll { times[$0.tag] = $0.submittedAt }
            }
            #expect(handled == 2)
        }
        for batch in 0..<2 {
            let (first, second) = (try #require(times[UInt64(batch * 2)]), try #require(times[UInt64(batch * 2 + 1)]))
            #expect(first == second, "one clock read per batch")
            #expect(bounds[batch].0 <= first && first <= bounds[batch].1, "read while the batch was submitted")
        }
    }
}
