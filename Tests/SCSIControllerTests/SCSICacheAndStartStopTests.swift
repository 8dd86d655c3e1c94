import MockNVMe
import NVMe
import Testing
import Translation
@testable import SCSIController

/// SYNCHRONIZE CACHE (10)/(16) (SBC-4 5.26, 5.27) and START STOP UNIT (SBC-4 5.25), judged by
/// what survives `mock.powerCut()` with the volatile write cache on.
@Suite struct SCSICacheAndStartStopTests {
    static let zeros = [UInt8](repeating: 0, count: 8 * 512)

    @Test(arguments: [CDB.synchronizeCache10(), CDB.synchronizeCache16(), CDB.synchronizeCache10(lba: 0, blocks: 8)])
    func unflushedDataSurvivesAPowerCutOnlyAfterSynchronizeCache(cdb: [UInt8]) throws {
        let scsi = try SCSIRig { $0.volatileWriteCache = true }
        let before = pattern(8 * 512, seed: 1)
        let after = pattern(8 * 512, seed: 2)
        #expect(scsi.write(lba: 0, before).isGood)
        #expect(scsi.mock.statistics.dirtyCachedBlocks == 8)
        let sync = scsi.run(cdb)
        #expect(sync.isGood)
        #expect(scsi.mock.statistics.dirtyCachedBlocks == 0)
        #expect(scsi.write(lba: 8, after).isGood)
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 0, count: 8) == before)
        #expect(scsi.media(lba: 8, count: 8) == Self.zeros)
    }

    @Test func withNoVolatileCacheItSucceedsWithoutAnNVMeCommand() throws {
        let scsi = try SCSIRig { $0.volatileWriteCache = false }
        // Any Flush reaching the device would fail, and so would the task.
        scsi.mock.inject(.failCommands(.io(.flush), status: CompletionStatus(.internalError)))
        #expect(scsi.run(CDB.synchronizeCache10()).isGood)
        #expect(scsi.run(CDB.synchronizeCache16()).isGood)
        // The control: with a cache the Flush is sent, and its failure reported.
        let cached = try SCSIRig { $0.volatileWriteCache = true }
        cached.mock.inject(.failCommands(.io(.flush), status: CompletionStatus(.internalError)))
        let failed = cached.run(CDB.synchronizeCache10())
        #expect(failed.status == .checkCondition)
        #expect(failed.sense == fixedSense(0x04, 0x44, 0x00))   // HARDWARE ERROR, INTERNAL TARGET FAILURE
    }

    @Test func synchronizeCachePastTheEndIsLBAOutOfRange() throws {
        let scsi = try SCSIRig { $0.namespaces = [MockNamespace(blockCount: 100)] }
        #expect(scsi.run(CDB.synchronizeCache10(lba: 99, blocks: 2)).sense == fixedSense(0x05, 0x21, 0x00))
        #expect(scsi.run(CDB.synchronizeCache16(lba: 99, blocks: 1)).isGood)
    }

    @Test func stopFlushesSoDataSurvivesAPowerCut() throws {
        let scsi = try SCSIRig { $0.volatileWriteCache = true }
        let data = pattern(8 * 512, seed: 3)
        #expect(scsi.write(lba: 40, data).isGood)
        #expect(scsi.run(CDB.startStopUnit(start: false)).isGood)
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 40, count: 8) == data)
    }

    /// NO_FLUSH only releases the device from flushing (SBC-4); flushing anyway is allowed, so
    /// this only checks that the unit stops.
    @Test func stopWithNoFlushStillStops() throws {
        let scsi = try SCSIRig { $0.volatileWriteCache = true }
        #expect(scsi.write(lba: 40, pattern(8 * 512, seed: 4)).isGood)
        #expect(scsi.run(CDB.startStopUnit(start: false, noFlush: true)).isGood)
        #expect(scsi.run(CDB.testUnitReady).sense == fixedSense(0x02, 0x04, 0x02))
    }

    @Test func mediaAccessWhileStoppedIsNotReadyUntilStarted() throws {
        let scsi = try SCSIRig()
        let data = pattern(512, seed: 5)
        #expect(scsi.write(lba: 0, data).isGood)
        #expect(scsi.run(CDB.startStopUnit(start: false)).isGood)
        // NOT READY, LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED (04h/02h).
        let notReady = fixedSense(0x02, 0x04, 0x02)
        let reads = scsi.mock.statistics.hostReadCommands
        let read = scsi.read(lba: 0, blocks: 1)
        #expect(read.status == .checkCondition)
        #expect(read.sense == notReady)
        #expect(read.data.allSatisfy { $0 == 0xEE })
        #expect(scsi.write(lba: 0, data).sense == notReady)
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
        #expect(scsi.read(lba: 0, blocks: 1).data == data)
    }

    @Test func anUnsupportedPowerConditionIsRefused() throws {
        let scsi = try SCSIRig()
        // POWER CONDITION 2h (IDLE) in byte 4 bits 7-4.
        let result = scsi.run([0x1B, 0, 0, 0, 0x20, 0])
        #expect(result.status == .checkCondition)
        #expect(result.senseTriple?.key == 0x05 && result.senseTriple?.asc == 0x24)
        #expect(scsi.run(CDB.testUnitReady).isGood)
    }
}
