import SeededRandom
import DMAMapper
import PCIDevice
import Synchronization
import Testing

@Suite struct SoftwareIOMMUTests {
    /// Page-aligned host memory for the IOMMU to point at.
    final class Memory {
        let pointer: UnsafeMutableRawPointer
        init(bytes: Int) { pointer = .allocate(byteCount: bytes, alignment: 4096) }
        deinit { pointer.deallocate() }
    }

    @Test func translateInBoundsReachesTheHostMemory() throws {
        let iommu = SoftwareIOMMU()
        let memory = Memory(bytes: 3 * 4096)
        try iommu.map(hostAddress: memory.pointer, iova: 0x10_0000, length: 3 * 4096, access: .readWrite)
        let host = try iommu.translate(iova: 0x10_1010, length: 16, access: .deviceWrites)
        #expect(host == memory.pointer + 0x1010)
        host.storeBytes(of: 0xC0FFEE, as: UInt32.self)
        #expect(memory.pointer.load(fromByteOffset: 0x1010, as: UInt32.self) == 0xC0FFEE)
        // The whole mapping, exactly to its end, is fine too.
        #expect(try iommu.translate(iova: 0x10_0000, length: 3 * 4096, access: .readWrite) == memory.pointer)
        #expect(iommu.faults.isEmpty)
    }

    @Test func everyFaultKindIsRecordedWithTheAddress() throws {
        let iommu = SoftwareIOMMU()
        let memory = Memory(bytes: 2 * 4096)
        try iommu.map(hostAddress: memory.pointer, iova: 0x4000, length: 4096, access: .deviceReads)
        try iommu.map(hostAddress: memory.pointer + 4096, iova: 0x5000, length: 4096, access: .readWrite)

        let expected = [
            DMAFault(iova: 0x3FFF, length: 1, access: .deviceReads, reason: .unmapped),
            DMAFault(iova: 0x6000, length: 8, access: .deviceReads, reason: .unmapped),
            DMAFault(iova: 0x4100, length: 8, access: .deviceWrites, reason: .accessDenied),
            // Adjacent mappings are still two mappings: a transfer may not run from one into the next.
            DMAFault(iova: 0x4F00, length: 0x200, access: .deviceReads, reason: .crossesMappingEnd),
        ]
        for fault in expected {
            #expect(throws: fault) { try iommu.translate(iova: fault.iova, length: fault.length, access: fault.access) }
        }
        #expect(iommu.faults == expected)
        #expect(expected[2].description.contains("0x4100"))
        #expect(expected[2].description.contains("write"))
        #expect(expected[2].description.contains("access denied"))
        iommu.clearFaults()
        #expect(iommu.faults.isEmpty)
    }

