import NVMe
import Testing
import TestSupport
@testable import Translation

@Suite struct InquiryTests {
    let ascii = { (text: String) in Array(text.utf8) }

    @Test func standardData() {
        // SPC-5 6.7.2: direct access, VERSION 06h, RESPONSE DATA FORMAT 2, ADDITIONAL LENGTH 69
        // (74 bytes), CMDQUE; "NVMe    "; the first 16 model characters; the last 4 firmware
        // characters; then, at bytes 58-73, the version descriptors SAM-5 00A0h, SPC-4 0460h and
        // SBC-3 04C0h (SPC-5 table "Version descriptor values", no version claimed).
        let expected: [UInt8] = [0x00, 0x00, 0x06, 0x02, 0x45, 0x00, 0x00, 0x02]
            + ascii("NVMe    ") + ascii("ACME NVMe SSD 10") + ascii("2345")
        expectData(plan([0x12, 0, 0, 0, 36, 0], length: 36, direction: .fromDevice), expected)
        let full = plan([0x12, 0, 0, 0, 96, 0], length: 96, direction: .fromDevice).response
        #expect(full?.dataIn.count == 74 && full?.residual == 22)
        #expect(Array(full?.dataIn[36..<58] ?? []) == [UInt8](repeating: 0, count: 22))
        #expect(Array(full?.dataIn[58..<74] ?? []) == [0x00, 0xA0, 0x04, 0x60, 0x04, 0xC0] + [UInt8](repeating: 0, count: 10))
    }

    @Test func allocationLengthTruncates() {
        let response = plan([0x12, 0, 0, 0, 5, 0], length: 36, direction: .fromDevice).response
        #expect(response?.dataIn == [0x00, 0x00, 0x06, 0x02, 0x45])
        #expect(response?.residual == 31)
        // The task buffer bounds the data too.
        #expect(plan([0x12, 0, 0, 0, 36, 0], length: 8, direction: .fromDevice).response?.dataIn.count == 8)
    }

    @Test func absentLUNHasQualifier011b() {
        let data = plan([0x12, 0, 0, 0, 36, 0], lun: 5, length: 36, direction: .fromDevice).response?.dataIn
        #expect(data?.first == 0x7F)
        // ...and a VPD page there is LOGICAL UNIT NOT SUPPORTED.
        expectCheck(plan([0x12, 1, 0x00, 0, 255, 0], lun: 5, length: 255, direction: .fromDevice), fixedSense(0x05, 0x25, 0x00))
    }

    @Test func pageCodeWithoutEVPDIsInvalid() {
        expectCheck(plan([0x12, 0, 0x80, 0, 36, 0], length: 36, direction: .fromDevice), invalidCDB(byte: 2))
    }

    @Test func cmdDtIsReserved() {
        expectCheck(plan([0x12, 0x02, 0, 0, 36, 0], length: 36, direction: .fromDevice), invalidCDB(byte: 1, bit: 1))
    }

    func vpd(_ page: UInt8, facts: DeviceFacts = Fixture.facts()) -> [UInt8]? {
        plan([0x12, 1, page, 0x01, 0x00, 0], length: 256, direction: .fromDevice, facts: facts).response?.dataIn
    }

    @Test func supportedPages() {
        #expect(vpd(0x00) == [0x00, 0x00, 0x00, 0x07, 0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1, 0xB2])
    }

