import Testing
import Translation
import TestSupport
@testable import SCSIController

/// COMPARE AND WRITE (SBC-4 5.3): the data-out buffer is the verify data followed by the write
/// data; on a mismatch nothing is written and INFORMATION holds the offset of the first
/// differing byte from the start of the data-out buffer.
@Suite struct SCSICompareAndWriteTests {
    @Test func aMatchWritesTheNewData() throws {
        let scsi = try Rig.scsi()
        let old = pattern(512, seed: 1), new = pattern(512, seed: 2)
        #expect(scsi.scsiWrite(lba: 10, old).isGood)
        let result = scsi.run(CDB.compareAndWrite(lba: 10, blocks: 1), out: old + new)
        #expect(result.isGood)
        #expect(result.response.residual == 0)
        #expect(scsi.scsiRead(lba: 10, blocks: 1).data == new)
    }

    @Test func fuaMakesTheWriteDurable() throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        let old = pattern(512, seed: 1), new = pattern(512, seed: 2)
        #expect(scsi.scsiWrite(lba: 10, old, fua: true).isGood)
        #expect(scsi.run(CDB.compareAndWrite(lba: 10, blocks: 1, fua: true), out: old + new).isGood)
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 10, count: 1) == new)
    }

    @Test func aMismatchIsMiscompareWithTheOffsetAndWritesNothing() throws {
        let scsi = try Rig.scsi()
        let old = pattern(512, seed: 1), new = pattern(512, seed: 2)
        #expect(scsi.scsiWrite(lba: 10, old).isGood)
        var expected = old
        expected[300] ^= 0x01
        expected[400] ^= 0x01
        let result = scsi.run(CDB.compareAndWrite(lba: 10, blocks: 1), out: expected + new)
        #expect(result.status == .checkCondition)
        // VALID | 70h, MISCOMPARE, INFORMATION 0000012Ch (300), MISCOMPARE DURING VERIFY OPERATION.
        #expect(result.sense == [0xF0, 0x00, 0x0E, 0x00, 0x00, 0x01, 0x2C, 0x0A,
                                 0x00, 0x00, 0x00, 0x00, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x00])
        #expect(scsi.scsiRead(lba: 10, blocks: 1).data == old)
    }

    @Test func aMismatchInDescriptorFormat() throws {
        let scsi = try Rig.scsi()
        let control = ModePage.selectList6(ModePage.control(dSense: true))
        #expect(scsi.run(CDB.modeSelect6(length: UInt8(control.count)), out: control).isGood)
        let old = pattern(512, seed: 1)
        #expect(scsi.scsiWrite(lba: 3, old).isGood)
        var expected = old
        expected[0] ^= 0x80
        let result = scsi.run(CDB.compareAndWrite(lba: 3, blocks: 1), out: expected + pattern(512, seed: 9))
        // 72h, MISCOMPARE, 1Dh/00h, ADDITIONAL SENSE LENGTH 0Ch; Information descriptor: type 00h,
        // length 0Ah, VALID, reserved, 8-byte INFORMATION 0.
        #expect(result.sense == [0x72, 0x0E, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x0C,
                                 0x00, 0x0A, 0x80, 0x00, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(scsi.scsiRead(lba: 3, blocks: 1).data == old)
    }

    @Test func moreBlocksThanTheMaximumCompareAndWriteLengthIsRefused() throws {
        let scsi = try Rig.scsi()
        // Block Limits says MAXIMUM COMPARE AND WRITE LENGTH 1 (ACWU 0): 2 blocks is an invalid
        // field at byte 13.
        let result = scsi.run(CDB.compareAndWrite(lba: 0, blocks: 2), out: pattern(2048, seed: 1))
        #expect(result.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x0D]))
    }

    @Test func aBufferOfTheWrongSizeIsRefused() throws {
        let scsi = try Rig.scsi()
        // One block needs 1024 bytes of data-out (verify + write).
        let result = scsi.run(CDB.compareAndWrite(lba: 0, blocks: 1), out: pattern(512, seed: 1))
        #expect(result.status == .checkCondition)
        // INVALID FIELD IN CDB at NUMBER OF LOGICAL BLOCKS (byte 13), which the buffer contradicts.
        #expect(result.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x0D]))
        #expect(scsi.scsiRead(lba: 0, blocks: 1).data.allSatisfy { $0 == 0 })
    }
}
