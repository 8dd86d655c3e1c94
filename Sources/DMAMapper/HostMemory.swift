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

    /// Maps at least `length` bytes; `hugePages` is where 2 MiB pages come from (the kernel, or a
    /// test standing in for a machine with or without a hugepage reserve).
    static func allocate(
        length: Int, numaNode: Int?, pinning: DMAPinning, hugePages source: HugePageSource, notes: inout Notes
    ) throws(DMAMapperError) -> HostMemory {
        let systemPage = max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096)
        var mapped = try roundUpToPages(length, systemPage)
        var base: UnsafeMutableRawPointer?
        var hugePages = false
        if length >= hugePageSize, let hugeLength = roundUp(length, hugePageSize) {
            switch source.map(hugeLength) {
            case .success(let huge):
                base = huge
                mapped = hugeLength
                hugePages = true
            case .failure(let failure):
                notes.hugePageFallback = "2 MiB hugepages unavailable (mmap MAP_HUGETLB: \(errorText(failure.errno))); "
                    + "using normal pages - reserve hugepages with `sysctl vm.nr_hugepages=N` to avoid this"
            }
        }
        if base == nil {
            let flags = MAP_PRIVATE | MAP_ANONYMOUS
            guard let normal = unlessMapFailed(mmap(nil, mapped, PROT_READ | PROT_WRITE, flags, -1, 0)) else {
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
}

/// Where 2 MiB hugepage memory comes from. The kernel's MAP_HUGETLB in production; tests stand in
/// for a machine that has (or lacks) a hugepage reserve, which the test machine cannot choose.
struct HugePageSource: Sendable {
    /// An mmap that failed, with its errno.
    struct Failure: Error { let errno: Int32 }

    /// Maps `length` bytes (a multiple of 2 MiB) of zeroed, private, read-write memory.
    let map: @Sendable (_ length: Int) -> Result<UnsafeMutableRawPointer, Failure>

    /// MAP_HUGE_2MB: log2(2 MiB) = 21 in the flag bits at MAP_HUGE_SHIFT (26); a macro Swift cannot import.
    private static let mapHuge2MB: Int32 = 21 << 26

    /// Anonymous MAP_HUGETLB memory from the kernel's 2 MiB reserve (vm.nr_hugepages).
    static let kernel = HugePageSource { length in
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | mapHuge2MB
        guard let memory = unlessMapFailed(mmap(nil, length, PROT_READ | PROT_WRITE, flags, -1, 0)) else {
            return .failure(Failure(errno: errno))
        }
        return .success(memory)
    }
}

/// mmap's result, nil for MAP_FAILED ((void *) -1, a macro Swift cannot import). Leaves errno alone.
private func unlessMapFailed(_ pointer: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let pointer, Int(bitPattern: pointer) != -1 else { return nil }
    return pointer
}
