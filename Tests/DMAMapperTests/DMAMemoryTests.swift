#if canImport(Glibc)
import Glibc
#endif
import CVFIO
import Foundation
import Logging
import PCIDevice
import Synchronization
import Testing
import TestSupport
@testable import DMAMapper

/// The properties DESIGN.md asks of DMA memory - hugepage-backed where available with a logged
/// fallback, NUMA-local, pinned - checked against what the kernel reports, not the mapper's flags alone.
@Suite struct DMAMemoryTests {
    static let mib = 1 << 20

    func mapper(_ hugePages: HugePageSource, numaNode: Int? = nil, pinning: DMAPinning = .disabled,
                log: LogRecorder) throws -> DMAMapper {
        try DMAMapper(iommu: SoftwareIOMMU(), numaNode: numaNode, addressableBits: 64, pageSize: 4096,
                      logger: log.logger(), pinning: pinning, hugePages: hugePages)
    }

    /// A machine with a hugepage reserve, played by ordinary memory (this one may have none).
    static let reserve = HugePageSource { length in
        .success(mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!)
    }
    /// A machine whose reserve is empty: MAP_HUGETLB fails with ENOMEM.
    static let noReserve = HugePageSource { _ in .failure(.init(errno: ENOMEM)) }

    @Test func largeBuffersUseHugepagesWhenTheReserveHasThem() throws {
        let log = LogRecorder()
        let mapper = try mapper(Self.reserve, log: log)
        let large = try mapper.allocate(length: 3 * Self.mib)
        #expect(large.isHugePageBacked)
        #expect(large.memory.mappedLength == 4 * Self.mib, "whole 2 MiB pages")
        let small = try mapper.allocate(length: 64 * 1024)
        #expect(!small.isHugePageBacked, "below 2 MiB a hugepage would waste most of itself")
        #expect(log.messages.isEmpty)
    }

    @Test func withoutHugepagesTheFallbackIsLoggedOnce() throws {
        let log = LogRecorder()
        let mapper = try mapper(Self.noReserve, log: log)
        let buffers = try (0..<3).map { _ in try mapper.allocate(length: 2 * Self.mib) }
        #expect(buffers.allSatisfy { !$0.isHugePageBacked })
        let notices = log.messages.filter { $0.contains("hugepages unavailable") }
        #expect(notices.count == 1, "\(log.messages)")
        #expect(notices.first?.hasPrefix("notice:") == true)
        #expect(notices.first?.contains("Cannot allocate memory") == true && notices.first?.contains("vm.nr_hugepages") == true)
        // The memory is still usable and zeroed.
        #expect(buffers[0].bytes.allSatisfy { $0 == 0 })
    }

    @Test func theKernelsAnswerMatchesTheFlag() throws {
        let log = LogRecorder()
        let buffer = try mapper(.kernel, log: log).allocate(length: 2 * Self.mib)
        buffer.bytes[0] = 1
        let map = try #require(try ProcessMemoryMap.mapping(containing: buffer.address))
        if buffer.isHugePageBacked {
            #expect(map.kernelPageKiB == 2048)
            #expect(log.messages.isEmpty)
        } else {
            // No reserve here (vm.nr_hugepages is 0 on most test machines): the fallback is explained.
            #expect(map.kernelPageKiB == sysconf(Int32(_SC_PAGESIZE)) / 1024)
            #expect(log.messages.contains { $0.contains("hugepages unavailable") })
        }
    }

    @Test func pinnedMemoryIsLockedAsTheKernelSeesIt() throws {
        // mlock needs RLIMIT_MEMLOCK room unless the process has CAP_IPC_LOCK (root does); 64 KiB
        // fits the smallest common default (64 KiB on old kernels, 8 MiB on current ones).
        var limit = rlimit()
        getrlimit(Int32(__RLIMIT_MEMLOCK.rawValue), &limit)
        let length = 64 * 1024
        try #require(geteuid() == 0 || limit.rlim_cur >= UInt(length), "RLIMIT_MEMLOCK is below \(length) bytes")
        let log = LogRecorder()
        let buffer = try mapper(Self.noReserve, pinning: .required, log: log).allocate(length: length)
        #expect(buffer.isPinned)
        let map = try #require(try ProcessMemoryMap.mapping(containing: buffer.address))
        #expect(map.lockedKiB == map.sizeKiB && map.lockedKiB >= length / 1024, "smaps: \(map)")
        let unpinned = try mapper(Self.noReserve, pinning: .disabled, log: log).allocate(length: length)
        #expect(!unpinned.isPinned)
        #expect(try ProcessMemoryMap.mapping(containing: unpinned.address)?.lockedKiB == 0)
    }

    /// Root has CAP_IPC_LOCK, which lifts RLIMIT_MEMLOCK, so only a process without it can see mlock fail.
    @Test(.enabled(if: geteuid() != 0, "root (CAP_IPC_LOCK) is not bound by RLIMIT_MEMLOCK"))
    func pinningBeyondTheLockLimitIsExplained() throws {
        var limit = rlimit()
        getrlimit(Int32(__RLIMIT_MEMLOCK.rawValue), &limit)
        try #require(limit.rlim_cur != rlim_t.max, "RLIMIT_MEMLOCK is unlimited")
        let length = Int(limit.rlim_cur) + 4096
        let log = LogRecorder()
        let error = #expect(throws: DMAMapperError.self) {
            try mapper(Self.noReserve, pinning: .required, log: log).allocate(length: length)
        }
        #expect(error?.description.contains("ulimit -l") == true)
        let best = try mapper(Self.noReserve, pinning: .bestEffort, log: log).allocate(length: length)
        #expect(!best.isPinned)
        #expect(log.messages.contains { $0.hasPrefix("warning:") && $0.contains("RLIMIT_MEMLOCK") })
    }

    @Test func memoryLandsOnTheRequestedNode() throws {
        let log = LogRecorder()
        let node = Int(numa_max_node())  // the last node: node 0 is where memory lands by default anyway
        let buffer = try mapper(Self.noReserve, numaNode: node, pinning: .bestEffort, log: log).allocate(length: 256 * 1024)
        for index in stride(from: 0, to: buffer.length, by: 4096) { buffer.bytes[index] = 1 }
        let nodes = buffer.memory.nodesOfPages(count: buffer.length / Int(sysconf(Int32(_SC_PAGESIZE))))
        #expect(nodes.allSatisfy { $0 == node }, "pages on nodes \(Set(nodes.map { $0 ?? -1 })), asked for \(node)")
        #expect(!log.messages.contains { $0.contains("NUMA") })
    }

    @Test(.enabled(if: numa_max_node() > 0, "one NUMA node here: placement on a second node cannot be observed"))
    func everyNodeGetsItsOwnMemory() throws {
        for node in 0...Int(numa_max_node()) where numa_node_size64(Int32(node), nil) > 0 {
            let buffer = try mapper(Self.noReserve, numaNode: node, log: LogRecorder()).allocate(length: 64 * 1024)
            for index in stride(from: 0, to: buffer.length, by: 4096) { buffer.bytes[index] = 1 }
            #expect(buffer.memory.nodesOfPages(count: 16).allSatisfy { $0 == node }, "node \(node)")
        }
    }

    @Test func aNodeThatDoesNotExistIsLoggedAndIgnored() throws {
        let log = LogRecorder()
        let buffer = try mapper(Self.noReserve, numaNode: 4096, log: log).allocate(length: 4096)
        buffer.bytes[0] = 1
        #expect(log.messages.filter { $0.contains("NUMA node 4096 does not exist") }.count == 1)
    }
}
