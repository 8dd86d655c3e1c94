import MockNVMe
import NVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// NVMe's volatile write cache is one per controller (NVMe Base 2.0: the Volatile Write Cache
/// feature, FID 06h, is controller scoped), so the caching page's WCE is a parameter every LUN
/// shares. SPC-5 (MODE SELECT, mode parameters): when a shared parameter changes, the device
/// server establishes a unit attention, MODE PARAMETERS CHANGED (2Ah/01h), for the others, not
/// for the one the MODE SELECT came through.
@Suite struct SCSISharedWriteCacheTests {
    /// A mock with two namespaces and its write cache on, each LUN's POWER ON RESET consumed.
    func twoLUNs() throws -> Rig {
        try Rig.scsi {
            $0.volatileWriteCache = true
            $0.namespaces = [MockNamespace(blockCount: 4096, blockSize: 512), MockNamespace(blockCount: 4096, blockSize: 512)]
        }
    }

    /// MODE SELECT (6) of the caching page (SBC-4 6.5.5, PAGE LENGTH 12h, WCE byte 2 bit 2) on `lun`.
    func select(_ scsi: Rig, wce: Bool, lun: UInt64) -> TaskResult {
        let parameters: [UInt8] = [0, 0, 0, 0] + ModePage.caching(wce: wce)
        return scsi.run(CDB.modeSelect6(length: UInt8(parameters.count)), lun: lun, out: parameters)
    }

    /// WCE as MODE SENSE (6) of page 08h (DBD) reports it on `lun`: header (4 bytes), then the page.
    func senseWCE(_ scsi: Rig, lun: UInt64, sourceLocation: SourceLocation = #_sourceLocation) -> Bool? {
        let result = scsi.run(CDB.modeSense6(page: 0x08, dbd: true), lun: lun, inLength: 24)
        #expect(result.isGood, sourceLocation: sourceLocation)
        guard result.isGood else { return nil }
        #expect(Array(result.data[4..<6]) == [0x08, 0x12], sourceLocation: sourceLocation)
        return result.data[6] & 0x04 != 0
    }

    /// The 18-byte fixed sense of UNIT ATTENTION (6h), MODE PARAMETERS CHANGED (2Ah/01h).
    let modeParametersChanged = fixedSense(0x06, 0x2A, 0x01)

    @Test func wceClearedThroughLUN0ReadsBackClearedOnLUN1() throws {
        let scsi = try twoLUNs()
        #expect(senseWCE(scsi, lun: 1) == true)
        #expect(select(scsi, wce: false, lun: 0).isGood)
        // The other LUN learns of the change once, on its next command.
        let first = scsi.run(CDB.modeSense6(page: 0x08, dbd: true), lun: 1, inLength: 24)
        #expect(first.status == .checkCondition)
        #expect(first.sense == modeParametersChanged)
        #expect(senseWCE(scsi, lun: 1) == false)
        #expect(scsi.run(CDB.testUnitReady, lun: 1).isGood)
        // The LUN that sent the MODE SELECT gets no unit attention and reads the new value too.
        #expect(senseWCE(scsi, lun: 0) == false)
        let features = try scsi.controller.adminCommand(.getFeatures(.volatileWriteCache), name: "Get Features")
        #expect(features.dw0 & 1 == 0)
    }

    @Test func theUnitAttentionStopsTheReadFastPathOfTheOtherLUN() throws {
        let scsi = try twoLUNs()
        #expect(select(scsi, wce: false, lun: 1).isGood)
        // READ(10) of one block on LUN 0 would take the fast path if nothing were pending.
        let read = scsi.run(CDB.read10(lba: 0, blocks: 1), lun: 0, inLength: 512)
        #expect(read.sense == modeParametersChanged)
        #expect(scsi.run(CDB.read10(lba: 0, blocks: 1), lun: 0, inLength: 512).isGood)
        #expect(senseWCE(scsi, lun: 0) == false)
        #expect(scsi.run(CDB.testUnitReady, lun: 1).isGood)
    }

    @Test func aModeSelectThatChangesNothingRaisesNoUnitAttention() throws {
        let scsi = try twoLUNs()
        // WCE 1 while it is 1, and a D_SENSE change (the control page is per LUN, not shared).
        #expect(select(scsi, wce: true, lun: 0).isGood)
        let control: [UInt8] = [0, 0, 0, 0] + ModePage.control(dSense: true)
        #expect(scsi.run(CDB.modeSelect6(length: UInt8(control.count)), lun: 0, out: control).isGood)
        #expect(scsi.run(CDB.testUnitReady, lun: 1).isGood)
        // LUN 1 keeps fixed-format sense: D_SENSE changed only for LUN 0.
        #expect(scsi.run(CDB.read10(lba: 0xFFFF_FFF0, blocks: 1), lun: 1, inLength: 512).sense == fixedSense(0x05, 0x21, 0x00))
    }

    @Test func aFailedSetFeaturesChangesNothingAnywhere() throws {
        let scsi = try twoLUNs()
        scsi.mock.inject(.failCommands(.admin(.setFeatures, count: 1), status: CompletionStatus(.internalError)))
        let select = select(scsi, wce: false, lun: 0)
        #expect(select.status == .checkCondition)
        #expect(scsi.run(CDB.testUnitReady, lun: 1).isGood)
        #expect(senseWCE(scsi, lun: 0) == true)
        #expect(senseWCE(scsi, lun: 1) == true)
    }
}
