import DMAMapper
import Foundation
import MockNVMe
import NVMe
import Testing

/// Doorbell Buffer Config (NVMe Base 2.0, 5.10; admin 7Ch, OACS bit 8): shadow doorbells and
/// EventIdx, driven by a host that follows Linux's and QEMU's rule (`ShadowDoorbellHost`).
@Suite("Shadow doorbells")
struct ShadowDoorbellTests {
    static func harness(_ configure: (inout MockConfiguration) -> Void = { _ in }, entries: Int = 64) throws -> Harness {
        var configuration = MockConfiguration()
        configure(&configuration)
        let harness = try Harness(configuration)
        try harness.createQueuePair(1, entries: entries)
        return harness
    }

    @Test func advertisedInOACSAndSwitchable() throws {
        let on = try Self.harness()
        #expect(try ShadowDoorbellHost(on).identifyController().supportsDoorbellBufferConfig)
        #expect(try ShadowDoorbellHost(on).configure().isSuccess)
        let off = try Self.harness { $0.doorbellBufferConfig = false }
        #expect(try !ShadowDoorbellHost(off).identifyController().supportsDoorbellBufferConfig)
        let status = try ShadowDoorbellHost(off).configure()
        #expect(status.type == .generic && status.code == GenericStatus.invalidCommandOpcode.rawValue)
    }

