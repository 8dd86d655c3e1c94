import Dispatch
import Foundation
import DMAMapper
import MockNVMe
import NVMe
import Testing

@Suite("Execution modes")
struct ExecutionModeTests {
    /// Each worker owns queue pair `qid`: it writes batches of distinct blocks, reads them back in
    /// batches, and checks every completion and every byte.
    /// `buffers` are allocated before the threads start: the software IOMMU's own Mutex is
    /// invisible to the thread sanitizer (see the report), so mapping stays out of the concurrent phase.
    static func worker(_ harness: Harness, qid: UInt16, batches: Int, buffers: [DMABuffer]) -> Int {
        var verified = 0
        let base = UInt64(qid) * 10_000
        let batchSize = buffers.count
        for batch in 0..<batches {
            var ids: Set<UInt16> = []
            for (index, buffer) in buffers.enumerated() {
                let lba = base + UInt64(batch * batchSize + index) * 8
                let pattern = Harness.pattern(4096, seed: UInt8(truncatingIfNeeded: lba))
                pattern.withUnsafeBytes { buffer.address.copyMemory(from: $0.baseAddress!, byteCount: 4096) }
                var write = SubmissionQueueEntry.io(.write, nsid: 1, lba: lba, blocks: 8)
                write.dptr1 = buffer.iova
                ids.insert(harness.place(write, qid: qid))
            }
            harness.ring(qid: qid)
            let written = harness.wait(for: batchSize, qid: qid)
            #expect(Set(written.map(\.commandID)) == ids)
            #expect(written.allSatisfy { $0.status.isSuccess && $0.sqID == qid })

            for buffer in buffers { buffer.address.initializeMemory(as: UInt8.self, repeating: 0, count: 4096) }
            for (index, buffer) in buffers.enumerated() {
                var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: base + UInt64(batch * batchSize + index) * 8, blocks: 8)
                read.dptr1 = buffer.iova
                harness.place(read, qid: qid)
            }
            harness.ring(qid: qid)
            let read = harness.wait(for: batchSize, qid: qid)
            #expect(read.count == batchSize && read.allSatisfy { $0.status.isSuccess })
            for (index, buffer) in buffers.enumerated() {
                let lba = base + UInt64(batch * batchSize + index) * 8
                let same = Array(UnsafeRawBufferPointer(start: buffer.address, count: 4096)) == Harness.pattern(4096, seed: UInt8(truncatingIfNeeded: lba))
                #expect(same, "queue \(qid) LBA \(lba)")
                if same { verified += 1 }
            }
        }
        return verified
    }

    static func concurrentRun(_ mode: ExecutionMode, queues: Int) throws {
        var configuration = MockConfiguration()
        configuration.executionMode = mode
        let harness = try Harness(configuration)
        for qid in 1...queues {
            #expect(try harness.createQueuePair(UInt16(qid), entries: 32) == (.success, .success))
        }
        let results = ResultBox(count: queues)
        let buffers = try (0..<queues).map { _ in try (0..<16).map { _ in try harness.allocate(4096) } }
        DispatchQueue.concurrentPerform(iterations: queues) { index in
            results.set(index, worker(harness, qid: UInt16(index + 1), batches: 6, buffers: buffers[index]))
        }
        #expect(results.values == Array(repeating: 6 * 16, count: queues))
        #expect(harness.controller.statistics.hostWriteCommands == UInt64(queues * 6 * 16))
        #expect(harness.controller.dmaFaults.isEmpty)
    }

    @Test func threadedManyQueuesFromManyThreads() throws {
        try Self.concurrentRun(.threaded(latency: .microseconds(20), outOfOrder: true), queues: 4)
    }

    @Test func inlineManyQueuesFromManyThreads() throws {
        try Self.concurrentRun(.inline, queues: 4)
    }

    @Test func threadedAdminAndOrdering() throws {
        var configuration = MockConfiguration()
        configuration.executionMode = .threaded(latency: .microseconds(50), outOfOrder: false)
        let harness = try Harness(configuration)
        let identify = harness.execute(.identify(.controller), buffer: try harness.allocate(4096))
        #expect(identify.status.isSuccess)
        try harness.createQueuePair(1, entries: 64)
        // In order: completions arrive in submission order.
        var ids: [UInt16] = []
        for _ in 0..<20 { ids.append(harness.place(.flush(nsid: 1), qid: 1)) }
        harness.ring(qid: 1)
        #expect(harness.wait(for: 20, qid: 1).map(\.commandID) == ids)
    }

    @Test func threadedAbortOfHeldCommand() throws {
        var configuration = MockConfiguration()
        configuration.executionMode = .threaded(latency: .microseconds(100), outOfOrder: false)
        let harness = try Harness(configuration)
        try harness.createQueuePair(1)
        harness.controller.inject(.neverComplete(.io(.flush, count: 1)))
        let victim = harness.submit(.flush(nsid: 1), qid: 1)
        // The device thread fetches on its own schedule; an Abort racing ahead of the fetch would
        // rightly find nothing, so wait until the command is held.
        var spins = 0
        while harness.controller.statistics.heldCommands == 0 && spins < 10_000_000 { spins += 1; sched_yield() }
        let abort = harness.execute(.abort(queueID: 1, commandID: victim))
        #expect(abort.status.isSuccess)
        #expect(abort.dw0 & 1 == 0)
        let aborted = harness.wait(for: 1, qid: 1)
        #expect(aborted.map(\.commandID) == [victim])
        #expect(aborted.first?.status.matches(.abortRequested) == true)
    }

    /// Dropping a threaded controller with a command in flight: its deinit returns, the
    /// controller and everything its device thread held (down to the IOMMU) are freed, and the
    /// command that was due later is never posted into host memory that outlives it.
    @Test func threadedControllerGoesAwayCleanly() throws {
        var configuration = MockConfiguration()
        configuration.executionMode = .threaded(latency: .milliseconds(50), outOfOrder: true)
        for _ in 0..<3 {
            weak var controller: MockController?
            weak var iommu: SoftwareIOMMU?
            var pending: Harness.QueuePair?
            do {
                let harness = try Harness(configuration)
                controller = harness.controller
                iommu = harness.controller.softwareIOMMU
                #expect(harness.execute(.identify(.controller), buffer: try harness.allocate(4096)).status.isSuccess)
                try harness.createQueuePair(1)
                harness.submit(.flush(nsid: 1), qid: 1)  // due 25-75 ms from now
                pending = harness.queues[1]
            }
            #expect(controller == nil, "the controller outlived its last reference")
            usleep(150_000)  // past the flush's latency
            let phase = DMAOrdering.loadAcquiring(at: pending!.cq.address + 12) >> 16 & 1
            #expect(phase == 0, "a completion was posted after the controller went away")
            pending = nil
            #expect(iommu == nil, "the device thread kept the controller state")
        }
    }
}

/// Results written by concurrent workers, one slot each.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLockLike()
    private var storage: [Int]
    init(count: Int) { storage = Array(repeating: 0, count: count) }
    func set(_ index: Int, _ value: Int) { lock.withLock { storage[index] = value } }
    var values: [Int] { lock.withLock { storage } }
}

import Synchronization

/// A tiny lock for the test's result box.
final class NSLockLike: Sendable {
    private let mutex = Mutex(())
    func withLock<T>(_ body: () -> T) -> T { mutex.withLock { _ in body() } }
}
