import Testing
import NVMe

/// Every decoded Identify Namespace field at its offset and width from NVM Command Set 1.0,
/// figure "Identify Namespace Data Structure, NVM Command Set", placed by the test's own writer.
@Suite struct IdentifyNamespaceLayoutTests {
    static var fields: [SpecField<IdentifyNamespace>] { [
        .init("NSZE", 0, 8, \.nsze), .init("NCAP", 8, 8, \.ncap), .init("NUSE", 16, 8, \.nuse),
        .init("NSFEAT", 24, 1, \.nsfeat), .init("FLBAS", 26, 1, \.flbas), .init("MC", 27, 1, \.mc),
        .init("DPC", 28, 1, \.dpc), .init("DPS", 29, 1, \.dps), .init("NMIC", 30, 1, \.nmic),
        .init("DLFEAT", 33, 1, \.dlfeat), .init("NAWUN", 34, 2, \.nawun), .init("NAWUPF", 36, 2, \.nawupf),
        .init("NACWU", 38, 2, \.nacwu), .init("NOIOB", 46, 2, \.noiob), .init("NPWG", 64, 2, \.npwg),
        .init("NPDG", 68, 2, \.npdg), .init("NOWS", 72, 2, \.nows),
    ] }
    static let nguid: [UInt8] = (0..<16).map { 0xA0 + UInt8($0) }
    static let eui64: [UInt8] = (0..<8).map { 0x50 + UInt8($0) }
    /// NLBAF 3 (four formats); each descriptor: MS 15:0, LBADS 23:16, RP 25:24, bits 31:26 reserved.
    static let formats: [UInt32] = [0xFC09_0000, 0xFD0C_0008, 0xFE0C_0040, 0xFF09_1234]

    static func specBytes() -> [UInt8] {
        var raw = [UInt8].specBytes(placing: fields)
        raw[25] = UInt8(formats.count - 1)
        raw.replaceSubrange(104..<120, with: nguid)
        raw.replaceSubrange(120..<128, with: eui64)
        for (index, format) in formats.enumerated() {
            SpecLayout.put(UInt64(format), width: 4, at: 128 + 4 * index, in: &raw)
        }
        return raw
    }

    @Test func decodesEveryFieldAtItsSpecOffsetAndWidth() {
        let raw = Self.specBytes()
        let ns = raw.withUnsafeBytes { IdentifyNamespace(bytes: $0) }
        SpecFieldChecks.expectDecoded(Self.fields, ns, from: raw)
        #expect(ns.nlbaf == 3)
        #expect(ns.nguid == Self.nguid, "NGUID, bytes 119:104")
        #expect(ns.eui64 == Self.eui64, "EUI64, bytes 127:120")
        #expect(ns.lbaFormats.count == 4, "NLBAF is 0's based")
        let expected: [(ms: UInt16, lbads: UInt8, rp: UInt8)] = [(0, 9, 0), (8, 12, 1), (0x40, 12, 2), (0x1234, 9, 3)]
        for (index, format) in ns.lbaFormats.enumerated() {
            #expect(format.metadataSize == expected[index].ms, "LBAF\(index) MS")
            #expect(format.lbaDataSizeShift == expected[index].lbads, "LBAF\(index) LBADS")
            #expect(format.relativePerformance == expected[index].rp, "LBAF\(index) RP ignores bits 31:26")
        }
    }

    @Test func sizesUseAllSixtyFourBits() {
        var raw = [UInt8](repeating: 0, count: 4096)
        SpecLayout.put(0xF123_4567_89AB_CDEF, width: 8, at: 0, in: &raw)
        SpecLayout.put(0xE000_0000_0000_0001, width: 8, at: 8, in: &raw)
        SpecLayout.put(0x8000_0000_0000_0000, width: 8, at: 16, in: &raw)
        let ns = raw.withUnsafeBytes { IdentifyNamespace(bytes: $0) }
        #expect(ns.nsze == 0xF123_4567_89AB_CDEF)
        #expect(ns.ncap == 0xE000_0000_0000_0001)
        #expect(ns.nuse == 0x8000_0000_0000_0000)
    }

    @Test func encodesEveryFieldAtItsSpecOffset() {
        var ns = IdentifyNamespace()
        SpecFieldChecks.assignDistinctValues(Self.fields, to: &ns)
        ns.nguid = Self.nguid
        ns.eui64 = Self.eui64
        ns.nlbaf = 1
        ns.lbaFormats = [LBAFormat(metadataSize: 0x1234, lbaDataSizeShift: 12, relativePerformance: 2),
                         LBAFormat(lbaDataSizeShift: 9)]
        let raw = ns.encoded()
        SpecFieldChecks.expectEncoded(Self.fields, in: raw)
        #expect(raw[25] == 1)
        #expect(Array(raw[104..<120]) == Self.nguid && Array(raw[120..<128]) == Self.eui64)
        #expect(SpecLayout.read(width: 4, at: 128, in: raw) == 0x020C_1234)
        #expect(SpecLayout.read(width: 4, at: 132, in: raw) == 0x0009_0000)
    }

    @Test func flbasSelectsTheFormatInUse() {
        var ns = IdentifyNamespace()
        ns.lbaFormats = (0..<40).map { LBAFormat(lbaDataSizeShift: UInt8(9 + $0 % 4)) }
        ns.flbas = 0b0001_0011   // index 3 (bits 3:0), extended metadata bit 4 ignored for the index
        #expect(ns.formattedLBAIndex == 3 && ns.blockSize == 4096)
        ns.flbas = 0b0100_0010   // bits 6:5 = 10b are index bits 5:4: 0x20 | 2 = 34
        #expect(ns.formattedLBAIndex == 34 && ns.blockSize == 1 << (9 + 34 % 4))
        ns.dlfeat = 0b1001
        #expect(ns.deallocatedBlocksReadZero, "DLFEAT bits 2:0 = 001b")
        ns.dlfeat = 0b010
        #expect(!ns.deallocatedBlocksReadZero)
    }

    @Test func offsetConstantsAreTheSpecNumbers() {
        typealias O = IdentifyNamespace.Offset
        let pairs: [(Int, Int)] = [
            (O.nsze, 0), (O.ncap, 8), (O.nuse, 16), (O.nsfeat, 24), (O.nlbaf, 25), (O.flbas, 26), (O.mc, 27),
            (O.dpc, 28), (O.dps, 29), (O.nmic, 30), (O.dlfeat, 33), (O.nawun, 34), (O.nawupf, 36),
            (O.nacwu, 38), (O.noiob, 46), (O.nvmcap, 48), (O.npwg, 64), (O.npwa, 66), (O.npdg, 68),
            (O.npda, 70), (O.nows, 72), (O.nguid, 104), (O.eui64, 120), (O.lbaf, 128),
        ]
        for (index, pair) in pairs.enumerated() { #expect(pair.0 == pair.1, "constant #\(index)") }
        #expect(IdentifyNamespace.size == 4096)
    }
}
