import CVFIO
import HexFormat
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A memory-mapped device region (a BAR) with volatile 32- and 64-bit access.
///
/// Every access goes through the CVFIO volatile shims, so the compiler neither merges, reorders
/// nor drops register accesses. Every access is also bounds-checked, in release builds too:
/// offsets are computed from values the device reports (CAP.DSTRD places the doorbells), and the
/// device is untrusted. The check is one compare (see `slot`); an offset outside the region, or
/// not naturally aligned, never touches memory: a read returns all ones, as a device that has gone
/// away does (which callers already handle), and a write is dropped and counted.
///
/// When the kernel asks for the device back (its removal), `behaveAsRemoved()` turns the whole
/// region into a removed device's without adding anything to the accesses themselves.
public final class MMIORegion: @unchecked Sendable {
    // @unchecked Sendable: `base`, `size` and the bounds never change after init, the counters
    // are atomics, and the memory behind `base` is only ever touched through volatile loads and
    // stores, which is what device registers need whatever thread issues them.

    /// Start of the mapping.
    public let base: UnsafeMutableRawPointer
    /// Length of the mapping in bytes.
    public let size: Int
    /// Highest valid `slot` for a 32-bit access: (size - 4) / 4.
    private let lastSlot32: UInt
    /// Highest valid `slot` for a 64-bit access: (size - 8) / 8.
    private let lastSlot64: UInt
    private let rejectedReads = Atomic<Int>(0)
    private let droppedWrites = Atomic<Int>(0)
    private let lastRejected = Atomic<Int>(0)
    private let removed = Atomic<Bool>(false)

