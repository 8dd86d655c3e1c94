import Testing
import Translation
import TestSupport
@testable import SCSIController

/// INQUIRY standard data and the VPD pages (SPC-5 6.7, 7.8; SBC-4 6.6), through the task API.
/// The mock has no NGUID/EUI-64, serial "MOCK00000001", model "SwiftNVMe Mock Controller",
/// firmware "1.0", a volatile write cache, ONCS Compare/DSM/Write Zeroes/Verify, DLFEAT 001b.
@Suite struct SCSIInquiryTests {
    @Test func standardData() throws {
        let scsi = try Rig.scsi()
        let inquiry = scsi.run(CDB.inquiry(allocation: 36), inLength: 36)
        #expect(inquiry.isGood)
        let expected: [UInt8] = [
            0x00,       // PERIPHERAL QUALIFIER 000b, PERIPHERAL DEVICE TYPE 00h (direct access block)
            0x00,       // RMB 0
            0x06,       // VERSION: SPC-4 (Translation Reference)
            0x02,       // RESPONSE DATA FORMAT 2
            0x45,       // ADDITIONAL LENGTH: 74 - 5 (the version descriptors follow byte 35)
            0x00, 0x00, // no SCCS..PROTECT, no MULTIP (namespace not shared)
            0x02,       // CMDQUE
        ] + Array("NVMe    ".utf8)          // T10 VENDOR IDENTIFICATION
          + Array("SwiftNVMe Mock C".utf8)  // PRODUCT IDENTIFICATION: first 16 bytes of MN
          + Array("1.0 ".utf8)              // PRODUCT REVISION LEVEL from FR, space padded
        #expect(inquiry.data == expected)
        #expect(inquiry.response.residual == 0)
    }

    @Test func allocationLengthTruncatesWithoutError() throws {
        let scsi = try Rig.scsi()
        let short = scsi.run(CDB.inquiry(allocation: 5), inLength: 36)
        #expect(short.isGood)
        #expect(Array(short.data[0..<5]) == [0x00, 0x00, 0x06, 0x02, 0x45])
        #expect(Array(short.data[5...]) == [UInt8](repeating: 0xEE, count: 31))
        #expect(short.response.bytesTransferred == 5 && short.response.residual == 31)
        // A buffer larger than the data: the rest is residual.
        let long = scsi.run(CDB.inquiry(allocation: 96), inLength: 96)
        #expect(long.isGood)
        #expect(long.response.bytesTransferred == 74 && long.response.residual == 22)
        // Allocation length 0: nothing is transferred, and that is not an error.
        let none = scsi.run(CDB.inquiry(allocation: 0), inLength: 36)
        #expect(none.isGood && none.response.bytesTransferred == 0)
    }

    @Test func supportedVPDPages() throws {
        let scsi = try Rig.scsi()
        let page = scsi.run(CDB.inquiry(page: 0x00, allocation: 255), inLength: 11)
        #expect(page.isGood)
        #expect(page.data == [0x00, 0x00, 0x00, 0x07, 0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1, 0xB2])
    }

    @Test func unitSerialNumberIsASCIIAndUniquePerLU() throws {
        let scsi = try Rig.scsi { $0.namespaces = [.init(blockCount: 4096), .init(blockCount: 4096)] }
        var serials: [[UInt8]] = []
        for lun: UInt64 in 0..<2 {
            let page = scsi.run(CDB.inquiry(page: 0x80, allocation: 255), lun: lun, inLength: 255)
            #expect(page.isGood)
            #expect(Array(page.data[0..<2]) == [0x00, 0x80])
            let length = Int(page.data[2]) << 8 | Int(page.data[3])
            #expect(page.response.bytesTransferred == 4 + length)
            let serial = Array(page.data[4..<(4 + length)])
            #expect(!serial.isEmpty && serial.allSatisfy { (0x20...0x7E).contains($0) })
            #expect(String(decoding: serial, as: UTF8.self).hasPrefix("MOCK00000001"))
            serials.append(serial)
        }
        #expect(serials[0] != serials[1])
    }

    @Test func deviceIdentificationHasAUniqueLogicalUnitDesignator() throws {
        let scsi = try Rig.scsi { $0.namespaces = [.init(blockCount: 4096), .init(blockCount: 4096)] }
        var designators: [[UInt8]] = []
        for lun: UInt64 in 0..<2 {
            let page = scsi.run(CDB.inquiry(page: 0x83, allocation: 255), lun: lun, inLength: 255)
            #expect(page.isGood)
            #expect(Array(page.data[0..<2]) == [0x00, 0x83])
            let length = Int(page.data[2]) << 8 | Int(page.data[3])
            #expect(page.response.bytesTransferred == 4 + length)
            // One designation descriptor: CODE SET 2h (ASCII), ASSOCIATION 00b (LU), DESIGNATOR
            // TYPE 1h (T10 vendor ID based), T10 VENDOR IDENTIFICATION "NVMe    ".
            #expect(Array(page.data[4..<7]) == [0x02, 0x01, 0x00])
            let designatorLength = Int(page.data[7])
            #expect(8 + designatorLength == 4 + length)
            let designator = Array(page.data[8..<(8 + designatorLength)])
            #expect(Array(designator[0..<8]) == Array("NVMe    ".utf8))
            #expect(designator.allSatisfy { (0x20...0x7E).contains($0) })
            designators.append(designator)
        }
        #expect(designators[0] != designators[1])
    }

