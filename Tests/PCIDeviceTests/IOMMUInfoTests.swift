import Testing
@testable import PCIDevice

/// The VFIO_IOMMU_GET_INFO buffer and its capability chain, on hand-built buffers laid out as
/// linux/vfio.h defines them.
@Suite struct IOMMUInfoTests {
    /// Builds a type1 info buffer: header, then the given capabilities chained in order.
    func infoBuffer(capabilities: [(id: UInt16, body: [UInt8])], flags: UInt32 = 3) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 24)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { buffer.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        put(flags, at: 4)
        put(UInt64(0x40201000), at: 8)
        var previousNext: Int? = nil
        for cap in capabilities {
            let offset = buffer.count
            if let previousNext { put(UInt32(offset), at: previousNext) } else { put(UInt32(offset), at: 16) }
            buffer += [UInt8](repeating: 0, count: 8) + cap.body
            put(cap.id, at: offset)
            put(UInt16(1), at: offset + 2)
            previousNext = offset + 4
        }
        put(UInt32(buffer.count), at: 0)
        return buffer
    }

    func iovaBody(_ ranges: [(UInt64, UInt64)]) -> [UInt8] {
        var body: [UInt8] = []
        withUnsafeBytes(of: UInt32(ranges.count).littleEndian) { body += $0 }
        body += [0, 0, 0, 0]
        for (start, end) in ranges {
            withUnsafeBytes(of: start.littleEndian) { body += $0 }
            withUnsafeBytes(of: end.littleEndian) { body += $0 }
        }
        return body
    }

    @Test func walksTheCapabilityChainToTheIOVARanges() {
        let buffer = infoBuffer(capabilities: [
            (id: 2, body: [UInt8](repeating: 0xaa, count: 12)), // migration capability first
            (id: 1, body: iovaBody([(0, 0xfedf_ffff), (0xfef0_0000, 0xff_ffff_ffff)])),
        ])
        #expect(IOMMUInfo.iovaRanges(fromInfo: buffer) == [
            IOVARange(first: 0, last: 0xfedf_ffff), IOVARange(first: 0xfef0_0000, last: 0xff_ffff_ffff),
        ])
    }

    @Test func fallsBackWithoutCapabilitiesOrOnAMalformedChain() {
        #expect(IOMMUInfo.iovaRanges(fromInfo: infoBuffer(capabilities: [], flags: 1)) == IOMMUInfo.fallbackRanges)
        #expect(IOMMUInfo.iovaRanges(fromInfo: []) == IOMMUInfo.fallbackRanges)
        var looping = infoBuffer(capabilities: [(id: 9, body: [])])
        looping[28] = 24 // next points back at itself
        #expect(IOMMUInfo.iovaRanges(fromInfo: looping) == IOMMUInfo.fallbackRanges)
        var outside = infoBuffer(capabilities: [])
        outside[16] = 200 // cap_offset beyond the buffer
        #expect(IOMMUInfo.iovaRanges(fromInfo: outside) == IOMMUInfo.fallbackRanges)
        // A range count larger than the buffer holds keeps only the complete entries.
        var truncated = infoBuffer(capabilities: [(id: 1, body: iovaBody([(0x1000, 0x1fff)]))])
        truncated[32] = 5
        #expect(IOMMUInfo.iovaRanges(fromInfo: truncated) == [IOVARange(first: 0x1000, last: 0x1fff)])
    }
}
