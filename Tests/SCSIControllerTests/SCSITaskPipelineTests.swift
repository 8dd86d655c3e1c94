import DMAMapper
import MockNVMe
import NVMe
import Testing
import TestSupport
import Translation
@testable import SCSIController

/// `SCSITaskPipeline`: many tasks in flight from one thread, each ending with the response SBC-4
/// and the NVMe-SCSI Translation Reference give it, whatever happens to the controller meanwhile.
@Suite struct SCSITaskPipelineTests {
    /// A threaded mock that completes out of order, so tasks really overlap, on the SCSI rig.
    static func threadedRig(_ configure: (inout MockConfiguration) -> Void = { _ in }) throws -> Rig {
        try Rig.scsi({
            $0.executionMode = .threaded(latency: .microseconds(20), outOfOrder: true)
            configure(&$0)
        }, options: { $0.commandTimeoutMilliseconds = 10_000 })
    }

    /// Polls until every started task is handed back, collecting the responses by slot, in the
    /// order they were handed back.
    static func collect(_ pipeline: SCSITaskPipeline) -> [(slot: Int, response: SCSITaskResponse)] {
        var handed: [(slot: Int, response: SCSITaskResponse)] = []
        while pipeline.pending > 0 { pipeline.poll { handed.append(($0, $1)) } }
        return handed
    }

    @Test func manyWritesAndReadsInFlightMoveTheMediaBytes() throws {
        let rig = try Self.threadedRig()
        let depth = 32, blocks = 8, bytes = blocks * rig.blockSize
        let pipeline = SCSITaskPipeline(adapter: rig.hba, queue: rig.queue, depth: depth)
        let source = try rig.patterned(bytes: depth * bytes, seed: 0x5EED)
        for slot in 0..<depth {
            // LBAs far apart and out of order, through each CDB size.
            let lba = UInt64((slot * 37) % depth) * UInt64(blocks) * 3
            let cdb = slot % 3 == 0 ? CDB.write10(lba: UInt32(lba), blocks: UInt16(blocks))
                : slot % 3 == 1 ? CDB.write12(lba: UInt32(lba), blocks: UInt32(blocks)) : CDB.write16(lba: lba, blocks: UInt32(blocks))
            pipeline.start(SCSITask(cdb: cdb, buffer: source, bufferOffset: slot * bytes, transferLength: bytes,
                                    direction: .toDevice, tag: UInt64(1000 + slot)), slot: slot)
        }
        // Nothing waited: every write is in flight at once.
        #expect(pipeline.inFlight == depth)
        let written = Self.collect(pipeline)
        #expect(written.count == depth)
        for (slot, response) in written {
            #expect(response.tag == UInt64(1000 + slot))
            #expect(response.serviceResponse == .taskComplete && response.status == .good && response.sense.isEmpty)
            #expect(response.bytesTransferred == bytes && response.residual == 0)
            let lba = UInt64((slot * 37) % depth) * UInt64(blocks) * 3
            let expected = Array(UnsafeRawBufferPointer(start: source.address + slot * bytes, count: bytes))
            #expect(rig.media(lba: lba, count: blocks) == expected, "slot \(slot)")
        }
        // Read every range back, in flight together, into a buffer that starts out different.
        let sink = try rig.controller.mapper.allocate(length: depth * bytes)
        sink.address.initializeMemory(as: UInt8.self, repeating: 0xEE, count: depth * bytes)
        for slot in 0..<depth {
            let lba = UInt64((slot * 37) % depth) * UInt64(blocks) * 3
            pipeline.start(SCSITask(cdb: CDB.read16(lba: lba, blocks: UInt32(blocks)), buffer: sink, bufferOffset: slot * bytes,
                                    transferLength: bytes, direction: .fromDevice, tag: UInt64(slot)), slot: slot)
        }
        let read = Self.collect(pipeline)
        #expect(read.count == depth && read.allSatisfy { $0.response.status == .good && $0.response.bytesTransferred == bytes })
        #expect(same(sink.address, source.address, count: depth * bytes))
    }