    /// Maps `size` bytes of `fileDescriptor` at `offset` (a VFIO region) shared, read-write.
    public init(mapping fileDescriptor: Int32, offset: Int64, size: Int, what: String) throws(PCIDeviceError) {
        try Self.checkSize(size, what: what)
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fileDescriptor, off_t(offset))
        guard let address, Int(bitPattern: address) != -1 else {
            throw .vfioCallFailed(call: "mmap of \(what) (\(size) bytes at offset \(hex(offset)))",
                                  errno: errno)
        }
        base = address
        self.size = size
        lastSlot32 = Self.lastSlot(size, width: 4)
        lastSlot64 = Self.lastSlot(size, width: 8)
    }

    /// Anonymous zeroed memory shaped like a region, for tests and software devices.
    public init(anonymousSize size: Int) throws(PCIDeviceError) {
        try Self.checkSize(size, what: "an anonymous region")
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let address, Int(bitPattern: address) != -1 else {
            throw .vfioCallFailed(call: "mmap of \(size) anonymous bytes", errno: errno)
        }
        base = address
        self.size = size
        lastSlot32 = Self.lastSlot(size, width: 4)
        lastSlot64 = Self.lastSlot(size, width: 8)
    }

    deinit {
        munmap(base, size)
    }

    private static func checkSize(_ size: Int, what: String) throws(PCIDeviceError) {
        guard size >= 8 else { throw .regionUnavailable("\(what) of \(size) bytes cannot hold one 64-bit register") }
    }

    /// The slot of the last whole `width`-byte register in `size` bytes (size >= 8).
    private static func lastSlot(_ size: Int, width: Int) -> UInt {
        UInt(size - width) / UInt(width)
    }

    /// `offset` rotated right by log2 of the access width: an aligned offset becomes its slot
    /// index, while a misaligned one moves its low bits to the top and a negative one keeps its
    /// sign bits, so both land far above any region's last slot. One compare then checks range,
    /// sign and alignment together.
    @inline(__always)
    private static func slot(_ offset: Int, widthShift: Int) -> UInt {
        let bits = UInt(bitPattern: offset)
        return bits >> UInt(widthShift) | bits << UInt(UInt.bitWidth - widthShift)
    }

    /// Volatile 32-bit load at `offset` bytes; all ones when the offset is outside or misaligned.
    @inline(__always)
    public func load32(at offset: Int) -> UInt32 {
        guard Self.slot(offset, widthShift: 2) <= lastSlot32 else { return UInt32(truncatingIfNeeded: rejectRead(offset)) }
        return cvfio_mmio_read32(base + offset)
    }

    /// Volatile 64-bit load at `offset` bytes; all ones when the offset is outside or misaligned.
    @inline(__always)
    public func load64(at offset: Int) -> UInt64 {
        guard Self.slot(offset, widthShift: 3) <= lastSlot64 else { return rejectRead(offset) }
        return cvfio_mmio_read64(base + offset)
    }

    /// Volatile 32-bit store at `offset` bytes; dropped and counted when the offset is outside or misaligned.
    @inline(__always)
    public func store32(_ value: UInt32, at offset: Int) {
        guard Self.slot(offset, widthShift: 2) <= lastSlot32 else { return dropWrite(offset) }
        cvfio_mmio_write32(base + offset, value)
    }

    /// Volatile 64-bit store at `offset` bytes; dropped and counted when the offset is outside or misaligned.
    @inline(__always)
    public func store64(_ value: UInt64, at offset: Int) {
        guard Self.slot(offset, widthShift: 3) <= lastSlot64 else { return dropWrite(offset) }
        cvfio_mmio_write64(base + offset, value)
    }

    /// The address of the 32-bit register at `offset`, for a caller that stores to it directly
    /// through `cvfio_mmio_write32` (a doorbell on the hot path); nil when the offset is outside
    /// the region or misaligned, checked here once rather than per store.
    public func address32(at offset: Int) -> UnsafeMutableRawPointer? {
        Self.slot(offset, widthShift: 2) <= lastSlot32 ? base + offset : nil
    }

    // MARK: A removed device (cold)

    /// Whether `behaveAsRemoved()` has swapped the mapping.
    public var behavesAsRemoved: Bool { removed.load(ordering: .acquiring) }

    /// From now on the region behaves as a removed device's, for every thread at once: reads
    /// return all ones and writes never reach the device. The mapping is swapped in one step
    /// (`mremap` over it) for private memory filled with ones, so the accesses keep their single
    /// bounds compare and pay nothing for this. A register written after the swap reads back
    /// what was written; CSTS, by which callers tell a device is gone, is never written. The
    /// swap also ends the mapping's hold on the device file (a VFIO device fd), so closing that
    /// fd is then all the kernel waits for. Runs once; later calls return at once.
    public func behaveAsRemoved() throws(PCIDeviceError) {
        guard !removed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let ones = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let ones, Int(bitPattern: ones) != -1 else {
            let error = errno
            removed.store(false, ordering: .releasing)
            throw .vfioCallFailed(call: "mmap of \(size) bytes to stand in for a removed device's registers", errno: error)
        }
        memset(ones, 0xFF, size)
        guard let moved = cvfio_mremap_over(ones, size, base), Int(bitPattern: moved) != -1 else {
            let error = errno
            munmap(ones, size)
            removed.store(false, ordering: .releasing)
            throw .vfioCallFailed(call: "mremap of \(size) bytes of all ones over the registers at \(base)", errno: error)
        }
    }

    // MARK: Out-of-range accesses (cold)

    /// Reads refused because their offset was outside the region or misaligned.
    public var rejectedReadCount: Int { rejectedReads.load(ordering: .relaxed) }
    /// Writes dropped because their offset was outside the region or misaligned.
    public var droppedWriteCount: Int { droppedWrites.load(ordering: .relaxed) }
    /// The offset of the most recent refused access, nil while there has been none.
    public var lastRejectedOffset: Int? {
        rejectedReadCount + droppedWriteCount == 0 ? nil : lastRejected.load(ordering: .relaxed)
    }

    @inline(never)
    private func rejectRead(_ offset: Int) -> UInt64 {
        lastRejected.store(offset, ordering: .relaxed)
        rejectedReads.add(1, ordering: .relaxed)
        return .max
    }

    @inline(never)
    private func dropWrite(_ offset: Int) {
        lastRejected.store(offset, ordering: .relaxed)
        droppedWrites.add(1, ordering: .relaxed)
    }
}
