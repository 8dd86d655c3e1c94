import PCIDevice

/// Hands out I/O virtual addresses inside an IOMMU's windows: pure bookkeeping, no I/O.
///
/// Built from the IOMMU's `iovaRanges`, clipped to what the device can address (`addressableBits`)
/// and trimmed to whole granules. First fit over a free list sorted by address; `free` coalesces
/// with both neighbours so a freed region is whole again for the next large request. IOVA 0 is
/// never handed out, so a zeroed descriptor field can never point at live memory.
///
/// Live allocations are remembered, so `free` takes back exactly what `allocate` handed out -
/// the same IOVA with the same length - and refuses anything else (a sub-range, a wrong length,
/// a double free) with an error instead of corrupting the free list.
public struct IOVAAllocator: Sendable {
    /// A free run of IOVAs, inclusive at both ends so a block may end at 2^64 - 1.
    struct Block: Sendable, Equatable {
        var first: UInt64
        var last: UInt64
        /// Size in bytes; cannot overflow because IOVA 0 is never free.
        var size: UInt64 { last - first + 1 }
    }

    /// The usable windows after clipping and trimming, sorted; what `free` checks against.
    public let ranges: [IOVARange]
    /// Every address handed out is a multiple of it, and every length is rounded up to it.
    public let granule: Int
    /// Device address width: every IOVA + length - 1 < 2^addressableBits.
    public let addressableBits: Int
    /// Sorted by address, never adjacent (adjacent blocks are merged) nor overlapping.
    private(set) var freeBlocks: [Block]
    /// Every allocation not yet freed: its IOVA and the length it was asked for.
    private var live: [UInt64: Int] = [:]

    /// - Parameters:
    ///   - ranges: the IOMMU's windows (`IOMMU.iovaRanges`).
    ///   - addressableBits: 1...64; the device cannot reach IOVAs at or above 2^addressableBits.
    ///   - granule: a power of two, the IOMMU page size (usually 4096).
    public init(ranges: [IOVARange], addressableBits: Int = 64, granule: Int = 4096) throws(IOVAAllocatorError) {
        guard (1...64).contains(addressableBits) else { throw .invalidAddressableBits(addressableBits) }
        guard granule > 0, granule & (granule - 1) == 0 else { throw .invalidGranule(granule) }
        let limit: UInt64 = addressableBits == 64 ? .max : (1 << UInt64(addressableBits)) - 1
        let mask = UInt64(granule - 1)
        var blocks: [Block] = []
        for range in ranges.sorted(by: { $0.first < $1.first }) where range.first <= limit {
            // Never IOVA 0; start on a granule; stop below the limit and on a granule end.
            let start = max(range.first, UInt64(granule))
            guard start <= UInt64.max - mask else { continue }
            let first = (start + mask) & ~mask
            let clippedLast = min(range.last, limit)
            // The end of the last whole granule: (clippedLast + 1) rounded down, minus one.
            let partial = (clippedLast &+ 1) & mask
            guard clippedLast >= partial else { continue }
            let last = clippedLast - partial
            guard first <= last else { continue }
            if let previous = blocks.last, previous.last &+ 1 == first, previous.last != .max {
                blocks[blocks.count - 1].last = last  // touching windows behave as one
            } else {
                blocks.append(Block(first: first, last: last))
            }
        }
        guard !blocks.isEmpty else { throw .noUsableRange(ranges: ranges, addressableBits: addressableBits) }
        self.ranges = blocks.map { IOVARange(first: $0.first, last: $0.last) }
        self.granule = granule
        self.addressableBits = addressableBits
        self.freeBlocks = blocks
    }

    /// Bytes still free, summed over all blocks.
    public var freeBytes: UInt64 { freeBlocks.reduce(0) { $0 + $1.size } }

    /// The largest single block still free, in bytes (the biggest request that could succeed).
    public var largestFreeBlock: UInt64 { freeBlocks.map(\.size).max() ?? 0 }

    /// How many allocations have not been freed.
    public var liveAllocationCount: Int { live.count }

    /// Reserves `length` bytes (rounded up to the granule) at an IOVA that is a multiple of
    /// `alignment` (raised to the granule), inside one window. Exhaustion is a thrown error.
    public mutating func allocate(length: Int, alignment: Int = 1) throws(IOVAAllocatorError) -> UInt64 {
        guard length > 0 else { throw .invalidLength(length) }
        guard alignment > 0, alignment & (alignment - 1) == 0 else { throw .invalidAlignment(alignment) }
        let size = roundedSize(length)
        let align = UInt64(max(alignment, granule))
        for index in freeBlocks.indices {
            let block = freeBlocks[index]
            guard block.first <= UInt64.max - (align - 1) else { continue }
            let start = (block.first + align - 1) & ~(align - 1)
            guard start <= block.last, size - 1 <= block.last - start else { continue }
            carve(index: index, start: start, last: start + (size - 1))
            live[start] = length
            return start
        }
        throw .exhausted(length: length, alignment: Int(align), largestFreeBlock: largestFreeBlock)
    }

    /// Returns the allocation at `iova` to the free list, merging it with free neighbours.
    /// `length` must be the length it was allocated with; an IOVA that is not the start of a live
    /// allocation, or a different length, is refused and nothing changes.
    public mutating func free(iova: UInt64, length: Int) throws(IOVAAllocatorError) {
        guard let allocated = live[iova] else { throw .notAllocated(iova: iova, length: length) }
        guard allocated == length else { throw .lengthMismatch(iova: iova, length: length, allocatedLength: allocated) }
        live[iova] = nil
        // A live allocation is whole granules inside one window and overlaps no free block.
        let block = Block(first: iova, last: iova + (roundedSize(length) - 1))
        // Insertion point: first free block starting after the freed one.
        var low = 0
        var high = freeBlocks.count
        while low < high {
            let mid = (low + high) / 2
            if freeBlocks[mid].first <= block.first { low = mid + 1 } else { high = mid }
        }
        let mergesLeft = low > 0 && freeBlocks[low - 1].last + 1 == block.first
        let mergesRight = low < freeBlocks.count && block.last < .max && freeBlocks[low].first == block.last + 1
        switch (mergesLeft, mergesRight) {
        case (true, true):
            freeBlocks[low - 1].last = freeBlocks[low].last
            freeBlocks.remove(at: low)
        case (true, false):
            freeBlocks[low - 1].last = block.last
        case (false, true):
            freeBlocks[low].first = block.first
        case (false, false):
            freeBlocks.insert(block, at: low)
        }
    }

    private func roundedSize(_ length: Int) -> UInt64 {
        let mask = UInt64(granule - 1)
        return (UInt64(length) + mask) & ~mask
    }

    /// Removes [start, last] from the free block at `index`, keeping what is left on each side.
    private mutating func carve(index: Int, start: UInt64, last: UInt64) {
        let block = freeBlocks[index]
        var replacement: [Block] = []
        if start > block.first { replacement.append(Block(first: block.first, last: start - 1)) }
        if last < block.last { replacement.append(Block(first: last + 1, last: block.last)) }
        freeBlocks.replaceSubrange(index...index, with: replacement)
    }
}
