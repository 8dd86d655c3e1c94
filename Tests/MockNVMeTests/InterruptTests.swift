#if canImport(Glibc)
import Glibc
#endif
import CVFIO
import MockNVMe
import NVMe
import Testing

/// The mock's MSI-X (`MockConfiguration.interruptVectors`): Create I/O Completion Queue with IEN
/// set takes a vector the controller has and refuses one beyond with Invalid Interrupt Vector
/// (NVMe Base 2.0, 5.4: SCT 1h, SC 08h); a completion posted to such a queue raises its vector,
/// signalling the eventfd the host set for it; a queue with IEN clear raises nothing.
@Suite struct InterruptTests {
    static func eventfd() throws -> Int32 {
        let fd = cvfio_eventfd_nonblocking()
        try #require(fd >= 0)
        return fd
    }

    static func count(_ fd: Int32) -> UInt64 {
        var value: UInt64 = 0
        return read(fd, &value, 8) == 8 ? value : 0
    }

    @Test func aVectorBeyondTheControllersIsInvalid() throws {
        var configuration = MockConfiguration()
        configuration.interruptVectors = 3
        let harness = try Harness(configuration)
        let memory = try harness.allocate(4096)
        let beyond = try harness.execute(.createIOCompletionQueue(id: 1, entryCount: 16, baseIOVA: memory.iova, interruptsEnabled: true, vector: 3))
        #expect(beyond.status.type == .commandSpecific && beyond.status.code == 0x08)
        #expect(try harness.execute(.createIOCompletionQueue(id: 1, entryCount: 16, baseIOVA: memory.iova, interruptsEnabled: true, vector: 2)).status.isSuccess)
    }

    @Test func aCompletionOnAQueueWithInterruptsSignalsItsVector() throws {
        var configuration = MockConfiguration()
        configuration.interruptVectors = 3
        let harness = try Harness(configuration)
        let (zero, one, two) = (try Self.eventfd(), try Self.eventfd(), try Self.eventfd())
        defer { close(zero); close(one); close(two) }
        try harness.controller.setInterruptTriggers([zero, one, two])
        let pair = try Harness.QueuePair(id: 1, mapper: harness.mapper, sqEntries: 16, cqEntries: 16)
        _ = Self.count(zero)  // the admin completions so far raised vector 0
        #expect(try harness.execute(.createIOCompletionQueue(id: 1, entryCount: 16, baseIOVA: pair.cq.iova, interruptsEnabled: true, vector: 2)).status.isSuccess)
        #expect(Self.count(zero) == 1, "the admin queue's completion raises vector 0")
        #expect(try harness.execute(.createIOSubmissionQueue(id: 1, entryCount: 16, baseIOVA: pair.sq.iova, completionQueueID: 1)).status.isSuccess)
        _ = Self.count(zero)
        harness.queues[1] = pair
        #expect(try harness.read(lba: 0, blocks: 8).0.isSuccess)
        #expect(try harness.read(lba: 8, blocks: 8).0.isSuccess)
        #expect(Self.count(two) == 2, "one signal per completion on vector 2")
        #expect(Self.count(one) == 0 && Self.count(zero) == 0)
    }

    @Test func aQueueWithInterruptsDisabledRaisesNothing() throws {
        var configuration = MockConfiguration()
        configuration.interruptVectors = 2
        let harness = try Harness(configuration)
        let fd = try Self.eventfd()
        defer { close(fd) }
        try harness.controller.setInterruptTriggers([-1, fd])
        try harness.createQueuePair(1)
        #expect(try harness.read(lba: 0, blocks: 8).0.isSuccess)
        #expect(Self.count(fd) == 0)
    }

    @Test func moreTriggersThanVectorsAreRefused() throws {
        let harness = try Harness()
        #expect(throws: (any Error).self) { try harness.controller.setInterruptTriggers([-1, -1]) }
    }
}