    @Test func aFailedStatusGivesTheSenseProcessGives() throws {
        let rig = try Self.threadedRig()
        let pipeline = SCSITaskPipeline(adapter: rig.hba, queue: rig.queue, depth: 4)
        let sink = try rig.controller.mapper.allocate(length: 4 * 4096)
        let read = { (slot: Int) in
            SCSITask(cdb: CDB.read10(lba: 64, blocks: 8), buffer: sink, bufferOffset: slot * 4096,
                     transferLength: 8 * rig.blockSize, direction: .fromDevice, tag: 9)
        }
        rig.mock.inject(.failCommands(.io(.read, count: 1), status: CompletionStatus(.unrecoveredReadError)))
        pipeline.start(read(0), slot: 0)
        pipeline.start(read(1), slot: 1)  // the fault's count is 1: this one succeeds
        let handed = Self.collect(pipeline)
        let failed = try #require(handed.first { $0.response.status != .good }).response
        #expect(handed.count == 2 && handed.filter { $0.response.status == .good }.count == 1)
        rig.mock.inject(.failCommands(.io(.read, count: 1), status: CompletionStatus(.unrecoveredReadError)))
        let synchronous = rig.hba.process(read(2), on: rig.queue)
        // SBC-4 4.18.1, the Translation Reference: MEDIUM ERROR, UNRECOVERED READ ERROR, the LBA in INFORMATION.
        let result = TaskResult(response: failed, data: [])
        #expect(failed.serviceResponse == .taskComplete && failed.status == .checkCondition)
        #expect(result.senseTriple?.key == 0x03 && result.senseTriple?.asc == 0x11 && result.senseTriple?.ascq == 0x00)
        #expect(failed.sense.count >= 7 && failed.sense[0] & 0x80 != 0 && Array(failed.sense[3..<7]) == [0, 0, 0, 64])
        #expect(failed.sense == synchronous.sense && failed.status == synchronous.status && failed.residual == synchronous.residual)
        #expect(failed.bytesTransferred == 0 && failed.residual == 8 * rig.blockSize)
    }

