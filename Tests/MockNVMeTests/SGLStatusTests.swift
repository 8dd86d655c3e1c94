import DMAMapper
import MockNVMe
import NVMe
import Testing

/// SGL statuses (NVMe Base 2.0, "Generic Command Status Values"): 0Dh Invalid SGL Segment
/// Descriptor, 0Eh Invalid Number of SGL Descriptors, 0Fh Data SGL Length Invalid, 11h SGL
/// Descriptor Type Invalid; each also leaves a `DataPointerFault` naming the address and reason.
@Suite("SGL statuses and faults")
struct SGLStatusTests {
    static func harness() throws -> Harness {
        try Harness.withQueuePair { $0.namespaces = [MockNamespace(blockCount: 1 << 16, blockSize: 4096)] }
    }

    static func sglRead(lba: UInt64 = 0, blocks: Int = 1, _ sgl: SGLDescriptor) -> SubmissionQueueEntry {
        var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: lba, blocks: blocks)
        read.psdt = .sglContiguousMetadata
        read.sgl1 = sgl
        return read
    }

    static func put(_ descriptor: SGLDescriptor, in buffer: DMABuffer, at index: Int) {
        buffer.address.storeBytes(of: descriptor, toByteOffset: index * 16, as: SGLDescriptor.self)
    }

    @Test func segmentLengthNotAMultipleOf16() throws {
        let harness = try Self.harness()
        let descriptors = try harness.allocate(4096)
        let completion = harness.execute(Self.sglRead(SGLDescriptor(type: .lastSegment, address: descriptors.iova, length: 24)), qid: 1)
        #expect(completion.status.matches(.invalidSGLSegmentDescriptor))
        let fault = try #require(harness.controller.dataPointerFaults.last)
        #expect(fault.reason == .sglSegmentLength(24))
        #expect(fault.address == descriptors.iova)
        #expect(fault.queueID == 1 && fault.commandID == completion.commandID)
        #expect(fault.status.matches(.invalidSGLSegmentDescriptor))
    }

    @Test func loopingSegmentChainIsInvalidNumberOfDescriptors() throws {
        let harness = try Self.harness()
        let data = try harness.allocate(4096)
        let descriptors = try harness.allocate(4096)
        // A Segment whose last descriptor points back at itself: the chain never ends.
        Self.put(SGLDescriptor(type: .dataBlock, address: data.iova, length: 0), in: descriptors, at: 0)
        Self.put(SGLDescriptor(type: .segment, address: descriptors.iova, length: 32), in: descriptors, at: 1)
        let completion = harness.execute(Self.sglRead(SGLDescriptor(type: .segment, address: descriptors.iova, length: 32)), qid: 1)
        #expect(completion.status.matches(.invalidNumberOfSGLDescriptors))
        #expect(harness.controller.dataPointerFaults.last?.reason == .sglTooManyDescriptors)
    }

    @Test func descriptorsLongerOrShorterThanTheTransfer() throws {
        let harness = try Self.harness()
        let data = try harness.allocate(3 * 4096)
        // More: one Data Block of 8 KiB for a 4 KiB read.
        let more = harness.execute(Self.sglRead(SGLDescriptor(type: .dataBlock, address: data.iova, length: 8192)), qid: 1)
        #expect(more.status.matches(.dataSGLLengthInvalid))
        #expect(harness.controller.dataPointerFaults.last?.reason == .sglLengthMismatch(described: 8192, transfer: 4096))
        // Less: a Last Segment whose Data Blocks add up to 3 KiB for a 4 KiB read.
        let descriptors = try harness.allocate(4096)
        Self.put(SGLDescriptor(type: .dataBlock, address: data.iova, length: 1024), in: descriptors, at: 0)
        Self.put(SGLDescriptor(type: .dataBlock, address: data.iova + 8192, length: 2048), in: descriptors, at: 1)
        let less = harness.execute(Self.sglRead(SGLDescriptor(type: .lastSegment, address: descriptors.iova, length: 32)), qid: 1)
        #expect(less.status.matches(.dataSGLLengthInvalid))
        #expect(harness.controller.dataPointerFaults.last?.reason == .sglLengthMismatch(described: 3072, transfer: 4096))
        // Exactly the transfer across two blocks works.
        Self.put(SGLDescriptor(type: .dataBlock, address: data.iova + 8192, length: 3072), in: descriptors, at: 1)
        #expect(harness.execute(Self.sglRead(SGLDescriptor(type: .lastSegment, address: descriptors.iova, length: 32)), qid: 1).status.isSuccess)
    }

    @Test func nonZeroSubtypeIsDescriptorTypeInvalid() throws {
        let harness = try Self.harness()
        let data = try harness.allocate(4096)
        // Subtype 1h (Offset) is for fabrics; over PCIe only 0h (Address) is valid.
        let completion = harness.execute(Self.sglRead(SGLDescriptor(type: .dataBlock, subtype: 1, address: data.iova, length: 4096)), qid: 1)
        #expect(completion.status.matches(.sglDescriptorTypeInvalid))
        #expect(harness.controller.dataPointerFaults.last?.reason == .sglSubtype(1))
        #expect(harness.controller.dataPointerFaults.last?.address == data.iova)
        // In a segment too.
        let descriptors = try harness.allocate(4096)
        Self.put(SGLDescriptor(type: .dataBlock, subtype: 2, address: data.iova, length: 4096), in: descriptors, at: 0)
        #expect(harness.execute(Self.sglRead(SGLDescriptor(type: .lastSegment, address: descriptors.iova, length: 16)), qid: 1).status.matches(.sglDescriptorTypeInvalid))
    }

    @Test func sglWriteStoresGatheredData() throws {
        let harness = try Self.harness()
        let data = try harness.allocate(4 * 4096)
        let pattern = Harness.pattern(8192, seed: 21)
        // The 8 KiB come from page 2 (5000 bytes at +96) then page 0 (3192 bytes at +8).
        pattern[0..<5000].withUnsafeBytes { (data.address + 2 * 4096 + 96).copyMemory(from: $0.baseAddress!, byteCount: 5000) }
        pattern[5000...].withUnsafeBytes { (data.address + 8).copyMemory(from: $0.baseAddress!, byteCount: 3192) }
        let descriptors = try harness.allocate(4096)
        Self.put(SGLDescriptor(type: .dataBlock, address: data.iova + 2 * 4096 + 96, length: 5000), in: descriptors, at: 0)
        Self.put(SGLDescriptor(type: .dataBlock, address: data.iova + 8, length: 3192), in: descriptors, at: 1)
        var write = SubmissionQueueEntry.io(.write, nsid: 1, lba: 40, blocks: 2)
        write.psdt = .sglContiguousMetadata
        write.sgl1 = SGLDescriptor(type: .lastSegment, address: descriptors.iova, length: 32)
        #expect(harness.execute(write, qid: 1).status.isSuccess)
        let stored = harness.controller.mediaContents(nsid: 1, lba: 40, count: 2) == pattern
        #expect(stored)
        #expect(harness.controller.dataPointerFaults.isEmpty)
    }

    @Test func segmentDescriptorNotLastIsInvalidSegment() throws {
        let harness = try Self.harness()
        let data = try harness.allocate(4096)
        let descriptors = try harness.allocate(4096)
        // A Segment descriptor in the middle of a Segment: only the last one may chain.
        Self.put(SGLDescriptor(type: .segment, address: descriptors.iova + 512, length: 16), in: descriptors, at: 0)
        Self.put(SGLDescriptor(type: .dataBlock, address: data.iova, length: 4096), in: descriptors, at: 1)
        let completion = harness.execute(Self.sglRead(SGLDescriptor(type: .segment, address: descriptors.iova, length: 32)), qid: 1)
        #expect(completion.status.matches(.invalidSGLSegmentDescriptor))
        #expect(harness.controller.dataPointerFaults.last?.reason == .sglSegmentMisplaced)
        #expect(harness.controller.dataPointerFaults.last?.address == descriptors.iova + 512)
    }
}
