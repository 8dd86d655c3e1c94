import Synchronization

/// Ordered access to the one dword of a completion entry that carries the phase tag.
///
/// A device writes the rest of an entry first and this dword last with release semantics; a host
/// polling the phase loads it with acquire semantics before reading the rest. That is the
/// ordering PCIe gives real hardware, expressed so the compiler and the thread sanitizer see it.
public enum DMAOrdering {
    /// Stores `value` (host byte order, converted to little-endian) at `address` with release ordering.
    /// - Precondition: `address` is 4-byte aligned.
    @inlinable public static func storeReleasing(_ value: UInt32, at address: UnsafeMutableRawPointer) {
        address.assumingMemoryBound(to: Atomic<UInt32>.self).pointee.store(value.littleEndian, ordering: .releasing)
    }

    /// Loads the little-endian dword at `address` with acquire ordering.
    /// - Precondition: `address` is 4-byte aligned.
    @inlinable public static func loadAcquiring(at address: UnsafeRawPointer) -> UInt32 {
        UInt32(littleEndian: UnsafeMutableRawPointer(mutating: address)
            .assumingMemoryBound(to: Atomic<UInt32>.self).pointee.load(ordering: .acquiring))
    }
}
