import Dispatch
import MockNVMe
import NVMe
import Testing
@testable import SCSIController

/// Several queue pairs, each owned by its own thread, against the threaded mock (a device thread
/// completing out of order after a latency). Run under `swift test --sanitize=thread` in CI.
@Suite struct ConcurrencyTests {
    @Test func queuesOnSeveralThreadsAgainstAThreadedDevice() throws {
        let rig = try Rig.threadedFourQueues()
        let queues = rig.controller.ioQueues
        #expect(queues.count == 4)
        let failures = FailureCount()
        DispatchQueue.concurrentPerform(iterations: queues.count) { index in
            let queue = queues[index]
            do {
                let source = try rig.patterned(bytes: 64 << 10, seed: UInt64(index))
                let sink = try rig.controller.mapper.allocate(length: 64 << 10)
                for round in 0..<20 {
                    let lba = UInt64(index * 10_000 + round * 128)
                    let written = queue.write(nsid: rig.nsid, lba: lba, blocks: 128, from: source)
                    let read = queue.read(nsid: rig.nsid, lba: lba, blocks: 128, into: sink)
                    if !written.succeeded || !read.succeeded || !same(source.address, sink.address, count: 64 << 10) {
                        failures.add()
                    }
                }
            } catch {
                failures.add()
            }
        }
        #expect(failures.value == 0)
        #expect(rig.mock.dmaFaults.isEmpty)
    }
}

/// A counter the worker threads share.
final class FailureCount: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

import Synchronization

@Suite struct AsyncConcurrencyTests {
    @Test func manyTasksAwaitTheSameQueue() async throws {
        let rig = try Rig({ $0.executionMode = .threaded(latency: .microseconds(10), outOfOrder: true) },
                          options: { $0.commandTimeoutMilliseconds = 10_000 })
        let queue = AsyncIOQueue(rig.queue)
        let nsid = rig.nsid
        let mapper = rig.controller.mapper
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let source = try mapper.allocate(length: 4096)
                    fill(source, seed: UInt64(index))
                    let sink = try mapper.allocate(length: 4096)
                    let lba = UInt64(index * 8)
                    let written = await queue.write(nsid: nsid, lba: lba, blocks: 8, from: source)
                    let read = await queue.read(nsid: nsid, lba: lba, blocks: 8, into: sink)
                    return written.succeeded && read.succeeded && same(source.address, sink.address, count: 4096)
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 16 && results.allSatisfy { $0 })
    }
}
