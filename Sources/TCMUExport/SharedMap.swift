import CTCMU

/// The map the kernel shares with the handler (or a test's in-memory copy of one). Sendable by
/// design: it is shared with the kernel already; the ring's rules (TCMU) say who writes which
/// bytes, and the handler's own threads touch only their command's iovecs and, under the ring's
/// lock, the tail and the entries behind it.
public struct SharedMap: @unchecked Sendable {
    /// The whole map.
    public let bytes: UnsafeMutableRawBufferPointer

    /// Wraps `bytes`, which must stay mapped while the map is used.
    public init(_ bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    /// A little-endian load at `offset`; the caller has bounds-checked it.
    @inline(__always)
    func load<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T {
        T(littleEndian: UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// A little-endian store at `offset`; the caller has bounds-checked it.
    @inline(__always)
    func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    /// cmd_head, with acquire ordering (entries before it are complete).
    func loadHead() -> UInt32 { ctcmu_load_acquire(bytes.baseAddress! + RingLayout.headOffset) }

    /// Publishes cmd_tail, with release ordering (responses before it are visible first).
    func publishTail(_ tail: Int) { ctcmu_store_release(bytes.baseAddress! + RingLayout.tailOffset, UInt32(tail)) }
}
