import CVFIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A memory-mapped device region (a BAR) with volatile 32- and 64-bit access.
///
/// Every access goes through the CVFIO volatile shims, so the compiler neither merges, reorders
/// nor drops register accesses. Offsets are checked (range and natural alignment) in debug builds
/// only: register access sits on the I/O hot path.
public final class MMIORegion: @unchecked Sendable {
    // @unchecked Sendable: `base` and `size` never change after init, and the memory behind `base`
    // is only ever touched through volatile loads and stores, which is what device registers need
    // whatever thread issues them. The mapping lives until deinit.

    /// Start of the mapping.
    public let base: UnsafeMutableRawPointer
    /// Length of the mapping in bytes.
    public let size: Int

    /// Maps `size` bytes of `fileDescriptor` at `offset` (a VFIO region) shared, read-write.
    public init(mapping fileDescriptor: Int32, offset: Int64, size: Int, what: String) throws(PCIDeviceError) {
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fileDescriptor, off_t(offset))
        guard let address, Int(bitPattern: address) != -1 else {
            throw .vfioCallFailed(call: "mmap of \(what) (\(size) bytes at offset 0x\(String(offset, radix: 16)))",
                                  errno: errno)
        }
        self.base = address
        self.size = size
    }

    /// Anonymous zeroed memory shaped like a region, for tests and software devices.
    public init(anonymousSize size: Int) throws(PCIDeviceError) {
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let address, Int(bitPattern: address) != -1 else {
            throw .vfioCallFailed(call: "mmap of \(size) anonymous bytes", errno: errno)
        }
        self.base = address
        self.size = size
    }

    deinit {
        munmap(base, size)
    }

    @inline(__always)
    private func check(_ offset: Int, _ width: Int) {
        assert(offset >= 0 && offset <= size - width, "MMIO offset \(offset) out of a \(size)-byte region")
        assert(offset % width == 0, "MMIO offset \(offset) is not \(width)-byte aligned")
    }

    /// Volatile 32-bit load at `offset` bytes.
    @inline(__always)
    public func load32(at offset: Int) -> UInt32 {
        check(offset, 4)
        return cvfio_mmio_read32(base + offset)
    }

    /// Volatile 64-bit load at `offset` bytes.
    @inline(__always)
    public func load64(at offset: Int) -> UInt64 {
        check(offset, 8)
        return cvfio_mmio_read64(base + offset)
    }

    /// Volatile 32-bit store at `offset` bytes.
    @inline(__always)
    public func store32(_ value: UInt32, at offset: Int) {
        check(offset, 4)
        cvfio_mmio_write32(base + offset, value)
    }

    /// Volatile 64-bit store at `offset` bytes.
    @inline(__always)
    public func store64(_ value: UInt64, at offset: Int) {
        check(offset, 8)
        cvfio_mmio_write64(base + offset, value)
    }
}
