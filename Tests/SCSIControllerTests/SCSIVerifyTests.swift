import MockNVMe
import NVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// VERIFY (10)/(16) and WRITE AND VERIFY (10)/(16) (SBC-4 5.35, 5.36, 5.47, 5.48).
@Suite struct SCSIVerifyTests {
    @Test func verifyWithoutByteCheckReadsNothingIntoTheHost() throws {
        let scsi = try Rig.scsi()
        #expect(scsi.scsiWrite(lba: 0, pattern(16 * 512, seed: 1)).isGood)
        #expect(scsi.run(CDB.ten(0x2F, lba: 0, blocks: 16)).isGood)
        #expect(scsi.run(CDB.sixteen(0x8F, lba: 0, blocks: 16)).isGood)
    }

    @Test func verifyReportsAnUnreadableBlockAsAMediumError() throws {
        let scsi = try Rig.scsi()
        scsi.mock.inject(.failCommands(.io(.verify), status: CompletionStatus(.unrecoveredReadError)))
        let result = scsi.run(CDB.ten(0x2F, lba: 0, blocks: 16))
        #expect(result.status == .checkCondition)
        #expect(result.hasSense(0x03, 0x11, 0x00))
    }

    @Test func verifyWithByteCheckComparesTheDataOut() throws {
        let scsi = try Rig.scsi()
        let data = pattern(4 * 512, seed: 2)
        #expect(scsi.scsiWrite(lba: 20, data).isGood)
        // BYTCHK 01b: byte 1 bits 2-1 = 01b.
        #expect(scsi.run(CDB.ten(0x2F, flags: 0x02, lba: 20, blocks: 4), out: data).isGood)
        #expect(scsi.run(CDB.sixteen(0x8F, flags: 0x02, lba: 20, blocks: 4), out: data).isGood)
        // One byte differs at offset 1029: MISCOMPARE, MISCOMPARE DURING VERIFY OPERATION, with
        // the offset in INFORMATION (VALID set).
        var other = data
        other[1029] ^= 0xFF
        let miscompare = scsi.run(CDB.ten(0x2F, flags: 0x02, lba: 20, blocks: 4), out: other)
        #expect(miscompare.status == .checkCondition)
        #expect(miscompare.sense == [0xF0, 0x00, 0x0E, 0x00, 0x00, 0x04, 0x05, 0x0A,
                                     0x00, 0x00, 0x00, 0x00, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x00])
        #expect(scsi.media(lba: 20, count: 4) == data)
    }

    @Test func reservedByteCheckValueIsRefused() throws {
        let scsi = try Rig.scsi()
        // BYTCHK 10b is reserved.
        let result = scsi.run(CDB.ten(0x2F, flags: 0x04, lba: 0, blocks: 1), out: pattern(512, seed: 0))
        #expect(result.status == .checkCondition)
        // INVALID FIELD IN CDB at BYTCHK: byte 1, bits 2-1, so BPV with bit 2.
        #expect(result.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xCA, 0x00, 0x01]))
    }

    @Test(arguments: [(UInt8(0x2E), UInt8(0x00)), (0x2E, 0x02), (0x8E, 0x00), (0x8E, 0x02)])
    func writeAndVerifyWritesThroughToTheMedium(opcode: UInt8, flags: UInt8) throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        let data = pattern(8 * 512, seed: 3)
        let cdb = opcode == 0x2E ? CDB.ten(opcode, flags: flags, lba: 64, blocks: 8) : CDB.sixteen(opcode, flags: flags, lba: 64, blocks: 8)
        let result = scsi.run(cdb, out: data)
        #expect(result.isGood)
        #expect(result.response.bytesTransferred == data.count)
        // Verified data is on the medium: it survives a power cut with no flush.
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 64, count: 8) == data)
    }

    /// WRITE AND VERIFY with BYTCHK 1 compares what it wrote; when the media differs (here the
    /// write is lost: the mock acknowledges it without performing it), MISCOMPARE carries the
    /// offset of the first differing byte in INFORMATION (SBC-4 5.47).
    @Test(arguments: [CDB.ten(0x2E, flags: 0x02, lba: 30, blocks: 4), CDB.sixteen(0x8E, flags: 0x02, lba: 30, blocks: 4)])
    func writeAndVerifyReportsTheMiscompareOffset(cdb: [UInt8]) throws {
        let scsi = try Rig.scsi()
        let old = pattern(4 * 512, seed: 5)
        #expect(scsi.scsiWrite(lba: 30, old).isGood)
        var new = old
        new[1029] ^= 0x5A                                       // first difference at byte 405h
        new[1500] ^= 0x01
        scsi.mock.inject(.failCommands(.io(.write, count: 1), status: .success))
        let result = scsi.run(cdb, out: new)
        #expect(result.status == .checkCondition)
        #expect(result.sense == [0xF0, 0x00, 0x0E, 0x00, 0x00, 0x04, 0x05, 0x0A,
                                 0x00, 0x00, 0x00, 0x00, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x00])
    }
}
