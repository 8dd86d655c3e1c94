/// A position in the walked segments, moving data in transfer order.
struct SegmentCursor {
    private var index = 0
    private var offset = 0

    /// Copies `count` bytes from `source` (nil: zeros) into host memory.
    mutating func write(_ segments: [HostSegment], from source: UnsafeRawPointer?, count: Int) {
        var done = 0
        while done < count {
            let segment = segments[index]
            let piece = min(count - done, segment.length - offset)
            NamespaceStorage.fill(segment.address + offset, from: source.map { $0 + done }, count: piece)
            advance(segments, piece, &done)
        }
    }

    /// Copies `count` bytes of host memory into `destination`.
    mutating func read(_ segments: [HostSegment], into destination: UnsafeMutableRawPointer, count: Int) {
        var done = 0
        while done < count {
            let segment = segments[index]
            let piece = min(count - done, segment.length - offset)
            (destination + done).copyMemory(from: segment.address + offset, byteCount: piece)
            advance(segments, piece, &done)
        }
    }

    private mutating func advance(_ segments: [HostSegment], _ piece: Int, _ done: inout Int) {
        done += piece
        offset += piece
        if offset == segments[index].length {
            index += 1
            offset = 0
        }
    }
}
