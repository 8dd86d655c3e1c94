import MockNVMe
import NVMe
import Testing
import TestSupport
@testable import SCSIController

/// What the SCSI layer reports and accepts when the controller lacks optional NVM commands
/// (ONCS, `MockConfiguration.optionalNVMCommands`), end to end. Without Dataset Management the
/// unit is fully provisioned (SBC-4 4.7.2): no LBPME, no UNMAP, no WRITE SAME with UNMAP, B0h
/// reports no unmap limits and B2h nothing. VERIFY's BYTCHK picks the NVMe command it needs:
/// 00b Verify, 01b Compare. The namespace is the mock's default: 2 Mi blocks of 512 bytes.
@Suite struct SCSIOptionalNVMCommandTests {
    /// ONCS with Write Zeroes only (no Compare, so no fused Compare and Write either).
    static func writeZeroesOnly() throws -> Rig {
        try Rig.scsi {
            $0.optionalNVMCommands = [.writeZeroes]
            $0.compareAndWrite = false
        }
    }

    /// ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (20h/00h), no field pointer.
    static let invalidOperationCode = fixedSense(0x05, 0x20, 0x00)
    /// ILLEGAL REQUEST, INVALID FIELD IN CDB (24h/00h); SKSV | C/D | BPV, bit 3 of byte 1 (UNMAP).
    static let invalidFieldAtUnmapBit = fixedSense(0x05, 0x24, 0x00, specific: [0xCB, 0x00, 0x01])
    /// ILLEGAL REQUEST, INVALID FIELD IN CDB (24h/00h); SKSV | C/D | BPV, bit 2 of byte 1: the
    /// most significant bit of VERIFY's BYTCHK field (byte 1 bits 2-1).
    static let invalidFieldAtByteCheck = fixedSense(0x05, 0x24, 0x00, specific: [0xCA, 0x00, 0x01])

