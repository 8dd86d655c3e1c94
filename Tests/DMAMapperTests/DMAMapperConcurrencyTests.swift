import DMAMapper
import PCIDevice
import Testing

/// The mapper and the software IOMMU are shared between threads (queue pairs, the mock's thread).
@Suite struct DMAMapperConcurrencyTests {
    @Test func concurrentAllocateTranslateAndRelease() async throws {
        let iommu = SoftwareIOMMU()
        let mapper = try DMAMapper(iommu: iommu, pinning: .disabled)
        let freeBefore = mapper.freeIOVABytes
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for round in 0..<200 {
                        let buffer = try mapper.allocate(length: 4096 * (1 + (worker + round) % 5))
                        let marker = UInt32(worker << 16 | round)
                        buffer.address.storeBytes(of: marker, as: UInt32.self)
                        let seen = try iommu.translate(iova: buffer.iova, length: buffer.length, access: .deviceReads)
                        #expect(seen.load(as: UInt32.self) == marker)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(iommu.mappingCount == 0)
        #expect(iommu.faults.isEmpty)
        #expect(mapper.freeIOVABytes == freeBefore)
    }
}