    @Test func unitSerialNumber() {
        // No NGUID/EUI-64 (Reference 6.1.3.1.3): serial number padded to 20, "_", NSID in 8 hex
        // digits, ".": 30 bytes.
        #expect(vpd(0x80) == [0x00, 0x80, 0x00, 0x1E] + ascii("S123456789          _00000001."))
        var namespace = Fixture.namespace()
        namespace.eui64 = [0x00, 0x25, 0x38, 0xAB, 0xCD, 0xEF, 0x01, 0x23]
        #expect(vpd(0x80, facts: Fixture.facts(namespaces: [namespace]))
            == [0x00, 0x80, 0x00, 0x14] + ascii("0025_38AB_CDEF_0123."))
    }

    @Test func deviceIdentification() {
        var namespace = Fixture.namespace()
        namespace.nguid = Array(1...16)
        // SPC-5 7.8.6: CODE SET 1 (binary), DESIGNATOR TYPE 2 (EUI-64 based), length 16.
        #expect(vpd(0x83, facts: Fixture.facts(namespaces: [namespace]))
            == [0x00, 0x83, 0x00, 0x14, 0x01, 0x02, 0x00, 0x10] + Array(1...16))
        namespace.nguid = Array(repeating: 0, count: 16)
        namespace.eui64 = [1, 2, 3, 4, 5, 6, 7, 8]
        #expect(vpd(0x83, facts: Fixture.facts(namespaces: [namespace]))
            == [0x00, 0x83, 0x00, 0x0C, 0x01, 0x02, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8])
        // Neither: T10 vendor ID based (CODE SET 2 ASCII, TYPE 1), "NVMe    " + model + serial + NSID.
        let t10 = ascii("NVMe    ") + ascii("ACME NVMe SSD 1000 Series" + String(repeating: " ", count: 15))
            + ascii("S123456789          ") + ascii("00000001")
        #expect(vpd(0x83) == [0x00, 0x83, 0x00, UInt8(t10.count + 4), 0x02, 0x01, 0x00, UInt8(t10.count)] + t10)
    }

    @Test func extendedInquiry() {
        // SIMPSUP, V_SUP (volatile cache present), LUICLR.
        #expect(vpd(0x86) == [0x00, 0x86, 0x00, 0x3C, 0x00, 0x01, 0x01, 0x01] + [UInt8](repeating: 0, count: 56))
    }

    @Test func blockLimits() {
        var expected: [UInt8] = [0x00, 0xB0, 0x00, 0x3C, 0x01, 0x08, 0x00, 0x00] // WSNZ, MAX C&W = ACWU+1
        expected += [0x00, 0x00, 0x01, 0x00]    // MAXIMUM TRANSFER LENGTH: 128 KiB / 512
        expected += [0x00, 0x00, 0x00, 0x80]    // OPTIMAL TRANSFER LENGTH: MDTS 64 KiB / 512
        expected += [0x00, 0x00, 0x00, 0x00]    // MAXIMUM PREFETCH LENGTH
        expected += [0x00, 0x01, 0x00, 0x00]    // MAXIMUM UNMAP LBA COUNT
        expected += [0x00, 0x00, 0x01, 0x00]    // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
        expected += [UInt8](repeating: 0, count: 36)
        #expect(vpd(0xB0) == expected)
        // A 32 KiB segment limit lowers OPTIMAL TRANSFER LENGTH to 64 blocks.
        var segmented = Fixture.facts()
        segmented.maximumSegmentBytes = 32 * 1024
        #expect(vpd(0xB0, facts: segmented).map { Array($0[12..<16]) } == [0x00, 0x00, 0x00, 0x40])
        // Without DSM and fused compare-and-write, those fields are zero.
        let bare = vpd(0xB0, facts: Fixture.facts(rich: false))
        #expect(bare?[5] == 0)
        #expect(bare.map { Array($0[20..<28]) } == [UInt8](repeating: 0, count: 8))
    }

    @Test func blockDeviceCharacteristics() {
        #expect(vpd(0xB1) == [0x00, 0xB1, 0x00, 0x3C, 0x00, 0x01] + [UInt8](repeating: 0, count: 58))
    }

    @Test func logicalBlockProvisioning() {
        // LBPU, LBPWS, LBPWS10; resource provisioned.
        #expect(vpd(0xB2) == [0x00, 0xB2, 0x00, 0x04, 0x00, 0xE0, 0x01, 0x00])
        var namespace = Fixture.namespace()
        namespace.dlfeat = 0x01
        namespace.nsfeat = 0x01
        // ...plus LBPRZ 001b; thin provisioned.
        #expect(vpd(0xB2, facts: Fixture.facts(namespaces: [namespace])) == [0x00, 0xB2, 0x00, 0x04, 0x00, 0xE4, 0x02, 0x00])
        #expect(vpd(0xB2, facts: Fixture.facts(rich: false)) == [0x00, 0xB2, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00])
    }

    /// SBC-4 4.7: READ CAPACITY (16), VPD B2h and the supported-commands table tell one story.
    /// Write Zeroes without Dataset Management is a fully provisioned unit: LBPME 0, nothing in
    /// B2h, no UNMAP, and WRITE SAME's UNMAP bit absent from its usage data (NDOB stays).
    @Test func provisioningAgreesEverywhere() {
        var zeroesOnly = Fixture.facts()
        zeroesOnly.controller.oncs = [.writeZeroes]
        #expect(vpd(0xB2, facts: zeroesOnly) == [0x00, 0xB2, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00])
        let capacity = plan([0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], length: 32, direction: .fromDevice, facts: zeroesOnly)
        #expect(capacity.response?.dataIn[14] == 0x00)
        func usage(_ opcode: UInt8, _ facts: DeviceFacts) -> [UInt8]? {
            plan([0xA3, 0x0C, 0x01, opcode, 0, 0, 0, 0, 0x10, 0, 0, 0], length: 4096, direction: .fromDevice, facts: facts).response?.dataIn
        }
        // REPORT SUPPORTED OPERATION CODES, one command: SUPPORT 011b, CDB SIZE, usage data.
        #expect(usage(0x93, zeroesOnly) == [0, 0x03, 0, 0x10, 0x93, 0x01] + [UInt8](repeating: 0xFF, count: 12) + [0x3F, 0x00])
        #expect(usage(0x41, zeroesOnly) == [0, 0x03, 0, 0x0A, 0x41, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0xFF, 0xFF, 0x00])
        #expect(usage(0x42, zeroesOnly) == [0, 0x01, 0, 0])
        // With Dataset Management all of them are there.
        #expect(usage(0x93, Fixture.facts()) == [0, 0x03, 0, 0x10, 0x93, 0x09] + [UInt8](repeating: 0xFF, count: 12) + [0x3F, 0x00])
        #expect(usage(0x41, Fixture.facts())?[5] == 0x08)
    }

    @Test func compareAndWriteLengthNeedsTheCompareCommand() {
        // Fused operations but no Compare in ONCS: COMPARE AND WRITE cannot run, so MAXIMUM
        // COMPARE AND WRITE LENGTH is 0 and the command is not supported.
        var noCompare = Fixture.facts()
        noCompare.controller.oncs = [.datasetManagement, .writeZeroes, .verify]
        #expect(vpd(0xB0, facts: noCompare)?[5] == 0)
        expectCheck(plan([0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0], length: 1024, direction: .toDevice, facts: noCompare),
                    invalidOpcodeSense)
    }

    @Test func malformedIdentifyDataDoesNotTrap() {
        // An NGUID that is not 16 bytes is not an NGUID: the EUI-64 designator follows alone.
        var namespace = Fixture.namespace()
        namespace.nguid = [UInt8](repeating: 0xAB, count: 300)
        namespace.eui64 = [1, 2, 3, 4, 5, 6, 7, 8]
        #expect(vpd(0x83, facts: Fixture.facts(namespaces: [namespace]))
            == [0x00, 0x83, 0x00, 0x0C, 0x01, 0x02, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8])
        #expect(vpd(0x80, facts: Fixture.facts(namespaces: [namespace])) == [0x00, 0x80, 0x00, 0x14] + ascii("0102_0304_0506_0708."))
        // No LBA format at all: 512-byte blocks rather than a trap.
        var formatless = Fixture.namespace()
        formatless.lbaFormats = []
        expectData(plan([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], length: 8, direction: .fromDevice, facts: Fixture.facts(namespaces: [formatless])),
                   [0x00, 0x00, 0x0F, 0xFF, 0x00, 0x00, 0x02, 0x00])
    }

    @Test func unknownPage() {
        expectCheck(plan([0x12, 1, 0x89, 0, 255, 0], length: 255, direction: .fromDevice), invalidCDB(byte: 2))
    }
}
