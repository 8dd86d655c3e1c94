import DMAMapper
import Foundation
import MockNVMe
import NVMe
import Testing

/// The threaded execution mode's timing model, and Abort (NVMe Base 2.0, 5.1) where commands
/// are fetched and executed before their completions are due.
@Suite("Threaded mode: latency, ordering, Abort")
struct ThreadedModeTests {
    static func harness(latency: Duration, outOfOrder: Bool, _ configure: (inout MockConfiguration) -> Void = { _ in }) throws -> Harness {
        try Harness.withQueuePair {
            $0.executionMode = .threaded(latency: latency, outOfOrder: outOfOrder)
            configure(&$0)
        }
    }

    /// Waits until `condition` holds, at most 30 s (so a broken device fails the test instead),
    /// sleeping between looks so the device thread gets the controller lock on a busy machine.
    static func waitUntil(_ condition: () -> Bool) {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() && ContinuousClock.now < deadline { usleep(200) }
    }

    /// In order, every completion arrives no sooner than the latency after its doorbell; out of
    /// order, no sooner than half of it (the jitter is 0.5x-1.5x).
    @Test(arguments: [false, true])
    func latencyIsALowerBound(outOfOrder: Bool) throws {
        let latency = Duration.milliseconds(30)
        let harness = try Self.harness(latency: latency, outOfOrder: outOfOrder)
        for _ in 0..<3 {
            for _ in 0..<4 { harness.place(.flush(nsid: 1), qid: 1) }
            let start = ContinuousClock.now
            harness.ring(qid: 1)
            let first = harness.wait(for: 1, qid: 1)
            let elapsed = start.duration(to: .now)
            #expect(first.count >= 1)
            #expect(elapsed >= (outOfOrder ? latency / 2 : latency), "first completion after \(elapsed)")
            _ = harness.wait(for: 4 - first.count, qid: 1)
        }
    }

    /// One batch of 32 commands fetched in one pass gets 32 seeded jitters: the completions come
    /// back in a different order than submitted (the chance of the identity is 1/32!). In order
    /// mode, the same batch comes back in order.
    @Test func outOfOrderCompletionsArePermuted() throws {
        for outOfOrder in [true, false] {
            let harness = try Self.harness(latency: .milliseconds(20), outOfOrder: outOfOrder) { $0.randomSeed = 99 }
            var ids: [UInt16] = []
            for _ in 0..<32 { ids.append(harness.place(.flush(nsid: 1), qid: 1)) }
            harness.ring(qid: 1)
            let order = harness.wait(for: 32, qid: 1).map(\.commandID)
            #expect(Set(order) == Set(ids) && order.count == 32)
            if outOfOrder {
                #expect(order != ids, "out of order mode returned submission order")
            } else {
                #expect(order == ids)
            }
        }
    }

    /// A command that has executed but whose completion waits out the latency cannot be undone:
    /// Abort reports Dword 0 bit 0 = 1 (not aborted) and the command completes as it ran.
    @Test func abortOfAnExecutedCommandReportsNotAborted() throws {
        let harness = try Self.harness(latency: .seconds(1), outOfOrder: false)
        let buffer = try harness.allocate(4096)
        let pattern = Harness.pattern(512, seed: 51)
        pattern.withUnsafeBytes { buffer.address.copyMemory(from: $0.baseAddress!, byteCount: 512) }
        var write = SubmissionQueueEntry.io(.write, nsid: 1, lba: 9, blocks: 1)
        write.dptr1 = buffer.iova
        let victim = harness.submit(write, qid: 1)
        Self.waitUntil { harness.controller.statistics.hostWriteCommands == 1 }
        // The write has run (its data is on the media) and its completion is not yet due.
        try #require(harness.controller.statistics.hostWriteCommands == 1)
        #expect(harness.poll(qid: 1, ringHead: false).isEmpty)
        let abort = harness.execute(.abort(queueID: 1, commandID: victim))
        #expect(abort.status.isSuccess)
        #expect(abort.dw0 & 1 == 1)
        let completion = harness.wait(for: 1, qid: 1)
        #expect(completion.map(\.commandID) == [victim])
        #expect(completion.first?.status.isSuccess == true)
        #expect(harness.controller.mediaContents(nsid: 1, lba: 9, count: 1) == pattern)
    }

    /// ACL = 1 allows two Aborts outstanding: a third in the same batch completes with Abort
    /// Command Limit Exceeded (SCT 1h, SC 03h); once the first two are posted, Aborts work again.
    @Test func abortCommandLimit() throws {
        let harness = try Self.harness(latency: .milliseconds(100), outOfOrder: false) { $0.acl = 1 }
        var ids: [UInt16] = []
        for command in UInt16(1)...3 { ids.append(harness.place(.abort(queueID: 1, commandID: 900 + command))) }
        harness.ring()
        let completions = harness.wait(for: 3)
        #expect(completions.map(\.commandID) == ids)
        #expect(completions.prefix(2).allSatisfy { $0.status.isSuccess && $0.dw0 & 1 == 1 })
        #expect(completions.last?.status.type == .commandSpecific && completions.last?.status.code == 0x03)
        #expect(harness.execute(.abort(queueID: 1, commandID: 999)).status.isSuccess)
    }

    @Test func identifyReportsTheAbortLimit() throws {
        var configuration = MockConfiguration()
        configuration.acl = 6
        let harness = try Harness(configuration)
        let buffer = try harness.allocate(4096)
        #expect(harness.execute(.identify(.controller), buffer: buffer).status.isSuccess)
        #expect(buffer.address.load(fromByteOffset: 258, as: UInt8.self) == 6)  // ACL, 0's based
    }
}
