#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CVFIO

/// Anonymous, page-aligned, zero-filled host memory for DMA: hugepage-backed when the size and
/// the system allow, placed on a NUMA node when asked, and locked when asked.
///
/// Problems that do not stop the allocation come back in `notes`, so the mapper can log each
/// kind once instead of once per buffer.
struct HostMemory {
    static let hugePageSize = 2 << 20
    /// MAP_HUGE_2MB: log2(2 MiB) = 21 in the flag bits at MAP_HUGE_SHIFT (26); a macro Swift cannot import.
    private static let mapHuge2MB: Int32 = 21 << 26

    /// What went wrong but was worked around.
    struct Notes {
        var hugePageFallback: String?
        var notPinned: String?
        var numaIgnored: String?
    }

    let base: UnsafeMutableRawPointer
    /// What was mmapped (what munmap needs): a multiple of 2 MiB for hugepages.
    let mappedLength: Int
    let hugePages: Bool
    let pinned: Bool

    /// Maps at least `length` bytes.
    static func allocate(
        length: Int, numaNode: Int?, pinning: DMAPinning, notes: inout Notes
    ) throws(DMAMapperError) -> HostMemory {
        let systemPage = max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096)
        var mapped = roundUp(length, systemPage)
        var base: UnsafeMutableRawPointer?
        var hugePages = false
        let protection = PROT_READ | PROT_WRITE
        let flags = MAP_PRIVATE | MAP_ANONYMOUS

        if length >= hugePageSize {
            let hugeLength = roundUp(length, hugePageSize)
            if let huge = checked(mmap(nil, hugeLength, protection, flags | MAP_HUGETLB | mapHuge2MB, -1, 0)) {
                base = huge
                mapped = hugeLength
                hugePages = true
            } else {
                notes.hugePageFallback = "2 MiB hugepages unavailable (mmap MAP_HUGETLB: \(errorText(errno))); "
                    + "using normal pages - reserve hugepages with `sysctl vm.nr_hugepages=N` to avoid this"
            }
        }
        if base == nil {
            guard let normal = checked(mmap(nil, mapped, protection, flags, -1, 0)) else {
                throw .memoryUnavailable(length: length, errno: errno)
            }
            base = normal
            // Transparent hugepages are the next best thing for large buffers; advice only.
            if length >= hugePageSize { _ = madvise(normal, mapped, MADV_HUGEPAGE) }
        }
        let memory = HostMemory(base: base!, mappedLength: mapped, hugePages: hugePages, pinned: false)

        // Placement must precede the first touch, and mlock touches every page.
        if let numaNode { memory.bind(toNode: numaNode, notes: &notes) }
        guard pinning != .disabled else { return memory }
        if mlock(memory.base, memory.mappedLength) == 0 {
            return HostMemory(base: memory.base, mappedLength: mapped, hugePages: hugePages, pinned: true)
        }
        let code = errno
        if pinning == .required {
            memory.release()
            throw .pinningFailed(length: length, errno: code)
        }
        notes.notPinned = "DMA memory is not pinned (mlock: \(errorText(code))); "
            + "raise RLIMIT_MEMLOCK (ulimit -l, or LimitMEMLOCK= in a systemd unit) or run as root"
        return memory
    }

    /// Unmaps the memory (which also unlocks it).
    func release() {
        _ = munmap(base, mappedLength)
    }

    private func bind(toNode node: Int, notes: inout Notes) {
        guard numa_available() >= 0 else {
            notes.numaIgnored = "NUMA node \(node) requested but libnuma reports no NUMA support; memory is not placed"
            return
        }
        guard node >= 0, node <= Int(numa_max_node()) else {
            notes.numaIgnored = "NUMA node \(node) does not exist (highest is \(numa_max_node())); memory is not placed"
            return
        }
        numa_tonode_memory(base, mappedLength, Int32(node))
    }

    /// nil for MAP_FAILED.
    private static func checked(_ pointer: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
        pointer == UnsafeMutableRawPointer(bitPattern: -1) ? nil : pointer
    }
}
