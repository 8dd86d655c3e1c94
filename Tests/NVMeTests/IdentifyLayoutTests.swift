import Testing
@testable import NVMe

/// Byte offsets from NVMe Base 2.0 "Identify Controller Data Structure" and NVM Command Set 1.0
/// "Identify Namespace Data Structure". Bytes are placed by hand at the spec's offsets and decoded.
@Suite struct IdentifyLayoutTests {
    @Test func identifyControllerDecodesSpecOffsets() {
        var raw = [UInt8](repeating: 0, count: 4096)
        raw[0] = 0x86; raw[1] = 0x80                        // VID 0-1
        for (i, c) in "SN123".utf8.enumerated() { raw[4 + i] = c }  // SN 4-23
        for i in 9..<24 { raw[i] = 0x20 }
        for (i, c) in "Model X".utf8.enumerated() { raw[24 + i] = c } // MN 24-63
        for (i, c) in "1.0".utf8.enumerated() { raw[64 + i] = c }     // FR 64-71
        raw[77] = 5                                           // MDTS
        raw[78] = 0x34; raw[79] = 0x12                        // CNTLID
        raw[80] = 0x00; raw[81] = 0x04; raw[82] = 0x01        // VER 1.4
        raw[512] = 0x66; raw[513] = 0x44                      // SQES, CQES
        raw[516] = 0x08                                       // NN 516-519
        raw[520] = 0b1000_1101                                // ONCS: compare, DSM, write zeroes, verify
        raw[522] = 0x01                                       // FUSES
        raw[525] = 0x01                                       // VWC present
        raw[536] = 0x02                                       // SGLS: dword aligned
        let id = raw.withUnsafeBytes { IdentifyController(bytes: $0) }
        #expect(id.vid == 0x8086)
        #expect(id.serialNumber == "SN123")
        #expect(id.modelNumber == "Model X")
        #expect(id.firmwareRevision == "1.0")
        #expect(id.mdts == 5)
        #expect(id.maximumTransferBytes(minimumPageSize: 4096) == 128 * 1024)
        #expect(id.cntlid == 0x1234)
        #expect(ControllerVersion(rawValue: id.ver).description == "1.4.0")
        #expect(id.nn == 8)
        #expect(id.oncs.contains(.compare) && id.oncs.contains(.datasetManagement))
        #expect(id.oncs.contains(.writeZeroes) && id.oncs.contains(.verify))
        #expect(!id.oncs.contains(.writeUncorrectable))
        #expect(id.supportsCompareAndWrite)
        #expect(id.volatileWriteCachePresent)
        #expect(id.supportsSGL && id.sglRequiresDwordAlignment)
        // Round trip puts the bytes back where the spec says.
        let again = id.encoded()
        #expect(again[77] == 5 && again[525] == 1 && again[536] == 2 && again[516] == 8)
        #expect(again[4] == UInt8(ascii: "S") && again[23] == 0x20)
        #expect(again.withUnsafeBytes { IdentifyController(bytes: $0) } == id)
    }

    @Test func mdtsZeroMeansUnlimited() {
        #expect(IdentifyController().maximumTransferBytes(minimumPageSize: 4096) == nil)
    }

    @Test func identifyNamespaceDecodesSpecOffsets() {
        var raw = [UInt8](repeating: 0, count: 4096)
        raw[0] = 0x00; raw[1] = 0x10                        // NSZE = 0x1000
        raw[8] = 0x00; raw[9] = 0x10                        // NCAP
        raw[16] = 0x10                                      // NUSE
        raw[25] = 1                                         // NLBAF: two formats
        raw[26] = 1                                         // FLBAS: format 1
        raw[33] = 0b001                                     // DLFEAT: reads zero
        raw[104] = 0xAA; raw[119] = 0xBB                    // NGUID 104-119
        raw[120] = 0xCC; raw[127] = 0xDD                    // EUI64 120-127
        raw[128 + 2] = 9                                    // LBAF0: 512 bytes
        raw[132 + 2] = 12                                   // LBAF1: 4096 bytes
        let ns = raw.withUnsafeBytes { IdentifyNamespace(bytes: $0) }
        #expect(ns.nsze == 0x1000 && ns.ncap == 0x1000 && ns.nuse == 0x10)
        #expect(ns.lbaFormats.count == 2)
        #expect(ns.formattedLBAIndex == 1)
        #expect(ns.blockSize == 4096)
        #expect(ns.deallocatedBlocksReadZero)
        #expect(ns.nguid.first == 0xAA && ns.nguid.last == 0xBB)
        #expect(ns.eui64.first == 0xCC && ns.eui64.last == 0xDD)
        let again = ns.encoded()
        #expect(again[134] == 12 && again[26] == 1 && again[33] == 1)
        #expect(again.withUnsafeBytes { IdentifyNamespace(bytes: $0) } == ns)
    }

    @Test func flbasHighBitsSelectFormatsAboveSixteen() {
        var ns = IdentifyNamespace()
        ns.flbas = 0b0100_0010  // bits 6:5 = 10b, bits 3:0 = 2 -> index 34
        #expect(ns.formattedLBAIndex == 34)
    }
}