    @Test func unmapThenTranslateFaults() throws {
        let iommu = SoftwareIOMMU()
        let memory = Memory(bytes: 4096)
        try iommu.map(hostAddress: memory.pointer, iova: 0x8000, length: 4096, access: .readWrite)
        _ = try iommu.translate(iova: 0x8000, length: 4096, access: .deviceReads)  // primes the last-hit cache
        try iommu.unmap(iova: 0x8000, length: 4096)
        #expect(throws: DMAFault(iova: 0x8000, length: 4096, access: .deviceReads, reason: .unmapped)) {
            try iommu.translate(iova: 0x8000, length: 4096, access: .deviceReads)
        }
        #expect(throws: SoftwareIOMMUError.notMapped(iova: 0x8000, length: 4096)) { try iommu.unmap(iova: 0x8000, length: 4096) }
        #expect(iommu.mappingCount == 0)
    }

    /// An unmap waits on every device's barrier before it returns, with the mapping already gone
    /// (a translation made from inside the barrier faults), and a removed barrier is not called.
    @Test func unmapWaitsOnTheBarriersAfterTheMappingIsGone() throws {
        let iommu = SoftwareIOMMU()
        let memory = Memory(bytes: 4096)
        let seen = Mutex<[String]>([])
        let first = iommu.addUnmapBarrier {
            let reachable = (try? iommu.translate(iova: 0x8000, length: 1, access: .deviceWrites)) != nil
            seen.withLock { $0.append(reachable ? "first: still mapped" : "first: unmapped") }
        }
        let second = iommu.addUnmapBarrier { seen.withLock { $0.append("second") } }
        #expect(first != second)
        try iommu.map(hostAddress: memory.pointer, iova: 0x8000, length: 4096, access: .readWrite)
        #expect(seen.withLock { $0 }.isEmpty, "a map changes nothing a device may be using")
        try iommu.unmap(iova: 0x8000, length: 4096)
        #expect(seen.withLock { $0 }.sorted() == ["first: unmapped", "second"])
        iommu.removeUnmapBarrier(first)
        try iommu.map(hostAddress: memory.pointer, iova: 0x8000, length: 4096, access: .readWrite)
        try iommu.unmap(iova: 0x8000, length: 4096)
        #expect(seen.withLock { $0 }.sorted() == ["first: unmapped", "second", "second"])
    }

    @Test func overlappingMapIsRefused() throws {
        let iommu = SoftwareIOMMU()
        let memory = Memory(bytes: 4 * 4096)
        try iommu.map(hostAddress: memory.pointer, iova: 0x10000, length: 8192, access: .readWrite)
        #expect(throws: SoftwareIOMMUError.overlapsMapping(iova: 0xF000, length: 8192, existingIOVA: 0x10000, existingLength: 8192)) {
            try iommu.map(hostAddress: memory.pointer, iova: 0xF000, length: 8192, access: .readWrite)
        }
        #expect(throws: SoftwareIOMMUError.self) {
            try iommu.map(hostAddress: memory.pointer, iova: 0x11000, length: 4096, access: .readWrite)
        }
        // Touching neighbours on both sides are fine.
        try iommu.map(hostAddress: memory.pointer, iova: 0xF000, length: 4096, access: .readWrite)
        try iommu.map(hostAddress: memory.pointer, iova: 0x12000, length: 4096, access: .readWrite)
        #expect(iommu.mappingCount == 3)
    }

    @Test func mapsOutsideTheRangesAreRefused() throws {
        let iommu = SoftwareIOMMU(iovaRanges: [IOVARange(first: 0x1000, last: 0xFFFF)])
        let memory = Memory(bytes: 8192)
        #expect(throws: SoftwareIOMMUError.outsideIOVARanges(iova: 0xF000, length: 8192)) {
            try iommu.map(hostAddress: memory.pointer, iova: 0xF000, length: 8192, access: .readWrite)
        }
        #expect(throws: SoftwareIOMMUError.invalidLength(iova: 0x2000, length: 0)) {
            try iommu.map(hostAddress: memory.pointer, iova: 0x2000, length: 0, access: .readWrite)
        }
    }

    @Test func manyMappingsAreFoundByBinarySearch() throws {
        let iommu = SoftwareIOMMU()
        let memory = Memory(bytes: 64 * 4096)
        // Mapped in a shuffled order, every other page, so lookups must really search.
        var rng = SplitMix64(seed: 7)
        for page in (0..<64).filter({ $0 % 2 == 0 }).shuffled(using: &rng) {
            try iommu.map(hostAddress: memory.pointer + page * 4096, iova: UInt64(page) * 0x1000, length: 4096, access: .readWrite)
        }
        for page in (0..<64).shuffled(using: &rng) {
            let iova = UInt64(page) * 0x1000 + 8
            if page % 2 == 0 {
                #expect(try iommu.translate(iova: iova, length: 8, access: .deviceReads) == memory.pointer + page * 4096 + 8)
            } else {
                #expect(throws: DMAFault.self) { try iommu.translate(iova: iova, length: 8, access: .deviceReads) }
            }
        }
        #expect(iommu.faults.count == 32)
    }
}