    /// READ CAPACITY (16): RETURNED LOGICAL BLOCK ADDRESS 1FFFFFh, LOGICAL BLOCK LENGTH 512,
    /// byte 14 LBPME 0 and LBPRZ 0 (fully provisioned), the reserved bytes 16-31 zero.
    @Test func readCapacity16ReportsNoLogicalBlockProvisioning() throws {
        let scsi = try Self.writeZeroesOnly()
        let capacity = scsi.run([0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x20, 0, 0], inLength: 32)
        #expect(capacity.isGood)
        #expect(capacity.data == [0x00, 0x00, 0x00, 0x00, 0x00, 0x1F, 0xFF, 0xFF, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00]
                + [UInt8](repeating: 0, count: 16))
    }

    /// B2h: THRESHOLD EXPONENT 0; LBPU, LBPWS, LBPWS10 0; LBPRZ 000b; PROVISIONING TYPE 000b (full).
    /// B0h: MAXIMUM COMPARE AND WRITE LENGTH 0 (no fused operation); MAXIMUM UNMAP LBA COUNT and
    /// MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT (bytes 20-27) zero: UNMAP is not supported.
    @Test func provisioningPagesReportNoUnmap() throws {
        let scsi = try Self.writeZeroesOnly()
        #expect(scsi.vpdPage(0xB2) == [0x00, 0xB2, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00])
        let limits = scsi.vpdPage(0xB0)
        #expect(Array(limits.prefix(4)) == [0x00, 0xB0, 0x00, 0x3C] && limits.count == 64)
        #expect(limits[5] == 0x00)
        #expect(Array(limits[20..<28]) == [0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func unmapIsAnInvalidCommandOperationCode() throws {
        let scsi = try Self.writeZeroesOnly()
        let data = pattern(8 * 512, seed: 0x61)
        #expect(scsi.scsiWrite(lba: 0, data).isGood)
        // UNMAP DATA LENGTH 0016h, BLOCK DESCRIPTOR DATA LENGTH 0010h, one descriptor: LBA 0, 8 blocks.
        let list: [UInt8] = [0x00, 0x16, 0x00, 0x10, 0, 0, 0, 0,
                             0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 0]
        let unmap = scsi.run([0x42, 0x00, 0, 0, 0, 0, 0x00, 0x00, 0x18, 0x00], out: list)
        #expect(unmap.status == .checkCondition)
        #expect(unmap.sense == Self.invalidOperationCode)
        #expect(scsi.scsiRead(lba: 0, blocks: 8).data == data)
        // REPORT SUPPORTED OPERATION CODES, one command, 42h: SUPPORT 001b, not supported (SPC-5:
        // all data after byte 1 is undefined).
        let report = scsi.run([0xA3, 0x0C, 0x01, 0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00], inLength: 64)
        #expect(report.isGood && Array(report.data.prefix(2)) == [0x00, 0x01])
    }

    /// WRITE SAME (10) 41h and (16) 93h with UNMAP (byte 1 bit 3) are refused at that bit and
    /// write nothing; without UNMAP an all-zero block (or NDOB) still zeroes through Write Zeroes.
    @Test func writeSameWithUnmapIsAnInvalidFieldAtTheUnmapBit() throws {
        let scsi = try Self.writeZeroesOnly()
        let data = pattern(8 * 512, seed: 0x62)
        #expect(scsi.scsiWrite(lba: 16, data).isGood)
        let zeroBlock = [UInt8](repeating: 0, count: 512)
        let sixteen = scsi.run([0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00], out: zeroBlock)
        #expect(sixteen.status == .checkCondition)
        #expect(sixteen.sense == Self.invalidFieldAtUnmapBit)
        let ten = scsi.run([0x41, 0x08, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x04, 0x00], out: zeroBlock)
        #expect(ten.sense == Self.invalidFieldAtUnmapBit)
        #expect(scsi.scsiRead(lba: 16, blocks: 8).data == data)
        // WRITE SAME (16) of the zero block over LBAs 16-19, then NDOB (bit 0, no data-out) over 20-23.
        #expect(scsi.run([0x93, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00], out: zeroBlock).isGood)
        #expect(scsi.run([0x93, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x14, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00]).isGood)
        #expect(scsi.scsiRead(lba: 16, blocks: 8).data == [UInt8](repeating: 0, count: 8 * 512))
    }

    /// REPORT SUPPORTED OPERATION CODES, REPORTING OPTIONS 001b (SPC-5 6.35.3): byte 1 SUPPORT
    /// 011b, CDB SIZE, then the CDB usage data (SBC-4 CDB layouts): WRITE SAME (16) byte 1 keeps
    /// NDOB (bit 0; Write Zeroes is there) but not UNMAP (bit 3), then LOGICAL BLOCK ADDRESS (8
    /// bytes) and NUMBER OF LOGICAL BLOCKS (4), GROUP NUMBER (bits 5-0), CONTROL 00h (no NACA).
    /// WRITE SAME (10): byte 1 without UNMAP is 00h.
    @Test func usageDataLeavesOutTheUnmapBit() throws {
        let scsi = try Self.writeZeroesOnly()
        let sixteen = scsi.run([0xA3, 0x0C, 0x01, 0x93, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00], inLength: 64)
        #expect(sixteen.isGood)
        #expect(Array(sixteen.data.prefix(sixteen.response.bytesTransferred))
                == [0x00, 0x03, 0x00, 0x10,
                    0x93, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0x00])
        let ten = scsi.run([0xA3, 0x0C, 0x01, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00], inLength: 64)
        #expect(Array(ten.data.prefix(ten.response.bytesTransferred))
                == [0x00, 0x03, 0x00, 0x0A, 0x41, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0xFF, 0xFF, 0x00])
    }

    /// Compare without Verify: VERIFY with BYTCHK 00b needs NVMe Verify, so the field is refused
    /// (nothing reaches the device: a Verify would come back Invalid Opcode, 20h/00h); BYTCHK
    /// 01b compares and succeeds.
    @Test func verifyWithoutByteCheckNeedsTheVerifyCommand() throws {
        let scsi = try Rig.scsi { $0.optionalNVMCommands = [.compare] }
        let data = pattern(8 * 512, seed: 0x63)
        #expect(scsi.scsiWrite(lba: 0, data).isGood)
        let ten = scsi.run([0x2F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00])
        #expect(ten.status == .checkCondition)
        #expect(ten.sense == Self.invalidFieldAtByteCheck)
        let sixteen = scsi.run([0x8F, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00])
        #expect(sixteen.sense == Self.invalidFieldAtByteCheck)
        #expect(scsi.run([0x2F, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00], out: data).isGood)
    }

    /// Verify without Compare: the other way round, and COMPARE AND WRITE (89h) is not a
    /// command this unit has.
    @Test func verifyWithByteCheckNeedsTheCompareCommand() throws {
        let scsi = try Rig.scsi {
            $0.optionalNVMCommands = [.verify, .writeZeroes, .datasetManagement]
            $0.compareAndWrite = false
        }
        let data = pattern(8 * 512, seed: 0x64)
        #expect(scsi.scsiWrite(lba: 0, data).isGood)
        #expect(scsi.run([0x2F, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00], out: data).sense == Self.invalidFieldAtByteCheck)
        #expect(scsi.run([0x2F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00]).isGood)
        let compareAndWrite = scsi.run([0x89, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x00, 0, 0, 0, 0x01, 0, 0],
                                       out: [UInt8](repeating: 0, count: 1024))
        #expect(compareAndWrite.sense == Self.invalidOperationCode)
    }
}
