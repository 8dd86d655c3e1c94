import Dispatch
import MockNVMe
import Synchronization
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// Threads on one LUN at once, each on its own queue: the per-LUN state (unit attention,
/// D_SENSE, stopped) changes atomically, so no task undoes another's change or reports a unit
/// attention twice, and the lock-free READ/WRITE fast path sees a stop. Run under the thread
/// sanitizer by scripts/test-tsan.sh (its filter matches "Concurren").
@Suite struct SCSIConcurrentUnitStateTests {
    static let threads = 4

    static func rig(keepUnitAttention: Bool = false) throws -> Rig {
        try Rig.scsi(keepUnitAttention: keepUnitAttention,
                    { $0.executionMode = .threaded(latency: .microseconds(5), outOfOrder: true) },
                    options: { $0.ioQueueCount = threads; $0.commandTimeoutMilliseconds = 5000 })
    }

    /// Runs `body(thread, queue)` on every thread at once.
    static func together(_ scsi: Rig, _ body: @Sendable (Int, IOQueue) -> Void) {
        let queues = Array(scsi.controller.ioQueues.prefix(threads))
        DispatchQueue.concurrentPerform(iterations: queues.count) { body($0, queues[$0]) }
    }

    @Test func aUnitAttentionIsReportedExactlyOnce() throws {
        for _ in 0..<10 {
            let scsi = try Self.rig(keepUnitAttention: true)
            let hba = scsi.hba
            let attentions = Atomic<Int>(0)
            Self.together(scsi) { _, queue in
                for _ in 0..<8 {
                    let response = hba.process(SCSITask(cdb: CDB.testUnitReady), on: queue)
                    if response.sense == SCSIUnitAttentionTests.powerOnReset { attentions.add(1, ordering: .relaxed) }
                }
            }
            let reported = attentions.load(ordering: .relaxed)
            #expect(reported == 1)
        }
    }

    @Test func modeSelectIsNotUndoneByConcurrentTasks() throws {
        let scsi = try Self.rig()
        let hba = scsi.hba
        let mapper = scsi.controller.mapper
        for round in 0..<8 {
            let descriptor = round % 2 == 0
            // MODE SELECT (6): header, then the control page with D_SENSE (byte 2 bit 2) as wanted.
            let control = ModePage.selectList6(ModePage.control(dSense: descriptor))
            let parameters = try mapper.allocate(length: control.count)
            control.withUnsafeBytes { parameters.address.copyMemory(from: $0.baseAddress!, byteCount: control.count) }
            let selected = Atomic<Bool>(false)
            Self.together(scsi) { thread, queue in
                if thread == 0 {
                    let select = hba.process(SCSITask(cdb: CDB.modeSelect6(length: UInt8(control.count)), buffer: parameters,
                                                      transferLength: control.count, direction: .toDevice), on: queue)
                    selected.store(select.status == .good, ordering: .relaxed)
                    return
                }
                // Tasks that read and (before the fix) wrote back the whole state.
                for _ in 0..<40 {
                    _ = hba.process(SCSITask(cdb: CDB.testUnitReady), on: queue)
                    _ = hba.process(SCSITask(cdb: [0x28, 0x04, 0, 0, 0, 0, 0, 0, 1, 0]), on: queue)
                }
            }
            let modeSelectSucceeded = selected.load(ordering: .relaxed)
            #expect(modeSelectSucceeded)
            // A refused CDB afterwards shows the format chosen: 72h descriptor, 70h fixed.
            let after = scsi.run([0x28, 0x04, 0, 0, 0, 0, 0, 0, 1, 0], inLength: 512)
            #expect(after.sense.first == (descriptor ? 0x72 : 0x70), "round \(round)")
        }
    }

    @Test func aStopIsNotUndoneAndTheFastPathSeesIt() throws {
        let scsi = try Self.rig()
        let hba = scsi.hba
        let mapper = scsi.controller.mapper
        let stopped = Atomic<Bool>(false)
        let failures = Failures()
        Self.together(scsi) { thread, queue in
            if thread == 0 {
                let stop = hba.process(SCSITask(cdb: CDB.startStopUnit(start: false)), on: queue)
                if stop.status != .good { failures.add("stop: \(stop.sense)") }
                stopped.store(true, ordering: .releasing)
                return
            }
            guard let buffer = try? mapper.allocate(length: 4096) else { failures.add("allocation"); return }
            for _ in 0..<60 {
                let stoppedBefore = stopped.load(ordering: .acquiring)
                _ = hba.process(SCSITask(cdb: CDB.inquiry(allocation: 36), buffer: buffer, transferLength: 36,
                                         direction: .fromDevice), on: queue)
                let read = hba.process(SCSITask(cdb: CDB.read10(lba: 8, blocks: 8), buffer: buffer, transferLength: 4096,
                                                direction: .fromDevice), on: queue)
                // Once the stop has returned, READ(10) (the fast path's command) is NOT READY.
                if stoppedBefore, read.sense != fixedSense(0x02, 0x04, 0x02) { failures.add("read after stop: \(read.status)") }
            }
        }
        #expect(failures.list.isEmpty, "\(failures.list)")
        #expect(scsi.run(CDB.testUnitReady).sense == fixedSense(0x02, 0x04, 0x02))
        #expect(scsi.run(CDB.startStopUnit(start: true)).isGood)
        #expect(scsi.scsiRead(lba: 8, blocks: 8).isGood)
    }
}
