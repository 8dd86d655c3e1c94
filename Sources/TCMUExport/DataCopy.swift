/// Copies between a command's iovecs in the shared map and the contiguous DMA buffer the engine
/// reads and writes. The data area cannot be DMA-mapped (its pages come and go under the kernel),
/// so this copy is the price of the export. Bounded by the iovecs (checked by the parser against
/// the data area) and by the buffer: nothing is allocated.
public enum DataCopy {
    /// Gathers the iovecs' bytes, in order from byte `start` of their concatenation, into
    /// `buffer` until it is full; returns the bytes copied.
    @discardableResult
    public static func gather(_ iovecs: UnsafeBufferPointer<IOVector>, from map: SharedMap, startingAt start: Int = 0,
                              into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var copied = 0, position = 0
        for vector in iovecs {
            let skip = min(max(0, start - position), vector.length)
            position += vector.length
            if copied == buffer.count { break }
            let count = min(vector.length - skip, buffer.count - copied)
            guard count > 0 else { continue }      // before `start`
            (buffer.baseAddress! + copied).copyMemory(from: map.bytes.baseAddress! + vector.offset + skip, byteCount: count)
            copied += count
        }
        return copied
    }

    /// Scatters the first `byteCount` bytes of `buffer` over the iovecs, in order from byte
    /// `start` of their concatenation; returns the bytes copied.
    @discardableResult
    public static func scatter(_ byteCount: Int, of buffer: UnsafeRawBufferPointer,
                               into iovecs: UnsafeBufferPointer<IOVector>, startingAt start: Int = 0, of map: SharedMap) -> Int {
        let total = min(byteCount, buffer.count)
        var copied = 0, position = 0
        for vector in iovecs {
            let skip = min(max(0, start - position), vector.length)
            position += vector.length
            if copied == total { break }
            let count = min(vector.length - skip, total - copied)
            guard count > 0 else { continue }      // before `start`
            (map.bytes.baseAddress! + vector.offset + skip).copyMemory(from: buffer.baseAddress! + copied, byteCount: count)
            copied += count
        }
        return copied
    }

    /// Zeroes the iovecs' bytes from byte `start` of their concatenation to their end; returns the bytes zeroed.
    @discardableResult
    public static func zero(from start: Int, of iovecs: UnsafeBufferPointer<IOVector>, in map: SharedMap) -> Int {
        var position = 0, zeroed = 0
        for vector in iovecs {
            let skip = min(max(0, start - position), vector.length)
            if vector.length > skip {
                (map.bytes.baseAddress! + vector.offset + skip).initializeMemory(as: UInt8.self, repeating: 0, count: vector.length - skip)
                zeroed += vector.length - skip
            }
            position += vector.length
        }
        return zeroed
    }
}
