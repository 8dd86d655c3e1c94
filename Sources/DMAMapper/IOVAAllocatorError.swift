import HexFormat
import PCIDevice

/// Why an IOVA could not be built, handed out or taken back; each names the request.
public enum IOVAAllocatorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The address width must be 1...64 bits.
    case invalidAddressableBits(Int)
    /// The granule must be a positive power of two.
    case invalidGranule(Int)
    /// No whole granule of the ranges lies below 2^addressableBits.
    case noUsableRange(ranges: [IOVARange], addressableBits: Int)
    /// A length must be positive.
    case invalidLength(Int)
    /// An alignment must be a positive power of two.
    case invalidAlignment(Int)
    /// No free block holds the request.
    case exhausted(length: Int, alignment: Int, largestFreeBlock: UInt64)
    /// No live allocation starts at `iova` (never allocated, already freed, or inside another).
    case notAllocated(iova: UInt64, length: Int)
    /// The allocation at `iova` was made with `allocatedLength`, not `length`.
    case lengthMismatch(iova: UInt64, length: Int, allocatedLength: Int)

    /// The request and the rule it breaks, with the numbers involved.
    public var description: String {
        switch self {
        case .invalidAddressableBits(let bits):
            return "addressable bits \(bits) breaks the rule: it must be between 1 and 64"
        case .invalidGranule(let granule):
            return "IOVA granule \(granule) breaks the rule: it must be a power of two"
        case .noUsableRange(let ranges, let bits):
            let list = ranges.map(\.description).joined(separator: ", ")
            return "no usable IOVA range below 2^\(bits): the IOMMU offers [\(list)], "
                + "none with a whole page the device can address with \(bits) bits"
        case .invalidLength(let length):
            return "IOVA length \(length) breaks the rule: it must be positive"
        case .invalidAlignment(let alignment):
            return "IOVA alignment \(alignment) breaks the rule: it must be a power of two"
        case .exhausted(let length, let alignment, let largest):
            return "IOVA space exhausted: cannot allocate \(length) bytes aligned to \(alignment); "
                + "the largest free block is \(largest) bytes"
        case .notAllocated(let iova, let length):
            return "cannot free \(length) bytes at IOVA \(hex(iova)): no live allocation starts there "
                + "(never allocated, already freed, or part of another allocation)"
        case .lengthMismatch(let iova, let length, let allocated):
            return "cannot free \(length) bytes at IOVA \(hex(iova)): that allocation is \(allocated) bytes; "
                + "free it with the length it was allocated with"
        }
    }
}
