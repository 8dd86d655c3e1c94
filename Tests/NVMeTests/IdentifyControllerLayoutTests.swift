import Testing
import NVMe

/// Every decoded Identify Controller field at its offset and width from NVMe Base 2.0, figure
/// "Identify Controller Data Structure". Bytes are placed by the test's own reader and writer,
/// surrounded by guard bytes, so a wrong offset or width changes the decoded value.
@Suite struct IdentifyControllerLayoutTests {
    /// (name, first byte, width) straight from the specification's table.
    static var fields: [SpecField<IdentifyController>] { [
        .init("VID", 0, 2, \.vid), .init("SSVID", 2, 2, \.ssvid), .init("IEEE", 73, 3, \.ieee),
        .init("MDTS", 77, 1, \.mdts), .init("CNTLID", 78, 2, \.cntlid), .init("VER", 80, 4, \.ver),
        .init("RTD3R", 84, 4, \.rtd3r), .init("RTD3E", 88, 4, \.rtd3e), .init("OACS", 256, 2, \.oacs),
        .init("ACL", 258, 1, \.acl), .init("AERL", 259, 1, \.aerl), .init("LPA", 261, 1, \.lpa),
        .init("ELPE", 262, 1, \.elpe), .init("NPSS", 263, 1, \.npss), .init("SQES", 512, 1, \.sqes),
        .init("CQES", 513, 1, \.cqes), .init("MAXCMD", 514, 2, \.maxcmd), .init("NN", 516, 4, \.nn),
        .init("FUSES", 522, 2, \.fuses), .init("FNA", 524, 1, \.fna), .init("VWC", 525, 1, \.vwc),
        .init("AWUN", 526, 2, \.awun), .init("AWUPF", 528, 2, \.awupf), .init("ACWU", 532, 2, \.acwu),
        .init("SGLS", 536, 4, \.sgls), .init("MNAN", 540, 4, \.mnan),
    ] }
    static let serial = "SN-0123456789ABCDEFG"                              // exactly 20
    static let model = "Spec Layout Model Number, forty chars.!!"           // exactly 40
    static let firmware = "FW-1.2.3"                                        // exactly 8
    static let nqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001"
    static let oncs: UInt16 = 0x01A5  // bits 0, 2, 5, 7, 8: compare, DSM, reservations, verify, copy

    static func specBytes() -> [UInt8] {
        var raw = [UInt8].specBytes(placing: fields)
        SpecLayout.put(UInt64(oncs), width: 2, at: 520, in: &raw)
        SpecLayout.putText(serial, at: 4, in: &raw)
        SpecLayout.putText(model, at: 24, in: &raw)
        SpecLayout.putText(firmware, at: 64, in: &raw)
        SpecLayout.putText(nqn, at: 768, in: &raw)
        for index in (768 + nqn.utf8.count)..<1024 { raw[index] = 0 }  // SUBNQN is NUL padded
        return raw
    }

    @Test func decodesEveryFieldAtItsSpecOffsetAndWidth() {
        let raw = Self.specBytes()
        let id = raw.withUnsafeBytes { IdentifyController(bytes: $0) }
        SpecFieldChecks.expectDecoded(Self.fields, id, from: raw)
        #expect(id.oncs.rawValue == Self.oncs)
        #expect(id.serialNumber == Self.serial)
        #expect(id.modelNumber == Self.model)
        #expect(id.firmwareRevision == Self.firmware)
        #expect(id.subnqn == Self.nqn)
    }

    @Test func fullWidthFieldsKeepTheirHighBytes() {
        var raw = [UInt8](repeating: 0, count: 4096)
        SpecLayout.put(0xFFEE_DDCC, width: 4, at: 516, in: &raw)     // NN, 32 bits
        SpecLayout.put(0x8001_0003, width: 4, at: 536, in: &raw)     // SGLS, 32 bits
        SpecLayout.put(0x00AB_CDEF, width: 3, at: 73, in: &raw)      // IEEE, 24 bits
        let id = raw.withUnsafeBytes { IdentifyController(bytes: $0) }
        #expect(id.nn == 0xFFEE_DDCC)
        #expect(id.sgls == 0x8001_0003)
        #expect(id.ieee == 0x00AB_CDEF)
    }

