import DMAMapper
import MockNVMe
import NVMe
import PCIDevice
import Testing

@Suite("Data transfer: PRP and SGL through the IOMMU")
struct DataTransferTests {
    static func harness(_ configure: (inout MockConfiguration) -> Void = { _ in }) throws -> Harness {
        var configuration = MockConfiguration()
        configuration.namespaces = [MockNamespace(blockCount: 1 << 16, blockSize: 4096)]
        configure(&configuration)
        let harness = try Harness(configuration)
        #expect(try harness.createQueuePair(1) == (.success, .success))
        return harness
    }

    /// Reads `pages` blocks through a PRP list whose pointer sits `slotsBeforeEnd` entries before
    /// the end of its page, so the list chains after that many slots; data pages in reverse order.
    @Test(arguments: [2, 3, 512])
    func prpListChainsToNextListPage(slotsBeforeEnd: Int) throws {
        let harness = try Self.harness { $0.mdts = 0 }
        let pages = 20
        let (written, pattern) = try harness.writePattern(lba: 0, blocks: pages, blockSize: 4096, seed: 11)
        #expect(written.isSuccess)
        let data = try harness.allocate(pages * 4096)
        let lists = try harness.allocate(4 * 4096)
        // Page order: first page at PRP1, the rest reversed through the chained list.
        let order = [0] + Array((1..<pages).reversed())
        var listAddress = lists.iova + UInt64(4096 - slotsBeforeEnd * 8)
        var host = lists.address + (4096 - slotsBeforeEnd * 8)
        var slotsLeft = slotsBeforeEnd
        var listPage = 0
        for (position, page) in order.enumerated().dropFirst() {
            let remaining = pages - position
            if slotsLeft == 1 && remaining > 1 {
                listPage += 1
                host.storeBytes(of: lists.iova + UInt64(listPage * 4096), as: UInt64.self)
                host = lists.address + listPage * 4096
                slotsLeft = 512
            }
            host.storeBytes(of: data.iova + UInt64(page * 4096), as: UInt64.self)
            host += 8
            slotsLeft -= 1
        }
        _ = listAddress
        listAddress = lists.iova + UInt64(4096 - slotsBeforeEnd * 8)
        var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: pages)
        read.dptr1 = data.iova
        read.dptr2 = listAddress
        #expect(harness.execute(read, qid: 1).status.isSuccess)
        for (position, page) in order.enumerated() {
            let same = Array(UnsafeRawBufferPointer(start: data.address + page * 4096, count: 4096)) == Array(pattern[(position * 4096)..<((position + 1) * 4096)])
            #expect(same, "transfer page \(position)")
        }
    }

    @Test func prpOffsetRules() throws {
        let harness = try Self.harness()
        let data = try harness.allocate(4 * 4096)
        let list = try harness.allocate(4096)
        var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 2)
        // PRP2 used as a page must have offset 0.
        read.dptr1 = data.iova
        read.dptr2 = data.iova + 4096 + 512
        #expect(harness.execute(read, qid: 1).status.matches(.prpOffsetInvalid))
        // PRP1 must be dword aligned.
        read.dptr1 = data.iova + 2
        read.dptr2 = data.iova + 4096
        #expect(harness.execute(read, qid: 1).status.matches(.prpOffsetInvalid))
        // A list entry with an offset.
        var three = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 3)
        three.dptr1 = data.iova
        three.dptr2 = list.iova
        list.address.storeBytes(of: data.iova + 4096, toByteOffset: 0, as: UInt64.self)
        list.address.storeBytes(of: data.iova + 8192 + 8, toByteOffset: 8, as: UInt64.self)
        #expect(harness.execute(three, qid: 1).status.matches(.prpOffsetInvalid))
        // The list pointer itself may have an offset but must be dword aligned.
        list.address.storeBytes(of: data.iova + 8192, toByteOffset: 8, as: UInt64.self)
        list.address.storeBytes(of: data.iova + 4096, toByteOffset: 16, as: UInt64.self)
        list.address.storeBytes(of: data.iova + 8192, toByteOffset: 24, as: UInt64.self)
        three.dptr2 = list.iova + 16
        #expect(harness.execute(three, qid: 1).status.isSuccess)
        three.dptr2 = list.iova + 17
        #expect(harness.execute(three, qid: 1).status.matches(.prpOffsetInvalid))
    }

    @Test func unmappedAndReadOnlyMemoryFaults() throws {
        let harness = try Self.harness()
        harness.controller.clearDMAFaults()
        var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 1)
        read.dptr1 = 0x7000_0000_0000
        let unmapped = harness.execute(read, qid: 1)
        #expect(unmapped.status.matches(.dataTransferError))
        #expect(harness.controller.dmaFaults.first?.reason == .unmapped)
        #expect(harness.controller.dmaFaults.first?.iova == 0x7000_0000_0000)

        harness.controller.clearDMAFaults()
        let readOnly = try harness.allocate(4096, access: .deviceReads)
        let denied = harness.execute(.io(.read, nsid: 1, lba: 0, blocks: 1), buffer: readOnly, qid: 1)
        #expect(denied.status.matches(.dataTransferError))
        #expect(harness.controller.dmaFaults.map(\.reason) == [.accessDenied])
        // The device may read it: a write from it works.
        #expect(harness.execute(.io(.write, nsid: 1, lba: 0, blocks: 1), buffer: readOnly, qid: 1).status.isSuccess)
    }

    @Test func sglDataBlock() throws {
        let harness = try Self.harness()
        let (_, pattern) = try harness.writePattern(lba: 5, blocks: 1, blockSize: 4096, seed: 12)
        let data = try harness.allocate(8192)
        var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: 5, blocks: 1)
        read.psdt = .sglContiguousMetadata
        read.sgl1 = SGLDescriptor(type: .dataBlock, address: data.iova + 100, length: 4096)
        #expect(harness.execute(read, qid: 1).status.isSuccess)
        let same = Array(UnsafeRawBufferPointer(start: data.address + 100, count: 4096)) == pattern
        #expect(same)
        read.sgl1 = SGLDescriptor(type: .dataBlock, address: data.iova, length: 4000)
        #expect(harness.execute(read, qid: 1).status.matches(.dataSGLLengthInvalid))
    }

    @Test func sglSegmentChainsToLastSegment() throws {
        let harness = try Self.harness()
        let (_, pattern) = try harness.writePattern(lba: 0, blocks: 2, blockSize: 4096, seed: 13)
        let data = try harness.allocate(4 * 4096)
        let descriptors = try harness.allocate(4096)
        func put(_ descriptor: SGLDescriptor, at index: Int) {
            descriptors.address.storeBytes(of: descriptor, toByteOffset: index * 16, as: SGLDescriptor.self)
        }
        // Segment: 3000 bytes at page 3, 1096 at page 2 + 7, then a Last Segment with 4096 at page 0.
        put(SGLDescriptor(type: .dataBlock, address: data.iova + 3 * 4096, length: 3000), at: 0)
        put(SGLDescriptor(type: .dataBlock, address: data.iova + 2 * 4096 + 7, length: 1096), at: 1)
        put(SGLDescriptor(type: .lastSegment, address: descriptors.iova + 256, length: 16), at: 2)
        put(SGLDescriptor(type: .dataBlock, address: data.iova, length: 4096), at: 16)
        var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 2)
        read.psdt = .sglContiguousMetadata
        read.sgl1 = SGLDescriptor(type: .segment, address: descriptors.iova, length: 48)
        #expect(harness.execute(read, qid: 1).status.isSuccess)
        var gathered = Array(UnsafeRawBufferPointer(start: data.address + 3 * 4096, count: 3000))
        gathered += Array(UnsafeRawBufferPointer(start: data.address + 2 * 4096 + 7, count: 1096))
        gathered += Array(UnsafeRawBufferPointer(start: data.address, count: 4096))
        let same = gathered == pattern
        #expect(same)

        // A Last Segment holding a segment descriptor is invalid.
        put(SGLDescriptor(type: .segment, address: descriptors.iova, length: 16), at: 16)
        #expect(harness.execute(read, qid: 1).status.matches(.invalidSGLSegmentDescriptor))
        // A reserved or unsupported descriptor type.
        put(SGLDescriptor(type: .keyedDataBlock, address: data.iova, length: 4096), at: 16)
        #expect(harness.execute(read, qid: 1).status.matches(.sglDescriptorTypeInvalid))
        // Lengths summing to less than the transfer.
        put(SGLDescriptor(type: .dataBlock, address: data.iova, length: 4000), at: 16)
        #expect(harness.execute(read, qid: 1).status.matches(.dataSGLLengthInvalid))
        // SGL1 of a reserved type.
        read.sgl1 = SGLDescriptor(type: .bitBucket, address: 0, length: 8192)
        #expect(harness.execute(read, qid: 1).status.matches(.sglDescriptorTypeInvalid))
        // A segment descriptor list in unmapped memory.
        harness.controller.clearDMAFaults()
        read.sgl1 = SGLDescriptor(type: .lastSegment, address: 0x6000_0000_0000, length: 16)
        #expect(harness.execute(read, qid: 1).status.matches(.dataTransferError))
        #expect(harness.controller.dmaFaults.count == 1)
    }

    @Test func sglWithoutSupportIsInvalidField() throws {
        let harness = try Self.harness { $0.sglSupported = false }
        let data = try harness.allocate(4096)
        var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 1)
        read.psdt = .sglContiguousMetadata
        read.sgl1 = SGLDescriptor(type: .dataBlock, address: data.iova, length: 4096)
        #expect(harness.execute(read, qid: 1).status.matches(.invalidFieldInCommand))
    }
}
