/// The chunks of one segment, produced lazily so the I/O path cuts a transfer without allocating.
///
/// Greedy: each chunk is as long as the remaining bytes, `maxChunkBytes` and the distance to the
/// next multiple of `boundary` allow. Obtain one from `SegmentSplitter.chunks(of:limits:)`, which
/// validates the segment first.
public struct SegmentChunks: Sequence, Sendable {
    @usableFromInline let segment: IOVASegment
    @usableFromInline let limits: SplitLimits

    /// The caller has validated `segment` against `limits`.
    @inlinable
    init(validated segment: IOVASegment, limits: SplitLimits) {
        self.segment = segment
        self.limits = limits
    }

    /// The exact number of chunks, from the closed form (no iteration).
    @inlinable
    public var underestimatedCount: Int {
        SegmentSplitter.closedFormCount(segment, limits)
    }

    /// An iterator from the segment's first byte.
    @inlinable
    public func makeIterator() -> Iterator {
        Iterator(next: segment.iova, remaining: segment.length,
                 maxChunk: limits.maxChunkBytes, boundaryMask: UInt64(limits.boundary - 1))
    }

    /// Walks the segment; a value type with four words of state.
    public struct Iterator: IteratorProtocol, Sendable {
        @usableFromInline var nextIOVA: UInt64
        @usableFromInline var remaining: Int
        @usableFromInline let maxChunk: Int
        @usableFromInline let boundaryMask: UInt64

        @inlinable
        init(next: UInt64, remaining: Int, maxChunk: Int, boundaryMask: UInt64) {
            self.nextIOVA = next
            self.remaining = remaining
            self.maxChunk = maxChunk
            self.boundaryMask = boundaryMask
        }

        /// The next chunk, as long as the rules allow; nil once the segment is covered.
        @inlinable
        public mutating func next() -> IOVASegment? {
            guard remaining > 0 else { return nil }
            // Distance to the next boundary multiple: boundary - (iova % boundary), at most 2^62.
            let toBoundary = Int(boundaryMask - (nextIOVA & boundaryMask)) + 1
            let length = Swift.min(Swift.min(remaining, maxChunk), toBoundary)  // two-argument form: the variadic one allocates
            let chunk = IOVASegment(iova: nextIOVA, length: length)
            remaining -= length
            // Wrapping add: after the very last byte of the address space there is no next chunk.
            nextIOVA &+= UInt64(length)
            return chunk
        }
    }
}
