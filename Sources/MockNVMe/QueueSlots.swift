/// The controller's table of per-queue values by identifier (0 = admin): a fixed number of
/// optional slots, read and written in place.
///
/// An `Array` of optionals made every per-command update of a head or tail pay a uniqueness
/// check and a bounds check through the array's copy-on-write machinery; the table never grows
/// and lives in exactly one `ControllerState`, so its slots are plain memory reached through
/// addressors. Each slot starts on its own 128-byte line: queue pairs run on different threads
/// (see `MockCore`), and heads and tails sharing a cache line would make them fight over it.
/// The storage is a class only so it is freed with the state.
struct QueueSlots<Element>: RandomAccessCollection {
    private final class Storage {
        let base: UnsafeMutableRawPointer
        let count: Int
        init(count: Int, initial: Element?) {
            base = .allocate(byteCount: count * QueueSlots.stride, alignment: 128)
            for index in 0..<count {
                (base + index * QueueSlots.stride).initializeMemory(as: Element?.self, repeating: initial, count: 1)
            }
            self.count = count
        }
        deinit {
            for index in 0..<count {
                (base + index * QueueSlots.stride).assumingMemoryBound(to: Element?.self).deinitialize(count: 1)
            }
            base.deallocate()
        }
    }

    /// Bytes from one slot to the next: whole 128-byte blocks (a pair of cache lines, which
    /// adjacent-line prefetchers fetch together).
    private static var stride: Int { (MemoryLayout<Element?>.stride + 127) & ~127 }

    private let storage: Storage
    private let base: UnsafeMutableRawPointer

    /// `count` slots holding `initial` (empty by default).
    init(count: Int, initial: Element? = nil) {
        storage = Storage(count: count, initial: initial)
        base = storage.base
    }

    var startIndex: Int { 0 }
    var endIndex: Int { storage.count }

    /// The slot of identifier `index`, for a path that keeps it at hand while it works.
    /// - Precondition: `0 <= index < count`.
    @inline(__always)
    func pointer(_ index: Int) -> UnsafeMutablePointer<Element?> {
        precondition(index >= 0 && index < storage.count, "queue identifier out of range")
        return (base + index * Self.stride).assumingMemoryBound(to: Element?.self)
    }

    /// The value for identifier `index`, nil when it does not exist.
    /// - Precondition: `0 <= index < count` (callers check identifiers against `count` first).
    subscript(index: Int) -> Element? {
        @inline(__always) unsafeAddress { UnsafePointer(pointer(index)) }
        @inline(__always) nonmutating unsafeMutableAddress { pointer(index) }
    }
}
