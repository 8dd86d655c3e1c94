import DMAMapper
import Foundation
import MockNVMe
import NVMe
import Testing

@Suite("NVM commands")
struct IOCommandTests {
    static func harness(_ configure: (inout MockConfiguration) -> Void = { _ in }) throws -> Harness {
        var configuration = MockConfiguration()
        configure(&configuration)
        let harness = try Harness(configuration)
        #expect(try harness.createQueuePair(1) == (.success, .success))
        return harness
    }

    @Test(arguments: [512, 4096])
    func writeThenReadBack(blockSize: Int) throws {
        let harness = try Self.harness { $0.namespaces = [MockNamespace(blockCount: 4096, blockSize: blockSize)] }
        let (written, pattern) = try harness.writePattern(lba: 100, blocks: 2, blockSize: blockSize, seed: 9)
        #expect(written.isSuccess)
        let (status, data) = try harness.read(lba: 100, blocks: 2, blockSize: blockSize)
        #expect(status.isSuccess)
        #expect(data == pattern)
        // Never-written blocks read as zeros.
        let (_, empty) = try harness.read(lba: 0, blocks: 1, blockSize: blockSize)
        #expect(empty.allSatisfy { $0 == 0 })
    }

    @Test func bufferWithOffsetInFirstPage() throws {
        let harness = try Self.harness()
        let buffer = try harness.allocate(8192)
        let pattern = Harness.pattern(1024, seed: 3)
        pattern.withUnsafeBytes { (buffer.address + 0x600).copyMemory(from: $0.baseAddress!, byteCount: 1024) }
        // 1 KiB from offset 0x600: 0xA00 bytes in page 0, the rest in page 1 via PRP2.
        #expect(harness.execute(.io(.write, nsid: 1, lba: 10, blocks: 2), buffer: buffer, offset: 0x600, qid: 1).status.isSuccess)
        #expect(harness.controller.mediaContents(nsid: 1, lba: 10, count: 2) == pattern)
    }

