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
        walk(iovecs, in: map, from: start, limit: buffer.count) { bytes, done, count in
            (buffer.baseAddress! + done).copyMemory(from: bytes, byteCount: count)
        }
    }

    /// Scatters the first `byteCount` bytes of `buffer` over the iovecs, in order from byte
    /// `start` of their concatenation; returns the bytes copied.
    @discardableResult
    public static func scatter(_ byteCount: Int, of buffer: UnsafeRawBufferPointer,
                               into iovecs: UnsafeBufferPointer<IOVector>, startingAt start: Int = 0, of map: SharedMap) -> Int {
        walk(iovecs, in: map, from: start, limit: min(byteCount, buffer.count)) { bytes, done, count in
            bytes.copyMemory(from: buffer.baseAddress! + done, byteCount: count)
        }
    }

    /// Zeroes the iovecs' bytes from byte `start` of their concatenation to their end; returns the bytes zeroed.
    @discardableResult
    public static func zero(from start: Int, of iovecs: UnsafeBufferPointer<IOVector>, in map: SharedMap) -> Int {
        walk(iovecs, in: map, from: start, limit: .max) { bytes, _, count in
            bytes.initializeMemory(as: UInt8.self, repeating: 0, count: count)
        }
    }

    /// The one walk over the iovecs: hands `body` each run of their bytes from byte `start` of
    /// their concatenation, `limit` bytes at most in all, as its address in the map, the bytes
    /// handed before it and its length; returns the bytes handed.
    private static func walk(_ iovecs: UnsafeBufferPointer<IOVector>, in map: SharedMap, from start: Int, limit: Int,
                             _ body: (UnsafeMutableRawPointer, Int, Int) -> Void) -> Int {
        var done = 0, position = 0
        for vector in iovecs {
            if done == limit { break }
            let skip = min(max(0, start - position), vector.length)
            position += vector.length
            let count = min(vector.length - skip, limit - done)
            guard count > 0 else { continue }      // before `start`
            body(map.bytes.baseAddress! + vector.offset + skip, done, count)
            done += count
        }
        return done
    }
}
