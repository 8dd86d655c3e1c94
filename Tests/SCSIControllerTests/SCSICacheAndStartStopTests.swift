import MockNVMe
import NVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// SYNCHRONIZE CACHE (10)/(16) (SBC-4 5.26, 5.27) and START STOP UNIT (SBC-4 5.25), judged by
/// what survives `mock.powerCut()` with the volatile write cache on.
@Suite struct SCSICacheAndStartStopTests {
    static let zeros = [UInt8](repeating: 0, count: 8 * 512)

    @Test(arguments: [CDB.synchronizeCache10(), CDB.synchronizeCache16(), CDB.synchronizeCache10(lba: 0, blocks: 8)])
    func unflushedDataSurvivesAPowerCutOnlyAfterSynchronizeCache(cdb: [UInt8]) throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        let before = pattern(8 * 512, seed: 1)
        let after = pattern(8 * 512, seed: 2)
        #expect(scsi.scsiWrite(lba: 0, before).isGood)
        #expect(scsi.mock.statistics.dirtyCachedBlocks == 8)
        let sync = scsi.run(cdb)
        #expect(sync.isGood)
        #expect(scsi.mock.statistics.dirtyCachedBlocks == 0)
        #expect(scsi.scsiWrite(lba: 8, after).isGood)
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 0, count: 8) == before)
        #expect(scsi.media(lba: 8, count: 8) == Self.zeros)
    }

    @Test func withNoVolatileCacheItSucceedsWithoutAnNVMeCommand() throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = false }
        // Any Flush reaching the device would fail, and so would the task.
        scsi.mock.inject(.failCommands(.io(.flush), status: CompletionStatus(.internalError)))
        #expect(scsi.run(CDB.synchronizeCache10()).isGood)
        #expect(scsi.run(CDB.synchronizeCache16()).isGood)
        // The control: with a cache the Flush is sent, and its failure reported.
        let cached = try Rig.scsi { $0.volatileWriteCache = true }
        cached.mock.inject(.failCommands(.io(.flush), status: CompletionStatus(.internalError)))
        let failed = cached.run(CDB.synchronizeCache10())
        #expect(failed.status == .checkCondition)
        #expect(failed.sense == fixedSense(0x04, 0x44, 0x00))   // HARDWARE ERROR, INTERNAL TARGET FAILURE
    }

    @Test func synchronizeCachePastTheEndIsLBAOutOfRange() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 100)] }
        #expect(scsi.run(CDB.synchronizeCache10(lba: 99, blocks: 2)).sense == fixedSense(0x05, 0x21, 0x00))
        #expect(scsi.run(CDB.synchronizeCache16(lba: 99, blocks: 1)).isGood)
    }

    @Test func stopFlushesSoDataSurvivesAPowerCut() throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        let data = pattern(8 * 512, seed: 3)
        #expect(scsi.scsiWrite(lba: 40, data).isGood)
        #expect(scsi.run(CDB.startStopUnit(start: false)).isGood)
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 40, count: 8) == data)
    }

    /// NO_FLUSH: the stop sends no Flush (Reference "START STOP UNIT"), so a Flush that would
    /// fail does not fail it; without NO_FLUSH the same stop sends it and reports its failure.
    @Test func stopWithNoFlushSendsNoFlush() throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        #expect(scsi.scsiWrite(lba: 40, pattern(8 * 512, seed: 4)).isGood)
        scsi.mock.inject(.failCommands(.io(.flush), status: CompletionStatus(.internalError)))
        #expect(scsi.run(CDB.startStopUnit(start: false, noFlush: true)).isGood)
        #expect(scsi.run(CDB.testUnitReady).sense == fixedSense(0x02, 0x04, 0x02))
        // Cached data was not written: a power cut loses it.
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 40, count: 8) == Self.zeros)
        let other = try Rig.scsi { $0.volatileWriteCache = true }
        other.mock.inject(.failCommands(.io(.flush), status: CompletionStatus(.internalError)))
        #expect(other.run(CDB.startStopUnit(start: false)).sense == fixedSense(0x04, 0x44, 0x00))
        // The failed stop left the unit running.
        #expect(other.run(CDB.testUnitReady).isGood)
    }

    @Test func mediaAccessWhileStoppedIsNotReadyUntilStarted() throws {
        let scsi = try Rig.scsi()
        let data = pattern(512, seed: 5)
        #expect(scsi.scsiWrite(lba: 0, data).isGood)
        #expect(scsi.run(CDB.startStopUnit(start: false)).isGood)
        // NOT READY, LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED (04h/02h).
        let notReady = fixedSense(0x02, 0x04, 0x02)
        let reads = scsi.mock.statistics.hostReadCommands
        let read = scsi.scsiRead(lba: 0, blocks: 1)
        #expect(read.status == .checkCondition)
        #expect(read.sense == notReady)
        #expect(read.data.allSatisfy { $0 == 0xEE })
        #expect(scsi.scsiWrite(lba: 0, data).sense == notReady)
        #expect(scsi.run(CDB.testUnitReady).sense == notReady)
        #expect(scsi.run(CDB.synchronizeCache10()).sense == notReady)
        #expect(scsi.mock.statistics.hostReadCommands == reads)
        // Commands that need no medium still work while stopped.
        #expect(scsi.run(CDB.inquiry(allocation: 36), inLength: 36).isGood)
        #expect(scsi.run(CDB.modeSense6(page: 0x08), inLength: 255).isGood)
        // REQUEST SENSE reports the stopped state as parameter data.
        let sense = scsi.run(CDB.requestSense(allocation: 18), inLength: 18)
        #expect(sense.isGood && sense.data == notReady)
        // START: ready again, data intact.
        #expect(scsi.run(CDB.startStopUnit(start: true)).isGood)
        #expect(scsi.run(CDB.testUnitReady).isGood)
        #expect(scsi.scsiRead(lba: 0, blocks: 1).data == data)
    }

    @Test func anUnsupportedPowerConditionIsRefused() throws {
        let scsi = try Rig.scsi()
        // POWER CONDITION 7h (LU_CONTROL) in byte 4 bits 7-4: INVALID FIELD IN CDB, SKSV | C/D |
        // BPV, bit 7 of byte 4 (the field's most significant bit).
        let result = scsi.run([0x1B, 0, 0, 0, 0x70, 0])
        #expect(result.status == .checkCondition)
        #expect(result.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xCF, 0x00, 0x04]))
        #expect(scsi.run(CDB.testUnitReady).isGood)
    }

    /// IDLE and STANDBY keep the medium accessible (SBC-4 5.25): the unit stays ready.
    @Test func idleAndStandbyLeaveTheUnitReady() throws {
        let scsi = try Rig.scsi()
        #expect(scsi.run([0x1B, 0, 0, 0x02, 0x20, 0]).isGood)      // IDLE, idle_c
        #expect(scsi.run(CDB.testUnitReady).isGood)
        #expect(scsi.run([0x1B, 0, 0, 0x01, 0x30, 0]).isGood)      // STANDBY, standby_y
        #expect(scsi.run(CDB.testUnitReady).isGood)
    }

    /// IMMED: status once the CDB is validated, so the Flush's failure is a deferred error the
    /// next command reports (response code 71h), and REQUEST SENSE can fetch it instead.
    @Test func anImmediateStopReportsItsFailureLater() throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        scsi.mock.inject(.failCommands(.io(.flush, count: 2), status: CompletionStatus(.writeFault)))
        #expect(scsi.run([0x1B, 0x01, 0, 0, 0x00, 0]).isGood)
        let deferred: [UInt8] = [0x71, 0x00, 0x03, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x03, 0x00, 0, 0, 0, 0]
        #expect(scsi.run(CDB.testUnitReady).sense == deferred)
        // Reported once; the stop failed, so the unit is still ready.
        #expect(scsi.run(CDB.testUnitReady).isGood)
        // SYNCHRONIZE CACHE (10) with IMMED (byte 1 bit 1): the same, fetched by REQUEST SENSE.
        #expect(scsi.run([0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]).isGood)
        let sense = scsi.run(CDB.requestSense(allocation: 18), inLength: 18)
        #expect(sense.isGood && sense.data == deferred)
        #expect(scsi.run(CDB.testUnitReady).isGood)
    }
}
