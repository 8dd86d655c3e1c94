/// The controller's table of queues by identifier (0 = admin): a fixed number of optional
/// slots, read and written in place.
///
/// An `Array` of optionals made every per-command update of a head or tail pay a uniqueness
/// check and a bounds check through the array's copy-on-write machinery; the table never grows
/// and lives in exactly one `ControllerState` behind the controller lock, so its slots are plain
/// memory reached through addressors. The storage is a class only so it is freed with the state.
struct QueueSlots<Element>: RandomAccessCollection {
    private final class Storage {
        let slots: UnsafeMutablePointer<Element?>
        let count: Int
        init(count: Int) {
            slots = .allocate(capacity: count)
            slots.initialize(repeating: nil, count: count)
            self.count = count
        }
        deinit {
            slots.deinitialize(count: count)
            slots.deallocate()
        }
    }

    private let storage: Storage
    private let slots: UnsafeMutablePointer<Element?>

    /// `count` empty slots.
    init(count: Int) {
        storage = Storage(count: count)
        slots = storage.slots
    }

    var startIndex: Int { 0 }
    var endIndex: Int { storage.count }

    /// The queue with identifier `index`, nil when it does not exist.
    /// - Precondition: `0 <= index < count` (callers check identifiers against `count` first).
    subscript(index: Int) -> Element? {
        @inline(__always) unsafeAddress {
            precondition(index >= 0 && index < storage.count, "queue identifier out of range")
            return UnsafePointer(slots + index)
        }
        @inline(__always) nonmutating unsafeMutableAddress {
            precondition(index >= 0 && index < storage.count, "queue identifier out of range")
            return slots + index
        }
    }
}
