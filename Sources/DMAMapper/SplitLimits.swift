/// The rules a segment is cut by, validated once so the hot path only checks the segment.
///
/// - `maxChunkBytes`: no chunk is longer (a controller's maximum segment byte count).
/// - `boundary`: no chunk crosses a multiple of it (the memory page size for PRPs, or a
///   4 GiB line for controllers whose DMA engines cannot carry across it).
/// - `alignment`: every chunk's IOVA and length are multiples of it (minimum segment alignment).
public struct SplitLimits: Sendable, Hashable {
    /// Largest chunk in bytes; positive and a multiple of `alignment`.
    public let maxChunkBytes: Int
    /// A power of two, at least `alignment`; chunks never cross a multiple of it.
    public let boundary: Int
    /// A power of two; segment IOVA and length must be multiples of it.
    public let alignment: Int

    /// Validates the rules; each broken rule is a thrown error that names it.
    public init(maxChunkBytes: Int, boundary: Int, alignment: Int = 1) throws(SegmentSplitError) {
        guard maxChunkBytes > 0 else { throw .maxChunkBytesNotPositive(maxChunkBytes) }
        guard boundary > 0, boundary & (boundary - 1) == 0 else { throw .boundaryNotPowerOfTwo(boundary) }
        guard alignment > 0, alignment & (alignment - 1) == 0 else { throw .alignmentNotPowerOfTwo(alignment) }
        guard maxChunkBytes % alignment == 0 else {
            throw .maxChunkBytesNotMultipleOfAlignment(maxChunkBytes: maxChunkBytes, alignment: alignment)
        }
        // A boundary finer than the alignment would force chunks shorter than the alignment.
        guard boundary >= alignment else { throw .boundarySmallerThanAlignment(boundary: boundary, alignment: alignment) }
        self.maxChunkBytes = maxChunkBytes
        self.boundary = boundary
        self.alignment = alignment
    }

    /// Checks that `segment` can be cut under these rules.
    @inlinable
    public func validate(_ segment: IOVASegment) throws(SegmentSplitError) {
        guard segment.length >= 0 else { throw .negativeLength(segment.length) }
        let mask = UInt64(alignment - 1)
        guard segment.iova & mask == 0 else { throw .iovaMisaligned(iova: segment.iova, alignment: alignment) }
        guard segment.length & (alignment - 1) == 0 else {
            throw .lengthMisaligned(length: segment.length, alignment: alignment)
        }
        // The last byte must be addressable: iova + length - 1 <= UInt64.max.
        if segment.length > 0, UInt64(segment.length - 1) > UInt64.max - segment.iova {
            throw .wrapsAddressSpace(segment)
        }
    }
}

/// A broken splitting rule, named with the values that broke it.
public enum SegmentSplitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `maxChunkBytes` must be greater than zero.
    case maxChunkBytesNotPositive(Int)
    /// `boundary` must be a power of two.
    case boundaryNotPowerOfTwo(Int)
    /// `alignment` must be a power of two.
    case alignmentNotPowerOfTwo(Int)
    /// `maxChunkBytes` must be a multiple of `alignment`, or chunks could not all be aligned.
    case maxChunkBytesNotMultipleOfAlignment(maxChunkBytes: Int, alignment: Int)
    /// `boundary` must be at least `alignment`, or boundary cuts would break the alignment.
    case boundarySmallerThanAlignment(boundary: Int, alignment: Int)
    /// A segment's length must not be negative.
    case negativeLength(Int)
    /// A segment's IOVA must be a multiple of `alignment`.
    case iovaMisaligned(iova: UInt64, alignment: Int)
    /// A segment's length must be a multiple of `alignment`.
    case lengthMisaligned(length: Int, alignment: Int)
    /// A segment must end below 2^64.
    case wrapsAddressSpace(IOVASegment)

    /// The value and the rule it breaks.
    public var description: String {
        switch self {
        case .maxChunkBytesNotPositive(let m):
            return "maxChunkBytes \(m) breaks the rule: it must be greater than 0"
        case .boundaryNotPowerOfTwo(let b):
            return "boundary \(b) breaks the rule: it must be a power of two"
        case .alignmentNotPowerOfTwo(let a):
            return "alignment \(a) breaks the rule: it must be a power of two"
        case .maxChunkBytesNotMultipleOfAlignment(let m, let a):
            return "maxChunkBytes \(m) breaks the rule: it must be a multiple of the alignment \(a)"
        case .boundarySmallerThanAlignment(let b, let a):
            return "boundary \(b) breaks the rule: it must be at least the alignment \(a)"
        case .negativeLength(let l):
            return "segment length \(l) breaks the rule: it must not be negative"
        case .iovaMisaligned(let iova, let a):
            return "segment IOVA 0x\(String(iova, radix: 16)) breaks the rule: it must be a multiple of the alignment \(a)"
        case .lengthMisaligned(let l, let a):
            return "segment length \(l) breaks the rule: it must be a multiple of the alignment \(a)"
        case .wrapsAddressSpace(let s):
            return "segment \(s) breaks the rule: it must end below 2^64"
        }
    }
}