    @Test func namespaceAndRangeChecks() throws {
        let harness = try Self.harness { $0.namespaces = [MockNamespace(blockCount: 1000)] }
        let buffer = try harness.allocate(8192)
        #expect(harness.execute(.io(.read, nsid: 2, lba: 0, blocks: 1), buffer: buffer, qid: 1).status.matches(.invalidNamespaceOrFormat))
        #expect(harness.execute(.io(.read, nsid: 0, lba: 0, blocks: 1), buffer: buffer, qid: 1).status.matches(.invalidNamespaceOrFormat))
        #expect(harness.execute(.io(.write, nsid: 1, lba: 999, blocks: 2), buffer: buffer, qid: 1).status.matches(.lbaOutOfRange))
        #expect(harness.execute(.io(.read, nsid: 1, lba: 1000, blocks: 1), buffer: buffer, qid: 1).status.matches(.lbaOutOfRange))
        #expect(harness.execute(.io(.read, nsid: 1, lba: .max, blocks: 2), buffer: buffer, qid: 1).status.matches(.lbaOutOfRange))
        #expect(harness.execute(.io(.read, nsid: 1, lba: 999, blocks: 1), buffer: buffer, qid: 1).status.isSuccess)
        var unknown = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 1)
        unknown.opcode = 0x7E
        #expect(harness.execute(unknown, qid: 1).status.matches(.invalidCommandOpcode))
    }

    @Test func transferAboveMDTSIsInvalidField() throws {
        // MDTS 1 with 4 KiB minimum pages: 8 KiB at most.
        let harness = try Self.harness { $0.mdts = 1 }
        let buffer = try harness.allocate(16384)
        #expect(harness.execute(.io(.read, nsid: 1, lba: 0, blocks: 16), buffer: buffer, qid: 1).status.isSuccess)
        #expect(harness.execute(.io(.read, nsid: 1, lba: 0, blocks: 17), buffer: buffer, qid: 1).status.matches(.invalidFieldInCommand))
        // Write Zeroes and Verify move no data: MDTS does not apply.
        #expect(harness.execute(.writeZeroes(nsid: 1, lba: 0, blocks: 64), qid: 1).status.isSuccess)
        #expect(harness.execute(.io(.verify, nsid: 1, lba: 0, blocks: 64), qid: 1).status.isSuccess)
    }

    @Test func writeZeroesWithAndWithoutDeallocate() throws {
        let harness = try Self.harness()
        try harness.writePattern(lba: 0, blocks: 8, seed: 4)
        #expect(harness.execute(.writeZeroes(nsid: 1, lba: 2, blocks: 2), qid: 1).status.isSuccess)
        #expect(harness.execute(.writeZeroes(nsid: 1, lba: 6, blocks: 1, deallocate: true), qid: 1).status.isSuccess)
        let media = harness.controller.mediaContents(nsid: 1, lba: 0, count: 8)
        let pattern = Harness.pattern(8 * 512, seed: 4)
        #expect(Array(media[0..<1024]) == Array(pattern[0..<1024]))
        #expect(media[1024..<2048].allSatisfy { $0 == 0 })
        #expect(Array(media[2048..<3072]) == Array(pattern[2048..<3072]))
        #expect(media[3072..<3584].allSatisfy { $0 == 0 })
        #expect(harness.execute(.writeZeroes(nsid: 1, lba: (1 << 21) - 1, blocks: 2), qid: 1).status.matches(.lbaOutOfRange))
    }

    @Test func datasetManagementDeallocates() throws {
        let harness = try Self.harness()
        try harness.writePattern(lba: 0, blocks: 16, seed: 5)
        let ranges = try harness.allocate(4096)
        ranges.address.storeBytes(of: DatasetManagementRange(blockCount: 4, startingLBA: 2), toByteOffset: 0, as: DatasetManagementRange.self)
        ranges.address.storeBytes(of: DatasetManagementRange(blockCount: 1, startingLBA: 10), toByteOffset: 16, as: DatasetManagementRange.self)
        let deallocate = try SubmissionQueueEntry.datasetManagement(nsid: 1, numberOfRanges: 2, attributes: DatasetManagementAttribute.deallocate)
        #expect(harness.execute(deallocate, buffer: ranges, qid: 1).status.isSuccess)
        let (_, data) = try harness.read(lba: 0, blocks: 16)
        let pattern = Harness.pattern(16 * 512, seed: 5)
        for block in 0..<16 {
            let slice = data[(block * 512)..<((block + 1) * 512)]
            if (2..<6).contains(block) || block == 10 {
                #expect(slice.allSatisfy { $0 == 0 }, "block \(block) should read as zeros")
            } else {
                #expect(Array(slice) == Array(pattern[(block * 512)..<((block + 1) * 512)]))
            }
        }
        // A range past the end fails the whole command.
        ranges.address.storeBytes(of: DatasetManagementRange(blockCount: 2, startingLBA: (1 << 21) - 1), toByteOffset: 0, as: DatasetManagementRange.self)
        #expect(harness.execute(deallocate, buffer: ranges, qid: 1).status.matches(.lbaOutOfRange))
    }

    @Test func compareMatchesAndFails() throws {
        let harness = try Self.harness()
        let (_, pattern) = try harness.writePattern(lba: 20, blocks: 2, seed: 6)
        let buffer = try harness.allocate(8192)
        pattern.withUnsafeBytes { buffer.address.copyMemory(from: $0.baseAddress!, byteCount: 1024) }
        #expect(harness.execute(.io(.compare, nsid: 1, lba: 20, blocks: 2), buffer: buffer, qid: 1).status.isSuccess)
        buffer.address.storeBytes(of: ~pattern[700], toByteOffset: 700, as: UInt8.self)
        let failed = harness.execute(.io(.compare, nsid: 1, lba: 20, blocks: 2), buffer: buffer, qid: 1).status
        #expect(failed.matches(.compareFailure))
        #expect(failed.type == .mediaAndDataIntegrity)
        // Unwritten blocks compare equal to zeros.
        memset(buffer.address, 0, 512)
        #expect(harness.execute(.io(.compare, nsid: 1, lba: 500, blocks: 1), buffer: buffer, qid: 1).status.isSuccess)
    }

    @Test func verifyChecksRange() throws {
        let harness = try Self.harness { $0.namespaces = [MockNamespace(blockCount: 100)] }
        #expect(harness.execute(.io(.verify, nsid: 1, lba: 0, blocks: 100), qid: 1).status.isSuccess)
        #expect(harness.execute(.io(.verify, nsid: 1, lba: 1, blocks: 100), qid: 1).status.matches(.lbaOutOfRange))
    }

    @Test func fusedCompareAndWrite() throws {
        let harness = try Self.harness()
        let (_, old) = try harness.writePattern(lba: 30, blocks: 1, seed: 7)
        let compareBuffer = try harness.allocate(4096)
        let writeBuffer = try harness.allocate(4096)
        old.withUnsafeBytes { compareBuffer.address.copyMemory(from: $0.baseAddress!, byteCount: 512) }
        let new = Harness.pattern(512, seed: 8)
        new.withUnsafeBytes { writeBuffer.address.copyMemory(from: $0.baseAddress!, byteCount: 512) }
        func pair() -> [CompletionQueueEntry] {
            var compare = SubmissionQueueEntry.io(.compare, nsid: 1, lba: 30, blocks: 1)
            compare.fuse = .first
            compare.dptr1 = compareBuffer.iova
            var write = SubmissionQueueEntry.io(.write, nsid: 1, lba: 30, blocks: 1)
            write.fuse = .second
            write.dptr1 = writeBuffer.iova
            harness.place(compare, qid: 1)
            harness.place(write, qid: 1)
            harness.ring(qid: 1)
            return harness.poll(qid: 1)
        }
        let first = pair()
        #expect(first.count == 2)
        #expect(first.allSatisfy { $0.status.isSuccess })
        #expect(harness.controller.mediaContents(nsid: 1, lba: 30, count: 1) == new)
        // The media now holds `new`, so the same compare fails and the write is not done.
        let second = pair()
        #expect(second.count == 2)
        #expect(second.first?.status.matches(.compareFailure) == true)
        #expect(second.last?.status.matches(.abortedFailedFused) == true)
        // A first command without its second.
        var lonely = SubmissionQueueEntry.io(.compare, nsid: 1, lba: 30, blocks: 1)
        lonely.fuse = .first
        lonely.dptr1 = compareBuffer.iova
        #expect(harness.execute(lonely, qid: 1).status.matches(.abortedMissingFused))
    }

    @Test func fusedWithoutSupportIsInvalidField() throws {
        let harness = try Self.harness { $0.compareAndWrite = false }
        var compare = SubmissionQueueEntry.io(.compare, nsid: 1, lba: 0, blocks: 1)
        compare.fuse = .first
        #expect(harness.execute(compare, qid: 1).status.matches(.invalidFieldInCommand))
    }

    @Test func hugeSparseNamespace() throws {
        // 66 TB of 4 KiB blocks: memory only for what is written.
        let blocks: UInt64 = 66_000_000_000_000 / 4096
        let harness = try Self.harness { $0.namespaces = [MockNamespace(blockCount: blocks, blockSize: 4096)] }
        let (status, pattern) = try harness.writePattern(lba: blocks - 1, blocks: 1, blockSize: 4096, seed: 10)
        #expect(status.isSuccess)
        #expect(try harness.read(lba: blocks - 1, blocks: 1, blockSize: 4096).1 == pattern)
        #expect(harness.controller.statistics.storedChunks == 1)
        // Deallocating the whole namespace visits only what exists.
        let ranges = try harness.allocate(4096)
        ranges.address.storeBytes(of: DatasetManagementRange(blockCount: UInt32.max, startingLBA: blocks - UInt64(UInt32.max)), toByteOffset: 0, as: DatasetManagementRange.self)
        let deallocate = try SubmissionQueueEntry.datasetManagement(nsid: 1, numberOfRanges: 1, attributes: DatasetManagementAttribute.deallocate)
        #expect(harness.execute(deallocate, buffer: ranges, qid: 1).status.isSuccess)
        #expect(try harness.read(lba: blocks - 1, blocks: 1, blockSize: 4096).1.allSatisfy { $0 == 0 })
    }

    @Test func discardDataIsANullDevice() throws {
        let harness = try Self.harness { $0.discardData = true }
        let buffer = try harness.allocate(4096)
        memset(buffer.address, 0xAB, 4096)
        for _ in 0..<200 {
            #expect(harness.execute(.io(.write, nsid: 1, lba: 0, blocks: 8), buffer: buffer, qid: 1).status.isSuccess)
            #expect(harness.execute(.io(.read, nsid: 1, lba: 0, blocks: 8), buffer: buffer, qid: 1).status.isSuccess)
        }
        #expect(harness.controller.statistics.storedChunks == 0)
        #expect(harness.controller.statistics.hostReadCommands == 200)
        // Range checks still apply.
        #expect(harness.execute(.io(.read, nsid: 1, lba: 1 << 21, blocks: 1), buffer: buffer, qid: 1).status.matches(.lbaOutOfRange))
    }

    @Test func completionQueueFullHoldsBackFetching() throws {
        let harness = try Harness()
        #expect(try harness.createQueuePair(1, entries: 4) == (.success, .success))
        // 3 commands fill a 4-entry CQ (one slot stays empty); a 4th waits in the SQ.
        for _ in 0..<3 { harness.place(.flush(nsid: 1), qid: 1) }
        harness.ring(qid: 1)
        let firstBatch = harness.poll(qid: 1, ringHead: false)
        #expect(firstBatch.count == 3)
        harness.place(.flush(nsid: 1), qid: 1)
        harness.ring(qid: 1)
        #expect(harness.poll(qid: 1, ringHead: false).isEmpty)
        harness.ringHeadDoorbell(qid: 1)
        let rest = harness.poll(qid: 1)
        #expect(rest.count == 1)
        #expect(rest.first?.sqHead == 0)
    }
}
