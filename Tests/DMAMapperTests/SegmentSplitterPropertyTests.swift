import SeededRandom
import DMAMapper
import Testing

/// Random segments against the splitting rules; the seed is in every failure message. Small
/// segments are compared chunk for chunk with a byte-by-byte model of the rules; large ones are
/// checked rule by rule while walking them.
@Suite struct SegmentSplitterPropertyTests {
    struct Case: CustomStringConvertible {
        var segment: IOVASegment
        var limits: SplitLimits
        var description: String {
            "segment \(segment) M=\(limits.maxChunkBytes) B=\(limits.boundary) A=\(limits.alignment)"
        }
    }

    static func randomCase(_ rng: inout SplitMix64) -> Case {
        let alignment = rng.powerOfTwo(0...12)
        let boundary = rng.powerOfTwo(alignment.trailingZeroBitCount...40)
        let maxChunk = max(1, rng.logUniform(upTo: 1 << 32) / alignment) * alignment
        let length = rng.logUniform(upTo: 2 << 30) / alignment * alignment
        // Mostly low addresses, sometimes right under the top of the 64-bit space.
        var iova: UInt64
        if Bool.random(using: &rng) {
            iova = UInt64(rng.logUniform(upTo: 1 << 48))
        } else {
            // Ends at most 1 MiB below 2^64 (exactly at the top when the draw is 0).
            iova = (UInt64.max - UInt64(length) - UInt64.random(in: 0...(1 << 20), using: &rng)) &+ 1
        }
        iova &= ~UInt64(alignment - 1)
        let limits = try! SplitLimits(maxChunkBytes: maxChunk, boundary: boundary, alignment: alignment)
        return Case(segment: IOVASegment(iova: iova, length: length), limits: limits)
    }

    @Test(arguments: [0x5EED_0001, 0xD1CE_2024, 0x0BAD_F00D] as [UInt64])
    func chunksObeyEveryRule(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var walked = 0
        for index in 0..<2000 {
            let c = Self.randomCase(&rng)
            let context = "seed \(seed) case \(index): \(c)"
            let count = try SegmentSplitter.chunkCount(of: c.segment, limits: c.limits)
            // Walking millions of 1-byte chunks in a debug build proves nothing new; bound it.
            guard count <= 20_000 else { continue }
            walked += 1
            try Self.check(c, expectedCount: count, context: context)
        }
        #expect(walked > 1500, "too few cases were walked: \(walked)")
    }

    static func check(_ c: Case, expectedCount: Int, context: String) throws {
        let limits = c.limits
        let boundary = UInt64(limits.boundary)
        var next = c.segment.iova
        var remaining = c.segment.length
        var count = 0
        let chunks = try SegmentSplitter.chunks(of: c.segment, limits: limits)
        #expect(chunks.underestimatedCount == expectedCount, "\(context)")
        for chunk in chunks {
            count += 1
            // Contiguous and inside the segment.
            guard chunk.iova == next, chunk.length > 0, chunk.length <= remaining else {
                Issue.record("\(context): chunk \(chunk) does not continue at 0x\(String(next, radix: 16))")
                return
            }
            #expect(chunk.length <= limits.maxChunkBytes, "\(context): \(chunk) exceeds M")
            let lastByte = chunk.iova + UInt64(chunk.length - 1)
            #expect(chunk.iova / boundary == lastByte / boundary, "\(context): \(chunk) crosses a boundary")
            #expect(chunk.iova % UInt64(limits.alignment) == 0 && chunk.length % limits.alignment == 0,
                    "\(context): \(chunk) breaks the alignment")
            // Greedy: as long as the rules allow.
            let toBoundary = Int(boundary - chunk.iova % boundary)
            #expect(chunk.length == min(remaining, min(limits.maxChunkBytes, toBoundary)), "\(context): \(chunk) is not greedy")
            remaining -= chunk.length
            next &+= UInt64(chunk.length)
        }
        #expect(remaining == 0, "\(context): \(remaining) bytes not covered")
        #expect(count == expectedCount, "\(context): walked \(count) chunks, closed form says \(expectedCount)")
        #expect(try SegmentSplitter.chunkArray(of: c.segment, limits: limits).count == count, "\(context)")
    }

    /// The splitting rules applied one byte at a time, knowing nothing of the splitter's arithmetic:
    /// a new chunk starts at the segment's first byte, at every multiple of the boundary, and
    /// after every `maxChunkBytes` bytes of the current chunk.
    static func byteWalk(_ segment: IOVASegment, _ limits: SplitLimits) -> [IOVASegment] {
        var chunks: [IOVASegment] = []
        for offset in 0..<segment.length {
            let address = segment.iova + UInt64(offset)
            let startsChunk = chunks.isEmpty || address % UInt64(limits.boundary) == 0
                || chunks[chunks.count - 1].length == limits.maxChunkBytes
            if startsChunk {
                chunks.append(IOVASegment(iova: address, length: 1))
            } else {
                chunks[chunks.count - 1].length += 1
            }
        }
        return chunks
    }

    @Test(arguments: [0xB17E_0001, 0xB17E_0002] as [UInt64])
    func smallSegmentsMatchTheByteWalk(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        for index in 0..<1500 {
            let alignment = rng.powerOfTwo(0...4)
            let boundary = rng.powerOfTwo(alignment.trailingZeroBitCount...10)
            let maxChunk = Int.random(in: 1...64, using: &rng) * alignment
            let length = Int.random(in: 0...(4 * boundary), using: &rng) / alignment * alignment
            let iova = (UInt64.random(in: 0...(1 << 20), using: &rng) | 0xFFFF_0000_0000) & ~UInt64(alignment - 1)
            let limits = try SplitLimits(maxChunkBytes: maxChunk, boundary: boundary, alignment: alignment)
            let segment = IOVASegment(iova: iova, length: length)
            let expected = Self.byteWalk(segment, limits)
            let context = "seed \(seed) case \(index): \(segment) M=\(maxChunk) B=\(boundary) A=\(alignment)"
            #expect(try SegmentSplitter.chunkArray(of: segment, limits: limits) == expected, "\(context)")
            #expect(try SegmentSplitter.chunkCount(of: segment, limits: limits) == expected.count, "\(context)")
        }
    }

    @Test func pageCountMatchesTouchedPages() {
        var rng = SplitMix64(seed: 0x9A6E)
        for index in 0..<5000 {
            let pageSize = rng.powerOfTwo(9...16)
            let length = rng.logUniform(upTo: 2 << 30)
            let iova = UInt64(rng.logUniform(upTo: 1 << 50))
            let expected = length == 0
                ? 0 : Int((iova + UInt64(length) - 1) / UInt64(pageSize) - iova / UInt64(pageSize)) + 1
            #expect(SegmentSplitter.pageCount(iova: iova, length: length, pageSize: pageSize) == expected,
                    "case \(index): iova 0x\(String(iova, radix: 16)) length \(length) page \(pageSize)")
        }
    }
}
