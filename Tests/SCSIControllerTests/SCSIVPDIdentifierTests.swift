import MockNVMe
import Testing
@testable import SCSIController

/// VPD pages 80h (Unit Serial Number, SPC-5 7.8.16) and 83h (Device Identification, SPC-5
/// 7.8.6) of namespaces that report an NGUID (Identify Namespace bytes 119:104) and an EUI-64
/// (bytes 127:120), per Reference 1.5 6.1.3 and 6.1.4:
/// - 80h PRODUCT SERIAL NUMBER: the NGUID, else the EUI-64, as upper-case hex in groups of four
///   digits joined by "_" and ended by "." (40 and 20 bytes); with neither, the controller's
///   20-byte serial number, "_", the NSID as eight hex digits and "." (30 bytes, 6.1.3.1.3).
/// - 83h: an EUI-64 based designator for each (PROTOCOL IDENTIFIER 0h, CODE SET 1h binary; PIV 0,
///   ASSOCIATION 00b logical unit, DESIGNATOR TYPE 2h; DESIGNATOR LENGTH 10h for the NGUID, the
///   EUI-64 based 16-byte format, and 08h for the EUI-64), NGUID first.
@Suite struct SCSIVPDIdentifierTests {
    static let nguid: [UInt8] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF]
    static let eui64: [UInt8] = [0x00, 0x25, 0x38, 0xAB, 0xCD, 0xEF, 0x01, 0x23]

    @Test func nguidAndEUI64() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 4096, nguid: Self.nguid, eui64: Self.eui64)] }
        #expect(scsi.vpdPage(0x80) == [0x00, 0x80, 0x00, 0x28] + Array("0011_2233_4455_6677_8899_AABB_CCDD_EEFF.".utf8))
        #expect(scsi.vpdPage(0x83) == [0x00, 0x83, 0x00, 0x20,
                                       0x01, 0x02, 0x00, 0x10,
                                       0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                       0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
                                       0x01, 0x02, 0x00, 0x08,
                                       0x00, 0x25, 0x38, 0xAB, 0xCD, 0xEF, 0x01, 0x23])
    }

    @Test func eui64Only() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 4096, eui64: Self.eui64)] }
        #expect(scsi.vpdPage(0x80) == [0x00, 0x80, 0x00, 0x14] + Array("0025_38AB_CDEF_0123.".utf8))
        #expect(scsi.vpdPage(0x83) == [0x00, 0x83, 0x00, 0x0C,
                                       0x01, 0x02, 0x00, 0x08,
                                       0x00, 0x25, 0x38, 0xAB, 0xCD, 0xEF, 0x01, 0x23])
    }

    @Test func nguidOnly() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 4096, nguid: Self.nguid)] }
        #expect(scsi.vpdPage(0x80) == [0x00, 0x80, 0x00, 0x28] + Array("0011_2233_4455_6677_8899_AABB_CCDD_EEFF.".utf8))
        #expect(scsi.vpdPage(0x83) == [0x00, 0x83, 0x00, 0x14,
                                       0x01, 0x02, 0x00, 0x10,
                                       0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                       0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF])
    }

    /// Two namespaces, each with identifiers of its own: each logical unit reports its own.
    @Test func eachLogicalUnitHasItsOwnDesignators() throws {
        let otherNGUID: [UInt8] = [0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF]
        let otherEUI64: [UInt8] = [0x00, 0x25, 0x38, 0xAB, 0xCD, 0xEF, 0x01, 0x24]
        let scsi = try Rig.scsi {
            $0.namespaces = [MockNamespace(blockCount: 4096, nguid: Self.nguid, eui64: Self.eui64),
                             MockNamespace(blockCount: 4096, nguid: otherNGUID, eui64: otherEUI64)]
        }
        let first = scsi.vpdPage(0x83, lun: 0)
        let second = scsi.vpdPage(0x83, lun: 1)
        #expect(second == [0x00, 0x83, 0x00, 0x20,
                           0x01, 0x02, 0x00, 0x10,
                           0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
                           0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
                           0x01, 0x02, 0x00, 0x08,
                           0x00, 0x25, 0x38, 0xAB, 0xCD, 0xEF, 0x01, 0x24])
        #expect(first.count == 36 && first != second)
        #expect(Array(first[8..<24]) != Array(second[8..<24]) && Array(first[28..<36]) != Array(second[28..<36]))
        #expect(scsi.vpdPage(0x80, lun: 1) == [0x00, 0x80, 0x00, 0x28] + Array("FEDC_BA98_7654_3210_0123_4567_89AB_CDEF.".utf8))
        #expect(scsi.vpdPage(0x80, lun: 0) != scsi.vpdPage(0x80, lun: 1))
    }

    /// Neither identifier (an NVMe 1.0 style namespace): Reference 1.5 6.1.3.1.3 gives PAGE
    /// LENGTH 30 (1Eh): bits 239:80 the Identify Controller SN (20 bytes, space padded), bits
    /// 79:72 "_", bits 71:08 the NSID in ASCII (eight hex digits), bits 07:00 ".".
    @Test func withNeitherTheSerialNumberAndNSIDEndWithAPeriod() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 4096), MockNamespace(blockCount: 4096)] }
        #expect(scsi.vpdPage(0x80, lun: 0) == [0x00, 0x80, 0x00, 0x1E] + Array("MOCK00000001        _00000001.".utf8))
        #expect(scsi.vpdPage(0x80, lun: 1) == [0x00, 0x80, 0x00, 0x1E] + Array("MOCK00000001        _00000002.".utf8))
    }
}
