import Dispatch
import Synchronization
import MockNVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// Tasks from several threads at once, each thread on its own queue (DESIGN.md: a queue pair
/// belongs to one thread), sharing one adapter and its per-LUN state.
@Suite struct SCSIConcurrentTasksTests {
    @Test func fourThreadsEachOnItsOwnQueue() throws {
        let scsi = try Rig.scsi({ $0.mdts = 1; $0.executionMode = .threaded(latency: .microseconds(10), outOfOrder: true) },
                               options: { $0.ioQueueCount = 4; $0.commandTimeoutMilliseconds = 5000 })
        let hba = scsi.hba
        let queues = Array(scsi.controller.ioQueues.prefix(4))
        #expect(queues.count == 4)
        let mapper = scsi.controller.mapper
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: queues.count) { thread in
            let queue = queues[thread]
            for round in 0..<25 {
                let lba = UInt64(thread * 10_000 + round * 64)
                let data = pattern(64 * 512, seed: UInt8(truncatingIfNeeded: thread * 31 + round))
                guard let out = try? mapper.allocate(length: data.count), let into = try? mapper.allocate(length: data.count) else {
                    failures.add("allocation"); return
                }
                data.withUnsafeBytes { out.address.copyMemory(from: $0.baseAddress!, byteCount: data.count) }
                let write = hba.process(SCSITask(cdb: CDB.write16(lba: lba, blocks: 64), buffer: out,
                                                 transferLength: data.count, direction: .toDevice), on: queue)
                let read = hba.process(SCSITask(cdb: CDB.read16(lba: lba, blocks: 64), buffer: into,
                                                transferLength: data.count, direction: .fromDevice), on: queue)
                let back = Array(UnsafeRawBufferPointer(start: into.address, count: data.count))
                if write.status != .good || read.status != .good || back != data {
                    failures.add("thread \(thread) round \(round): \(write.sense) \(read.sense)")
                }
            }
        }
        #expect(failures.list.isEmpty, "\(failures.list)")
    }
}

/// Failures collected from worker threads.
final class Failures: Sendable {
    private let items = Mutex<[String]>([])
    func add(_ item: String) { items.withLock { $0.append(item) } }
    var list: [String] { items.withLock { $0 } }
}
