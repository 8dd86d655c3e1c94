import HexFormat

/// A refused `map` or `unmap` on the software IOMMU, with the addresses involved.
public enum SoftwareIOMMUError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `length` was zero or negative.
    case invalidLength(iova: UInt64, length: Int)
    /// [iova, iova + length) overlaps the existing mapping at `existingIOVA`.
    case overlapsMapping(iova: UInt64, length: Int, existingIOVA: UInt64, existingLength: Int)
    /// [iova, iova + length) is not inside one of the IOMMU's IOVA ranges.
    case outsideIOVARanges(iova: UInt64, length: Int)
    /// No mapping was made with exactly this IOVA and length.
    case notMapped(iova: UInt64, length: Int)

    /// The refused request and why, with its addresses.
    public var description: String {
        switch self {
        case .invalidLength(let iova, let length):
            return "cannot map \(length) bytes at IOVA \(hex(iova)): the length must be positive"
        case .overlapsMapping(let iova, let length, let existing, let existingLength):
            return "cannot map \(length) bytes at IOVA \(hex(iova)): overlaps the mapping of \(existingLength) bytes at \(hex(existing))"
        case .outsideIOVARanges(let iova, let length):
            return "cannot map \(length) bytes at IOVA \(hex(iova)): outside the IOMMU's IOVA ranges"
        case .notMapped(let iova, let length):
            return "cannot unmap \(length) bytes at IOVA \(hex(iova)): no mapping was made with that IOVA and length"
        }
    }
}
