/// Pure arithmetic that cuts an IOVA segment into chunks a controller accepts, and counts
/// chunks and PRP pages in closed form so a planner can size descriptor lists up front.
public enum SegmentSplitter {
    /// The chunks of `segment` under `limits`, lazily and without allocation.
    @inlinable
    public static func chunks(of segment: IOVASegment, limits: SplitLimits) throws(SegmentSplitError) -> SegmentChunks {
        try limits.validate(segment)
        return SegmentChunks(validated: segment, limits: limits)
    }

    /// The chunks of `segment`, validating the rules on the way (convenience for one-off use).
    public static func chunks(
        of segment: IOVASegment, maxChunkBytes: Int, boundary: Int, alignment: Int = 1
    ) throws(SegmentSplitError) -> SegmentChunks {
        try chunks(of: segment, limits: SplitLimits(maxChunkBytes: maxChunkBytes, boundary: boundary, alignment: alignment))
    }

    /// The chunks of `segment` as an array (allocates; for planning and tests, not per I/O).
    public static func chunkArray(of segment: IOVASegment, limits: SplitLimits) throws(SegmentSplitError) -> [IOVASegment] {
        Array(try chunks(of: segment, limits: limits))
    }

    /// The chunks of `segment` as an array, validating the rules on the way.
    public static func chunkArray(
        of segment: IOVASegment, maxChunkBytes: Int, boundary: Int, alignment: Int = 1
    ) throws(SegmentSplitError) -> [IOVASegment] {
        Array(try chunks(of: segment, maxChunkBytes: maxChunkBytes, boundary: boundary, alignment: alignment))
    }

    /// How many chunks `chunks(of:limits:)` yields, without walking them.
    ///
    /// With o = iova % boundary, L = length, B = boundary and M = maxChunkBytes: if o + L <= B the
    /// segment sits in one boundary window and needs ceil(L / M); otherwise it is a first part
    /// (B - o), some full windows, and a last part (possibly empty), each cut by M on its own.
    @inlinable
    public static func chunkCount(of segment: IOVASegment, limits: SplitLimits) throws(SegmentSplitError) -> Int {
        try limits.validate(segment)
        return closedFormCount(segment, limits)
    }

    /// `chunkCount(of:limits:)` validating the rules on the way.
    public static func chunkCount(
        of segment: IOVASegment, maxChunkBytes: Int, boundary: Int, alignment: Int = 1
    ) throws(SegmentSplitError) -> Int {
        try chunkCount(of: segment, limits: SplitLimits(maxChunkBytes: maxChunkBytes, boundary: boundary, alignment: alignment))
    }

    /// The number of `pageSize` pages that [iova, iova + length) touches: the PRP entries a
    /// transfer needs, ceil((iova % P + L) / P). A transfer of no bytes (or a negative length)
    /// touches no page.
    /// - Precondition: `pageSize` is a power of two (a controller constant, checked where it is set).
    @inlinable
    public static func pageCount(iova: UInt64, length: Int, pageSize: Int) -> Int {
        precondition(pageSize > 0 && pageSize & (pageSize - 1) == 0, "pageSize must be a power of two")
        guard length > 0 else { return 0 }
        let offset = Int(iova & UInt64(pageSize - 1))
        let firstPage = pageSize - offset
        // Written without o + L so a length near Int.max cannot overflow.
        return length <= firstPage ? 1 : 1 + ceilDiv(length - firstPage, pageSize)
    }

    /// The closed form on an already validated segment.
    @inlinable
    static func closedFormCount(_ segment: IOVASegment, _ limits: SplitLimits) -> Int {
        let length = segment.length
        guard length > 0 else { return 0 }
        let boundary = limits.boundary
        let m = limits.maxChunkBytes
        let offset = Int(segment.iova & UInt64(boundary - 1))
        let firstPart = boundary - offset
        if length <= firstPart { return ceilDiv(length, m) }
        let rest = length - firstPart
        let fullWindows = rest / boundary
        let lastPart = rest % boundary
        return ceilDiv(firstPart, m) + fullWindows * ceilDiv(boundary, m) + ceilDiv(lastPart, m)
    }

    /// ceil(a / b) for a >= 0, b > 0, without the a + b - 1 overflow.
    @inlinable
    static func ceilDiv(_ a: Int, _ b: Int) -> Int {
        a / b + (a % b == 0 ? 0 : 1)
    }
}