    @Test func encodesEveryFieldAtItsSpecOffset() {
        var id = IdentifyController()
        SpecFieldChecks.assignDistinctValues(Self.fields, to: &id)
        id.serialNumber = Self.serial
        id.modelNumber = Self.model
        id.firmwareRevision = Self.firmware
        id.subnqn = Self.nqn
        id.oncs = OptionalNVMCommands(rawValue: Self.oncs)
        let raw = id.encoded()
        #expect(raw.count == 4096)
        SpecFieldChecks.expectEncoded(Self.fields, in: raw)
        #expect(SpecLayout.read(width: 2, at: 520, in: raw) == UInt64(Self.oncs))
        #expect(Array(raw[4..<24]) == Array(Self.serial.utf8))
        #expect(Array(raw[24..<64]) == Array(Self.model.utf8))
        #expect(Array(raw[64..<72]) == Array(Self.firmware.utf8))
        #expect(Array(raw[768..<(768 + Self.nqn.utf8.count)]) == Array(Self.nqn.utf8))
        #expect(raw[768 + Self.nqn.utf8.count] == 0)
    }

    @Test func shortTextIsSpacePaddedAndSubnqnNulPadded() {
        var id = IdentifyController()
        id.serialNumber = "SN1"
        id.subnqn = "nqn.x"
        let raw = id.encoded()
        #expect(Array(raw[4..<24]) == Array("SN1".utf8) + [UInt8](repeating: 0x20, count: 17))
        #expect(raw[773..<1024].allSatisfy { $0 == 0 })
        #expect(raw.withUnsafeBytes { IdentifyController(bytes: $0) }.serialNumber == "SN1")
    }

    @Test func offsetConstantsAreTheSpecNumbers() {
        typealias O = IdentifyController.Offset
        let pairs: [(Int, Int)] = [
            (O.vid, 0), (O.ssvid, 2), (O.sn, 4), (O.mn, 24), (O.fr, 64), (O.rab, 72), (O.ieee, 73), (O.cmic, 76),
            (O.mdts, 77), (O.cntlid, 78), (O.ver, 80), (O.rtd3r, 84), (O.rtd3e, 88), (O.oacs, 256), (O.acl, 258),
            (O.aerl, 259), (O.lpa, 261), (O.elpe, 262), (O.npss, 263), (O.sqes, 512), (O.cqes, 513),
            (O.maxcmd, 514), (O.nn, 516), (O.oncs, 520), (O.fuses, 522), (O.fna, 524), (O.vwc, 525),
            (O.awun, 526), (O.awupf, 528), (O.acwu, 532), (O.sgls, 536), (O.mnan, 540), (O.subnqn, 768),
        ]
        for (index, pair) in pairs.enumerated() { #expect(pair.0 == pair.1, "constant #\(index)") }
        #expect(IdentifyController.size == 4096)
    }

    @Test func optionalNVMCommandBitsAreTheSpecBits() {
        let bits: [(OptionalNVMCommands, UInt16)] = [
            (.compare, 0), (.writeUncorrectable, 1), (.datasetManagement, 2), (.writeZeroes, 3),
            (.saveAndSelectFeatures, 4), (.reservations, 5), (.timestamp, 6), (.verify, 7), (.copy, 8),
        ]
        for (option, bit) in bits { #expect(option.rawValue == 1 << bit, "ONCS bit \(bit)") }
    }

    @Test func derivedFlagsReadTheSpecBits() {
        var id = IdentifyController()
        id.mdts = 5
        #expect(id.maximumTransferBytes(minimumPageSize: 4096) == 128 * 1024)
        id.mdts = 0
        #expect(id.maximumTransferBytes(minimumPageSize: 4096) == nil, "MDTS 0: no limit")
        id.vwc = 0b110
        #expect(!id.volatileWriteCachePresent, "VWC bit 0 is the present bit")
        id.sgls = 0b01
        #expect(id.supportsSGL && !id.sglRequiresDwordAlignment)
        id.sgls = 0b10
        #expect(id.supportsSGL && id.sglRequiresDwordAlignment)
        id.sgls = 0xFFFF_FFFC
        #expect(!id.supportsSGL, "SGLS bits 1:0 = 00b: no SGL support")
        id.fuses = 1
        #expect(id.supportsCompareAndWrite)
    }
}