    /// A completion that matches no command (a command id never issued, one completed twice, an
    /// SQ head outside the ring) makes every completion of the pass suspect: as `process` fails
    /// the request it was waiting for, the pipeline fails the tasks that finished in that pass
    /// and those still in flight, and the queue goes on serving the next ones.
    @Test(arguments: [HostileCompletion.unknownCommandID(999), .duplicate, .sqHeadOutOfRange])
    func aHostileCompletionFailsTheTasksItCouldHaveEnded(kind: HostileCompletion) throws {
        let rig = try Rig.scsi()
        let pipeline = SCSITaskPipeline(adapter: rig.hba, queue: rig.queue, depth: 2)
        let sink = try rig.controller.mapper.allocate(length: 2 * 4096)
        let read = { (slot: Int) in
            SCSITask(cdb: CDB.read10(lba: UInt32(slot * 8), blocks: 8), buffer: sink, bufferOffset: slot * 4096,
                     transferLength: 8 * rig.blockSize, direction: .fromDevice, tag: UInt64(slot))
        }
        // The queue checks the SQ head of a pass's last completion (a later head supersedes an
        // earlier one), so the bogus head goes with a lone read; the other kinds come with two.
        let reads = kind == .sqHeadOutOfRange ? 1 : 2
        rig.mock.inject(.hostileCompletion(kind, .io(.read, count: 1)))
        for slot in 0..<reads { pipeline.start(read(slot), slot: slot) }
        let handed = Self.collect(pipeline)
        #expect(handed.count == reads)
        #expect(rig.queue.queuePair.hostileCompletionCount >= 1)
        for (slot, response) in handed {
            // NVMe Internal Error's translation: HARDWARE ERROR, INTERNAL TARGET FAILURE (44h/00h).
            let triple = TaskResult(response: response, data: []).senseTriple
            #expect(response.status == .checkCondition && triple?.key == 0x04 && triple?.asc == 0x44 && triple?.ascq == 0x00,
                    "slot \(slot)")
            #expect(response.bytesTransferred == 0 && response.residual == 8 * rig.blockSize)
            guard case let .hostileCompletion(queueID, detail) = response.error else {
                Issue.record("slot \(slot): expected hostileCompletion, got \(String(describing: response.error))")
                continue
            }
            #expect(queueID == rig.queue.id && !detail.isEmpty)
        }
        // The fault is spent: the same reads now succeed.
        pipeline.start(read(0), slot: 0)
        pipeline.start(read(1), slot: 1)
        #expect(Self.collect(pipeline).allSatisfy { $0.response.status == .good && $0.response.error == nil })
    }

    @Test func aRefusedRangeIsAnsweredAsProcessAnswersIt() throws {
        let rig = try Rig.scsi()
        let pipeline = SCSITaskPipeline(adapter: rig.hba, queue: rig.queue, depth: 2)
        let sink = try rig.controller.mapper.allocate(length: 4096)
        let capacity = rig.controller.namespaces[0].blockCount
        pipeline.start(SCSITask(cdb: CDB.read16(lba: capacity - 1, blocks: 2), buffer: sink, transferLength: 2 * rig.blockSize,
                                direction: .fromDevice), slot: 1)
        let handed = Self.collect(pipeline)
        #expect(handed.count == 1 && handed[0].slot == 1)
        // SBC-4 4.5: a range past the capacity is ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE.
        let triple = TaskResult(response: handed[0].response, data: []).senseTriple
        #expect(handed[0].response.status == .checkCondition && triple?.key == 0x05 && triple?.asc == 0x21 && triple?.ascq == 0x00)
    }

    @Test func aTaskOffTheFastPathRunsAfterTheTasksInFlight() throws {
        let rig = try Self.threadedRig()
        let pipeline = SCSITaskPipeline(adapter: rig.hba, queue: rig.queue, depth: 8)
        let blocks = 16, bytes = blocks * rig.blockSize
        let data = try rig.patterned(bytes: bytes, seed: 77)
        // Six writes in flight over LBA 0..<96, then VERIFY (16) with BYTCHK 01b comparing the
        // same blocks to what the writes carry: it may only run once they are on the media.
        for slot in 0..<6 {
            pipeline.start(SCSITask(cdb: CDB.write16(lba: UInt64(slot * blocks), blocks: UInt32(blocks)), buffer: data,
                                    transferLength: bytes, direction: .toDevice, tag: UInt64(slot)), slot: slot)
        }
        #expect(pipeline.inFlight == 6)
        for lba in stride(from: 0, to: 6 * blocks, by: blocks) {
            pipeline.start(SCSITask(cdb: CDB.sixteen(0x8F, flags: 0x02, lba: UInt64(lba), blocks: UInt32(blocks)), buffer: data,
                                    transferLength: bytes, direction: .toDevice, tag: 100), slot: 6)
            #expect(pipeline.inFlight == 0, "a task off the fast path waits for those in flight")
            var handed: [(slot: Int, response: SCSITaskResponse)] = []
            pipeline.poll { handed.append(($0, $1)) }
            // The verify comes back last (its slot is then free for the next one), GOOD: no MISCOMPARE.
            #expect(handed.last?.slot == 6)
            #expect(handed.last?.response.status == .good, "\(handed.last.map { TaskResult(response: $0.response, data: []).sense } ?? [])")
        }
        // SYNCHRONIZE CACHE (10) between writes is ordered the same way.
        pipeline.start(SCSITask(cdb: CDB.write10(lba: 200, blocks: UInt16(blocks)), buffer: data, transferLength: bytes,
                                direction: .toDevice, tag: 1), slot: 0)
        pipeline.start(SCSITask(cdb: CDB.synchronizeCache10()), slot: 1)
        let order = Self.collect(pipeline).map(\.slot)
        #expect(order == [0, 1])
        #expect(rig.media(lba: 200, count: blocks) == Array(UnsafeRawBufferPointer(start: data.address, count: bytes)))
    }

    @Test func stoppingTheControllerEndsEveryTaskInFlight() throws {
        let rig = try Rig.scsi()
        let pipeline = SCSITaskPipeline(adapter: rig.hba, queue: rig.queue, depth: 4)
        let sink = try rig.controller.mapper.allocate(length: 4 * 4096)
        rig.mock.inject(.neverComplete(.io(.read)))
        for slot in 0..<4 {
            pipeline.start(SCSITask(cdb: CDB.read10(lba: UInt32(slot * 8), blocks: 8), buffer: sink, bufferOffset: slot * 4096,
                                    transferLength: 8 * rig.blockSize, direction: .fromDevice, tag: UInt64(slot)), slot: slot)
        }
        pipeline.poll { _, _ in Issue.record("a read the device never completes was handed back") }
        #expect(pipeline.inFlight == 4)
        try rig.controller.stop()
        let handed = Self.collect(pipeline)
        #expect(Set(handed.map(\.slot)) == [0, 1, 2, 3])
        for (_, response) in handed {
            // The task never completed at the device: a service delivery failure (SAM-5 5.1), named.
            #expect(response.serviceResponse == .serviceDeliveryOrTargetFailure)
            #expect(response.error == .stopped)
        }
        // A task started after the stop is refused the same way, not left waiting.
        pipeline.start(SCSITask(cdb: CDB.read10(lba: 0, blocks: 8), buffer: sink, transferLength: 8 * rig.blockSize,
                                direction: .fromDevice), slot: 0)
        #expect(Self.collect(pipeline).first?.response.serviceResponse == .serviceDeliveryOrTargetFailure)
    }

    @Test func aCommandThatNeverCompletesIsAbortedAndItsTaskEnds() throws {
        let rig = try Rig.scsi()  // a 300 ms command timeout
        let pipeline = SCSITaskPipeline(adapter: rig.hba, queue: rig.queue, depth: 4)
        let sink = try rig.controller.mapper.allocate(length: 2 * 4096)
        rig.mock.inject(.neverComplete(.io(.read, count: 1)))
        pipeline.start(SCSITask(cdb: CDB.read10(lba: 0, blocks: 8), buffer: sink, transferLength: 8 * rig.blockSize,
                                direction: .fromDevice, tag: 1), slot: 0)
        pipeline.start(SCSITask(cdb: CDB.read10(lba: 8, blocks: 8), buffer: sink, bufferOffset: 4096,
                                transferLength: 8 * rig.blockSize, direction: .fromDevice, tag: 2), slot: 1)
        let handed = Self.collect(pipeline)
        #expect(handed.count == 2)
        let stuck = try #require(handed.first { $0.slot == 0 }).response
        #expect(handed.first { $0.slot == 1 }?.response.status == .good)
        // The engine's own abort of a timed-out command: COMMAND TIMEOUT DURING PROCESSING (SPC-5
        // 2Eh/02h), the error naming the timeout, as `process` answers it.
        guard case .commandTimedOut? = stuck.error else {
            Issue.record("expected a timeout, got \(String(describing: stuck.error))")
            return
        }
        rig.mock.inject(.neverComplete(.io(.read, count: 1)))
        let synchronous = rig.hba.process(SCSITask(cdb: CDB.read10(lba: 0, blocks: 8), buffer: sink, transferLength: 8 * rig.blockSize,
                                                   direction: .fromDevice, tag: 1), on: rig.queue)
        #expect(stuck.status == synchronous.status && stuck.sense == synchronous.sense)
        #expect(stuck.status != .good)
    }

    @Test func aResetWhileInFlightEndsEveryTask() throws {
        let rig = try Rig.scsi()
        let pipeline = SCSITaskPipeline(adapter: rig.hba, queue: rig.queue, depth: 4)
        let sink = try rig.controller.mapper.allocate(length: 4 * 4096)
        rig.mock.inject(.neverComplete(.io(.read)))
        // NVMe Abort fails: the watchdog resets the controller, whose catch-up drops the reads.
        rig.mock.inject(.failCommands(.admin(.abort), status: CompletionStatus(.abortCommandLimitExceeded)))
        for slot in 0..<4 {
            pipeline.start(SCSITask(cdb: CDB.read10(lba: UInt32(slot * 8), blocks: 8), buffer: sink, bufferOffset: slot * 4096,
                                    transferLength: 8 * rig.blockSize, direction: .fromDevice, tag: UInt64(slot)), slot: slot)
        }
        let handed = Self.collect(pipeline)
        #expect(Set(handed.map(\.slot)) == [0, 1, 2, 3])
        #expect(rig.controller.resetCount >= 1)
        for (_, response) in handed {
            #expect(response.status != .good && response.error != nil)
        }
        rig.mock.removeInjectedFaults()
        // After the reset the queue works again through the pipeline.
        pipeline.start(SCSITask(cdb: CDB.read10(lba: 0, blocks: 8), buffer: sink, transferLength: 8 * rig.blockSize,
                                direction: .fromDevice), slot: 2)
        let again = Self.collect(pipeline)
        // The reset's POWER ON, RESET unit attention comes first (SAM-5 5.14), through `process`;
        // then the read runs.
        if again.first?.response.status == .checkCondition {
            pipeline.start(SCSITask(cdb: CDB.read10(lba: 0, blocks: 8), buffer: sink, transferLength: 8 * rig.blockSize,
                                    direction: .fromDevice), slot: 2)
            #expect(Self.collect(pipeline).first?.response.status == .good)
        } else {
            #expect(again.first?.response.status == .good)
        }
    }
}