    @Test func extendedInquiryData() throws {
        let scsi = try Rig.scsi()
        let page = scsi.run(CDB.inquiry(page: 0x86, allocation: 64), inLength: 64)
        #expect(page.isGood)
        // PAGE LENGTH 003Ch; byte 5 SIMPSUP; byte 6 V_SUP (volatile cache present); byte 7 LUICLR.
        let expected: [UInt8] = [0x00, 0x86, 0x00, 0x3C, 0x00, 0x01, 0x01, 0x01] + [UInt8](repeating: 0, count: 56)
        #expect(page.data == expected)
    }

    @Test func blockLimits() throws {
        let scsi = try Rig.scsi()
        let page = scsi.run(CDB.inquiry(page: 0xB0, allocation: 64), inLength: 64)
        #expect(page.isGood)
        // The mock: MDTS 5, CAP.MPSMIN 0 (4 KiB pages), 512-byte blocks, ACWU 0, DSM.
        var expected = [UInt8](repeating: 0, count: 64)
        expected[1] = 0xB0
        expected[3] = 0x3C                                           // PAGE LENGTH
        expected[4] = 0x01                                           // WSNZ
        expected[5] = 0x01                                           // MAXIMUM COMPARE AND WRITE LENGTH (ACWU 0 + 1)
        // MAXIMUM TRANSFER LENGTH: the default largest task, 1 GiB (DriverKit's default transfer),
        // 2^30 / 512 = 0020_0000h blocks.
        expected.replaceSubrange(8..<12, with: [0x00, 0x20, 0x00, 0x00])
        // OPTIMAL TRANSFER LENGTH: one command, 2^5 x 4 KiB = 128 KiB, 0100h blocks.
        expected.replaceSubrange(12..<16, with: [0x00, 0x00, 0x01, 0x00])
        expected.replaceSubrange(20..<24, with: [0xFF, 0xFF, 0xFF, 0xFF])        // MAXIMUM UNMAP LBA COUNT
        expected.replaceSubrange(24..<28, with: [0x00, 0x00, 0x01, 0x00])        // ... BLOCK DESCRIPTOR COUNT: 256 (DSM)
        #expect(page.data == expected)
    }

    @Test func blockDeviceCharacteristicsSayNonRotating() throws {
        let scsi = try Rig.scsi()
        let page = scsi.run(CDB.inquiry(page: 0xB1, allocation: 64), inLength: 64)
        #expect(page.isGood)
        // MEDIUM ROTATION RATE (bytes 4-5) 0001h: non-rotating medium.
        #expect(page.data == [0x00, 0xB1, 0x00, 0x3C, 0x00, 0x01] + [UInt8](repeating: 0, count: 58))
    }

    @Test func logicalBlockProvisioning() throws {
        let scsi = try Rig.scsi()
        let page = scsi.run(CDB.inquiry(page: 0xB2, allocation: 8), inLength: 8)
        #expect(page.isGood)
        // Byte 5: LBPU (UNMAP) | LBPWS | LBPWS10 | LBPRZ 001b (bits 4-2); byte 6 PROVISIONING TYPE
        // 001b (resource provisioned: the namespace does not report thin provisioning).
        #expect(page.data == [0x00, 0xB2, 0x00, 0x04, 0x00, 0xE4, 0x01, 0x00])
    }

    @Test func anUnsupportedVPDPageIsAnInvalidFieldAtByte2() throws {
        let scsi = try Rig.scsi()
        let page = scsi.run(CDB.inquiry(page: 0x89, allocation: 255), inLength: 255)
        #expect(page.status == .checkCondition)
        // SKSV | C/D, no bit pointer, FIELD POINTER 0002h.
        #expect(page.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x02]))
        #expect(page.response.residual == 255)
    }

    @Test func aPageCodeWithoutEVPDIsAnInvalidField() throws {
        let scsi = try Rig.scsi()
        let page = scsi.run([0x12, 0x00, 0x80, 0x00, 0xFF, 0x00], inLength: 255)
        #expect(page.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x02]))
    }

    @Test func anAbsentLUNAnswersStandardInquiryWithQualifier011b() throws {
        let scsi = try Rig.scsi()
        let inquiry = scsi.run(CDB.inquiry(allocation: 36), lun: 9, inLength: 36)
        #expect(inquiry.isGood)
        // PERIPHERAL QUALIFIER 011b, PERIPHERAL DEVICE TYPE 1Fh (SPC-5 6.7.2).
        #expect(inquiry.data[0] == 0x7F)
    }
}
