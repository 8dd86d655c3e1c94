/// A contiguous run of I/O virtual addresses: what a device is told to read or write.
///
/// A `DMABuffer` is exactly one such segment; the splitter cuts segments into chunks that
/// fit a controller's limits (maximum bytes per descriptor, page boundaries, alignment).
public struct IOVASegment: Sendable, Hashable, CustomStringConvertible {
    /// First I/O virtual address of the segment.
    public var iova: UInt64
    /// Length in bytes; zero is a valid, empty segment.
    public var length: Int

    /// The segment [iova, iova + length).
    public init(iova: UInt64, length: Int) {
        self.iova = iova
        self.length = length
    }

    /// `0xiova+length`.
    public var description: String {
        "0x" + String(iova, radix: 16) + "+" + String(length)
    }
}
