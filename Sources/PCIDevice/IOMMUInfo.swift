import CVFIO

/// Parsing of the `vfio_iommu_type1_info` buffer and its capability chain, kept free of ioctls
/// so it can be tested with hand-built buffers (no machine here has /dev/vfio).
///
/// Layout (linux/vfio.h): argsz u32 @0, flags u32 @4, iova_pgsizes u64 @8, cap_offset u32 @16.
/// Each capability starts with id u16, version u16, next u32 (offset from the buffer start, 0 ends).
/// The IOVA-range capability follows its header with nr_iovas u32, reserved u32, then
/// nr_iovas pairs of (start u64, end u64), both inclusive.
public enum IOMMUInfo {
    /// Used when the kernel reports no IOVA-range capability (before Linux 5.4): 39 bits is the
    /// smallest input address width of common IOMMUs (Intel VT-d with 3-level tables).
    public static let fallbackRanges = [IOVARange(first: 0, last: (1 << 39) - 1)]

    /// The IOVA ranges in an info buffer, or `fallbackRanges` when it has no such capability.
    /// A malformed chain (offsets outside the buffer, a loop) ends the walk instead of trapping.
    public static func iovaRanges(fromInfo buffer: [UInt8]) -> [IOVARange] {
        guard buffer.count >= 20 else { return fallbackRanges }
        let flags = load(UInt32.self, from: buffer, at: 4)
        guard flags & cvfio_iommu_info_caps() != 0 else { return fallbackRanges }
        var offset = Int(load(UInt32.self, from: buffer, at: 16))
        var visited = Set<Int>()
        while offset != 0, offset + 8 <= buffer.count, visited.insert(offset).inserted {
            let id = load(UInt16.self, from: buffer, at: offset)
            let next = Int(load(UInt32.self, from: buffer, at: offset + 4))
            if UInt32(id) == cvfio_iova_range_capability_id(), offset + 16 <= buffer.count {
                let count = Int(load(UInt32.self, from: buffer, at: offset + 8))
                var ranges: [IOVARange] = []
                for index in 0..<count {
                    let entry = offset + 16 + index * 16
                    guard entry + 16 <= buffer.count else { break }
                    let start = load(UInt64.self, from: buffer, at: entry)
                    let end = load(UInt64.self, from: buffer, at: entry + 8)
                    if start <= end { ranges.append(IOVARange(first: start, last: end)) }
                }
                return ranges.isEmpty ? fallbackRanges : ranges
            }
            offset = next
        }
        return fallbackRanges
    }

    /// A little-endian-native unaligned load; the caller has checked the bounds.
    static func load<T: FixedWidthInteger>(_ type: T.Type, from buffer: [UInt8], at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= buffer.count, "IOMMU info read out of bounds")
        return buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }
}
