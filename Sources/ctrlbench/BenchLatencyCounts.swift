import Histogram

/// The hot loop's latency recorder: HdrHistogram's bucket layout at three significant digits in
/// a raw array, so one recording is an index computation and an increment (no copy-on-write
/// check, no min/max bookkeeping). After the run it becomes a `Histogram` for the report, with
/// the same buckets, so percentiles, min and max read exactly as if recorded there.
/// Belongs to one thread; call `deallocate()` when done.
struct LatencyCounts {
    static let layout = HistogramLog.CountsLayout(significantDigits: 3)
    /// One hour in nanoseconds: anything slower lands in the last bucket.
    static let highest: UInt64 = 3_600_000_000_000

    let counts: UnsafeMutablePointer<UInt64>
    /// The layout at three digits as constants, so that recording loads nothing but the count
    /// (`layoutMatches` checks them against `layout`).
    private static var mask: UInt64 { 2047 }
    private static var magnitude: Int { 10 }
    private static var half: Int { 1024 }
    /// Buckets up to `highest`: index(of: highest) + 1.
    static var length: Int { 33421 }
    var length: Int { Self.length }

    static var layoutMatches: Bool {
        layout.subBucketMask == mask && layout.subBucketHalfCountMagnitude == magnitude && layout.subBucketHalfCount == half
            && layout.index(of: highest) + 1 == length
    }

    init() {
        counts = .allocate(capacity: Self.length)
        counts.initialize(repeating: 0, count: length)
    }

    func deallocate() { counts.deallocate() }

    @inline(__always) func record(_ value: UInt64) {
        let bucket = 64 &- (value | Self.mask).leadingZeroBitCount &- (Self.magnitude &+ 1)
        let index = ((bucket &+ 1) << Self.magnitude) &+ Int(truncatingIfNeeded: value >> UInt64(bucket)) &- Self.half
        counts[index < Self.length ? index : Self.length &- 1] &+= 1
    }

    /// Adds every recorded value to `histogram` and clears the counts.
    func drain(into histogram: inout Histogram<UInt64>) {
        let layout = Self.layout
        for index in 0..<length where counts[index] > 0 {
            var bucket = (index >> layout.subBucketHalfCountMagnitude) - 1
            var subBucket = (index & (layout.subBucketHalfCount - 1)) + layout.subBucketHalfCount
            if bucket < 0 {
                subBucket -= layout.subBucketHalfCount
                bucket = 0
            }
            _ = histogram.record(UInt64(subBucket) << UInt64(bucket), count: counts[index])
            counts[index] = 0
        }
    }
}
