import DMAMapper
import Testing

/// Hand-picked segments whose chunks are known by heart.
@Suite struct SegmentSplitterEdgeTests {
    let page = try! SplitLimits(maxChunkBytes: 1 << 20, boundary: 4096)

    func chunks(_ iova: UInt64, _ length: Int, _ limits: SplitLimits) throws -> [IOVASegment] {
        try SegmentSplitter.chunkArray(of: IOVASegment(iova: iova, length: length), limits: limits)
    }

    @Test func zeroLengthHasNoChunks() throws {
        #expect(try chunks(0x1234, 0, page).isEmpty)
        #expect(try SegmentSplitter.chunkCount(of: IOVASegment(iova: 0x1234, length: 0), limits: page) == 0)
        #expect(SegmentSplitter.pageCount(iova: 0x1234, length: 0, pageSize: 4096) == 0)
        #expect(SegmentSplitter.pageCount(iova: 0x1234, length: -1, pageSize: 4096) == 0)
        // The largest length does not overflow: 2^63 - 1 bytes from offset 0xFFF touch 2^51 + 1 pages.
        #expect(SegmentSplitter.pageCount(iova: 0xFFF, length: .max, pageSize: 4096) == 1 << 51 + 1)
    }

    @Test func exactlyOnePage() throws {
        #expect(try chunks(0x10000, 4096, page) == [IOVASegment(iova: 0x10000, length: 4096)])
        #expect(SegmentSplitter.pageCount(iova: 0x10000, length: 4096, pageSize: 4096) == 1)
    }

    @Test func offsetInsideFirstPage() throws {
        let result = try chunks(0x10200, 8192, page)
        #expect(result == [
            IOVASegment(iova: 0x10200, length: 0xE00),
            IOVASegment(iova: 0x11000, length: 0x1000),
            IOVASegment(iova: 0x12000, length: 0x200),
        ])
        #expect(SegmentSplitter.pageCount(iova: 0x10200, length: 8192, pageSize: 4096) == 3)
    }

    @Test func crossingABoundaryByOneByte() throws {
        #expect(try chunks(0x1000, 4097, page) == [
            IOVASegment(iova: 0x1000, length: 4096), IOVASegment(iova: 0x2000, length: 1),
        ])
        #expect(try chunks(0x1FFF, 2, page) == [
            IOVASegment(iova: 0x1FFF, length: 1), IOVASegment(iova: 0x2000, length: 1),
        ])
        #expect(SegmentSplitter.pageCount(iova: 0x1FFF, length: 2, pageSize: 4096) == 2)
    }

    @Test func maxChunkCutsInsideAWindow() throws {
        let limits = try SplitLimits(maxChunkBytes: 3 * 512, boundary: 1 << 16, alignment: 512)
        let result = try chunks(0, 8 * 512, limits)
        #expect(result.map(\.length) == [1536, 1536, 1024])
        #expect(try SegmentSplitter.chunkCount(of: IOVASegment(iova: 0, length: 4096), limits: limits) == 3)
    }

    @Test func segmentEndingAtTopOfAddressSpace() throws {
        let result = try chunks(UInt64.max - 8191, 8192, page)
        #expect(result == [
            IOVASegment(iova: UInt64.max - 8191, length: 4096), IOVASegment(iova: UInt64.max - 4095, length: 4096),
        ])
    }

    @Test func brokenRulesAreNamed() throws {
        #expect(throws: SegmentSplitError.maxChunkBytesNotPositive(0)) { try SplitLimits(maxChunkBytes: 0, boundary: 4096) }
        #expect(throws: SegmentSplitError.boundaryNotPowerOfTwo(3000)) { try SplitLimits(maxChunkBytes: 512, boundary: 3000) }
        #expect(throws: SegmentSplitError.alignmentNotPowerOfTwo(3)) {
            try SplitLimits(maxChunkBytes: 512, boundary: 4096, alignment: 3)
        }
        #expect(throws: SegmentSplitError.maxChunkBytesNotMultipleOfAlignment(maxChunkBytes: 600, alignment: 512)) {
            try SplitLimits(maxChunkBytes: 600, boundary: 4096, alignment: 512)
        }
        #expect(throws: SegmentSplitError.boundarySmallerThanAlignment(boundary: 256, alignment: 512)) {
            try SplitLimits(maxChunkBytes: 512, boundary: 256, alignment: 512)
        }
        let aligned = try SplitLimits(maxChunkBytes: 4096, boundary: 4096, alignment: 512)
        #expect(throws: SegmentSplitError.iovaMisaligned(iova: 0x1100, alignment: 512)) {
            try SegmentSplitter.chunks(of: IOVASegment(iova: 0x1100, length: 512), limits: aligned)
        }
        #expect(throws: SegmentSplitError.lengthMisaligned(length: 100, alignment: 512)) {
            try SegmentSplitter.chunkCount(of: IOVASegment(iova: 0x1000, length: 100), limits: aligned)
        }
        #expect(throws: SegmentSplitError.wrapsAddressSpace(IOVASegment(iova: .max - 4095, length: 8192))) {
            try SegmentSplitter.chunks(of: IOVASegment(iova: .max - 4095, length: 8192), limits: page)
        }
        #expect(throws: SegmentSplitError.negativeLength(-1)) {
            try SegmentSplitter.chunks(of: IOVASegment(iova: 0, length: -1), limits: page)
        }
        let message = SegmentSplitError.iovaMisaligned(iova: 0x1100, alignment: 512).description
        #expect(message.contains("0x1100") && message.contains("multiple of the alignment 512"))
    }
}