    /// PRP1 and PRP2 must be memory page aligned (CC.MPS): else Invalid Field in Command, and
    /// the controller keeps using MMIO doorbells only.
    @Test func unalignedBuffersRefused() throws {
        let harness = try Harness(MockConfiguration(), enable: false, pageSize: 8192)
        harness.enable(mps: 1)
        try harness.createQueuePair(1)
        let buffer = try harness.allocate(16384)
        let cases: [(UInt64, UInt64)] = [
            (buffer.iova + 4, buffer.iova + 8192),     // PRP1 dword offset
            (buffer.iova, buffer.iova + 8192 + 512),   // PRP2 offset
            (buffer.iova + 4096, buffer.iova + 8192),  // 4 KiB aligned, not 8 KiB (CC.MPS = 1)
        ]
        for (shadow, event) in cases {
            let status = harness.execute(.doorbellBufferConfig(shadowDoorbellIOVA: shadow, eventIndexIOVA: event)).status
            #expect(status.type == .generic && status.code == GenericStatus.invalidFieldInCommand.rawValue && status.doNotRetry,
                    "PRP1 \(shadow) PRP2 \(event): \(status)")
        }
        // Not configured: MMIO doorbells alone still work.
        #expect(try harness.read(lba: 0, blocks: 1).0.isSuccess)
        #expect(harness.execute(.doorbellBufferConfig(shadowDoorbellIOVA: buffer.iova, eventIndexIOVA: buffer.iova + 8192)).status.isSuccess)
    }

    /// The mock counts every MMIO doorbell write, per queue and in total.
    @Test func countsMMIODoorbellWrites() throws {
        let harness = try Self.harness()
        let before = harness.controller.statistics
        for _ in 0..<3 { _ = try harness.read(lba: 0, blocks: 1) }  // one SQ tail and one CQ head write each
        let after = harness.controller.statistics
        #expect(after.submissionTailDoorbellWrites[1] - before.submissionTailDoorbellWrites[1] == 3)
        #expect(after.completionHeadDoorbellWrites[1] - before.completionHeadDoorbellWrites[1] == 3)
        #expect(after.submissionTailDoorbellWrites[0] == before.submissionTailDoorbellWrites[0])
        #expect(after.mmioDoorbellWrites - before.mmioDoorbellWrites == 6)
        #expect(harness.controller.mmioDoorbellWrites == after.mmioDoorbellWrites)
    }

    /// Runs `batches` batches of `batch` writes then reads of distinct blocks through `host`,
    /// checking the data; returns the MMIO doorbell writes the controller received on queue 1.
    static func run(_ host: ShadowDoorbellHost, batches: Int, batch: Int, pollUntilDone: Bool = true) throws -> UInt64 {
        let harness = host.harness
        let before = harness.controller.statistics
        let buffer = try harness.allocate(batch * 512)
        for round in 0..<batches {
            let seed = UInt8(truncatingIfNeeded: round)
            let pattern = Harness.pattern(batch * 512, seed: seed)
            pattern.withUnsafeBytes { buffer.address.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            for write in [true, false] {
                if !write { memset(buffer.address, 0xEE, batch * 512) }
                let entries = (0..<batch).map { index in
                    var entry = SubmissionQueueEntry.io(write ? .write : .read, nsid: 1, lba: UInt64(round * batch + index), blocks: 1)
                    entry.dptr1 = buffer.iova + UInt64(index * 512)
                    return entry
                }
                host.submit(entries, qid: 1)
                var done: [CompletionQueueEntry] = []
                let deadline = ContinuousClock.now + .seconds(30)
                while done.count < batch && ContinuousClock.now < deadline {
                    let found = host.poll(qid: 1)
                    if found.isEmpty { usleep(20) }
                    done += found
                }
                #expect(done.count == batch && done.allSatisfy(\.status.isSuccess), "round \(round): \(done.count) of \(batch)")
            }
            #expect(Array(UnsafeRawBufferPointer(start: buffer.address, count: batch * 512)) == pattern, "round \(round)")
        }
        let after = harness.controller.statistics
        return after.submissionTailDoorbellWrites[1] - before.submissionTailDoorbellWrites[1]
            + after.completionHeadDoorbellWrites[1] - before.completionHeadDoorbellWrites[1]
    }

    /// Inline, the controller rests after every doorbell, so each new tail passes EventIdx and
    /// rings; the completion queue never has to, as it never fills: half the writes of a host
    /// without shadow doorbells (which rings both for every batch).
    @Test func inlineHostRingsOnlyForNewCommands() throws {
        let plain = try Self.harness()
        let plainWrites = try Self.run(ShadowDoorbellHost(plain), batches: 50, batch: 4)
        #expect(plainWrites == 200)  // not configured: every update rings

        let shadowed = try Self.harness()
        let host = try ShadowDoorbellHost(shadowed)
        #expect(host.configure().isSuccess)
        let writes = try Self.run(host, batches: 50, batch: 4)
        #expect(writes == 100, "one SQ tail write per batch, no CQ head write: \(writes)")
        #expect(writes == UInt64(host.mmioWrites))
    }

    /// Threaded, a device with completions still to post reads the shadows when it wakes, so a
    /// host keeping it busy rings far less than once per update.
    @Test func threadedHostRingsFarLess() throws {
        // Jittered latencies (0.5x-1.5x), so completions trickle in as on a device with parallel media.
        let harness = try Self.harness { $0.executionMode = .threaded(latency: .milliseconds(2), outOfOrder: true) }
        let host = try ShadowDoorbellHost(harness)
        #expect(host.configure().isSuccess)
        let before = harness.controller.statistics.submissionTailDoorbellWrites[1]
        // 512 flushes, 32 in flight, each completion replaced at once.
        var submitted = 0
        var completed = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while completed < 512 && ContinuousClock.now < deadline {
            let room = min(32 - (submitted - completed), 512 - submitted)
            if room > 0 {
                host.submit((0..<room).map { _ in .flush(nsid: 1) }, qid: 1)
                submitted += room
            }
            let found = host.poll(qid: 1)
            #expect(found.allSatisfy { $0.status.isSuccess })
            completed += found.count
            if found.isEmpty { usleep(50) }
        }
        #expect(completed == 512)
        let updates = host.mmioWrites + host.shadowOnlyUpdates
        let mmio = harness.controller.statistics.submissionTailDoorbellWrites[1] - before
            + harness.controller.statistics.completionHeadDoorbellWrites[1]
        #expect(mmio == UInt64(host.mmioWrites))
        #expect(host.mmioWrites * 4 < updates, "\(host.mmioWrites) MMIO writes for \(updates) doorbell updates")
    }

    /// A tail written only to the shadow, because EventIdx said the busy device would look
    /// anyway, is executed; so is a head written only to the shadow, which the controller reads
    /// when the completion queue would otherwise be full.
    @Test func shadowOnlyUpdatesAreNotLost() throws {
        // Completion queue head: 8 entries, 7 usable.
        let inline = try Self.harness(entries: 8)
        let host = try ShadowDoorbellHost(inline)
        #expect(host.configure().isSuccess)
        host.submit((0..<5).map { _ in .flush(nsid: 1) }, qid: 1)
        #expect(host.poll(qid: 1).count == 5)
        #expect(host.shadowOnlyUpdates == 1, "the head moved with room left: no MMIO write")
        host.submit((0..<5).map { _ in .flush(nsid: 1) }, qid: 1)
        #expect(host.poll(qid: 1).count == 5, "the controller read the shadow head")

        // Submission queue tail, threaded: the device holds a completion for 500 ms.
        let threaded = try Self.harness { $0.executionMode = .threaded(latency: .milliseconds(500), outOfOrder: false) }
        let busyHost = try ShadowDoorbellHost(threaded)
        #expect(busyHost.configure().isSuccess)
        #expect(busyHost.submit([.flush(nsid: 1), .flush(nsid: 1)], qid: 1), "an idle device needs the doorbell")
        ThreadedModeTests.waitUntil { busyHost.eventValue(doorbell: 2) == 1 }  // fetched: EventIdx one behind the tail
        #expect(!busyHost.submit([.flush(nsid: 1)], qid: 1), "a busy device reads the shadow itself")
        var done: [CompletionQueueEntry] = []
        ThreadedModeTests.waitUntil {
            done += busyHost.poll(qid: 1)
            return done.count == 3
        }
        #expect(done.count == 3 && done.allSatisfy(\.status.isSuccess))
        #expect(threaded.controller.statistics.submissionTailDoorbellWrites[1] == 1)
    }

    /// A controller reset forgets the buffers: the MMIO value counts again, EventIdx is left
    /// alone, and the host must configure them again.
    @Test func resetClearsConfiguration() throws {
        let harness = try Self.harness()
        let host = try ShadowDoorbellHost(harness)
        #expect(host.configure().isSuccess)
        host.submit([.flush(nsid: 1)], qid: 1)
        #expect(host.poll(qid: 1).count == 1)
        try harness.resetController()
        try harness.createQueuePair(1)
        // A stale shadow tail of 0 would hide the command; the MMIO value 1 must be used.
        host.setShadow(0, doorbell: 2)
        host.setEvent(0xDEAD, doorbell: 2)
        host.setEvent(0xDEAD, doorbell: 3)
        harness.submit(.flush(nsid: 1), qid: 1)
        #expect(harness.poll(qid: 1).count == 1)
        #expect(host.eventValue(doorbell: 2) == 0xDEAD && host.eventValue(doorbell: 3) == 0xDEAD)
        // Configured again: the shadows take the queue's current values, and the rule applies.
        #expect(host.configure().isSuccess)
        #expect(host.shadowValue(doorbell: 2) == 1 && host.eventValue(doorbell: 2) == 1)
        host.submit([.flush(nsid: 1)], qid: 1)
        #expect(host.poll(qid: 1).count == 1)
    }

    /// The admin queue keeps its MMIO doorbells: its shadow slots are neither read nor written.
    @Test func adminQueueUsesMMIODoorbells() throws {
        let harness = try Self.harness()
        let host = try ShadowDoorbellHost(harness)
        #expect(host.configure().isSuccess)
        host.setShadow(0xBAD, doorbell: 0)
        host.setShadow(0xBAD, doorbell: 1)
        #expect(try host.identifyController().supportsDoorbellBufferConfig)
        #expect(host.shadowValue(doorbell: 0) == 0xBAD && host.eventValue(doorbell: 0) == 0)
    }
}
