import DMAMapper
import MockNVMe
import NVMe
import Testing

/// PRP and queue pointer rules (NVMe Base 2.0, 4.1.1, 5.4, 5.5) and the reserved PSDT/FUSE
/// encodings: 13h PRP Offset Invalid, 02h Invalid Field in Command, 08h Invalid Interrupt Vector.
@Suite("PRP, queue pointer and encoding statuses")
struct PRPStatusTests {
    /// A PRP list pointer that is dword aligned but within 7 bytes of its page's end leaves no
    /// room for one 8-byte entry: PRP Offset Invalid, not a crash. At 0xFF8 the one slot is the
    /// chain pointer to the next list page, which is legal.
    @Test(arguments: [0xFF8, 0xFFC])
    func listPointerAtTheEndOfItsPage(offset: Int) throws {
        let harness = try Harness.withQueuePair { $0.namespaces = [MockNamespace(blockCount: 1 << 16, blockSize: 4096)] }
        let (_, pattern) = try harness.writePattern(lba: 0, blocks: 4, blockSize: 4096, seed: 17)
        let data = try harness.allocate(4 * 4096)
        let list = try harness.allocate(2 * 4096)
        list.address.storeBytes(of: list.iova + 4096, toByteOffset: 0xFF8, as: UInt64.self)
        for page in 1...3 {
            list.address.storeBytes(of: data.iova + UInt64(page * 4096), toByteOffset: 4096 + (page - 1) * 8, as: UInt64.self)
        }
        var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 4)
        read.dptr1 = data.iova
        read.dptr2 = list.iova + UInt64(offset)
        let status = harness.execute(read, qid: 1).status
        if offset == 0xFFC {
            #expect(status.code == 0x13 && status.type == .generic)
            #expect(harness.controller.dataPointerFaults.last?.reason == .prpListCrossesPage)
            #expect(harness.controller.dataPointerFaults.last?.address == list.iova + 0xFFC)
        } else {
            #expect(status.isSuccess)
            #expect(Array(UnsafeRawBufferPointer(start: data.address, count: 4 * 4096)) == pattern)
        }
        #expect(harness.csts.rdy && !harness.csts.cfs)
    }

    @Test func misalignedPRPEntriesRecordFaults() throws {
        let harness = try Harness.withQueuePair()
        let data = try harness.allocate(4 * 4096)
        var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 8)
        read.dptr1 = data.iova + 2
        read.dptr2 = data.iova + 4096
        let first = harness.execute(read, qid: 1)
        #expect(first.status.matches(.prpOffsetInvalid))
        let fault = try #require(harness.controller.dataPointerFaults.last)
        #expect(fault == DataPointerFault(queueID: 1, commandID: first.commandID, address: data.iova + 2, reason: .prpNotDwordAligned,
                                          status: CompletionStatus(.prpOffsetInvalid, doNotRetry: true)))
        read.dptr1 = data.iova + 3072
        read.dptr2 = data.iova + 4096 + 512
        #expect(harness.execute(read, qid: 1).status.matches(.prpOffsetInvalid))
        #expect(harness.controller.dataPointerFaults.last?.reason == .prpEntryHasOffset)
        #expect(harness.controller.dataPointerFaults.last?.address == data.iova + 4096 + 512)
        harness.controller.clearDataPointerFaults()
        #expect(harness.controller.dataPointerFaults.isEmpty)
    }

    @Test func misalignedQueueBaseAndListEntry() throws {
        var configuration = MockConfiguration()
        configuration.contiguousQueuesRequired = false
        let harness = try Harness(configuration)
        let memory = try harness.allocate(4 * 4096)
        // PC=1: the base must be page aligned.
        let unaligned = try harness.execute(.createIOCompletionQueue(id: 1, entryCount: 16, baseIOVA: memory.iova + 0x200))
        #expect(unaligned.status.matches(.prpOffsetInvalid))
        #expect(harness.controller.dataPointerFaults.last?.reason == .queueNotPageAligned)
        #expect(harness.controller.dataPointerFaults.last?.address == memory.iova + 0x200)
        // PC=0: every PRP list entry must be a page address.
        let list = try harness.allocate(4096)
        list.address.storeBytes(of: memory.iova + 0x100, toByteOffset: 0, as: UInt64.self)
        var paged = try SubmissionQueueEntry.createIOCompletionQueue(id: 1, entryCount: 16, baseIOVA: list.iova)
        paged.cdw11 &= ~1
        #expect(harness.execute(paged).status.matches(.prpOffsetInvalid))
        #expect(harness.controller.dataPointerFaults.last?.address == memory.iova + 0x100)
        list.address.storeBytes(of: memory.iova, toByteOffset: 0, as: UInt64.self)
        #expect(harness.execute(paged).status.isSuccess)
        // The SQ's list entry too.
        list.address.storeBytes(of: memory.iova + 4096 + 64, toByteOffset: 0, as: UInt64.self)
        var sq = try SubmissionQueueEntry.createIOSubmissionQueue(id: 1, entryCount: 16, baseIOVA: list.iova, completionQueueID: 1)
        sq.cdw11 &= ~1
        #expect(harness.execute(sq).status.matches(.prpOffsetInvalid))
    }

    @Test func invalidInterruptVector() throws {
        let harness = try Harness()
        let memory = try harness.allocate(4096)
        // One vector (0) exists: IEN = 1 with IV = 1 is Invalid Interrupt Vector (SCT 1h, SC 08h).
        let completion = try harness.execute(.createIOCompletionQueue(id: 1, entryCount: 16, baseIOVA: memory.iova, interruptsEnabled: true, vector: 1))
        #expect(completion.status.type == .commandSpecific && completion.status.code == 0x08)
        #expect(try harness.execute(.createIOCompletionQueue(id: 1, entryCount: 16, baseIOVA: memory.iova, interruptsEnabled: true, vector: 0)).status.isSuccess)
    }

    /// CC.MPS = 1: PRP arithmetic in 8 KiB pages. 12 KiB from 4 KiB into a page: PRP1 covers
    /// 4 KiB, PRP2 the next 8 KiB page directly (with 4 KiB pages this would need a list).
    @Test func eightKiBMemoryPages() throws {
        let harness = try Harness(enable: false, pageSize: 8192)
        harness.enable(mps: 1)
        #expect(harness.csts.rdy)
        try harness.createQueuePair(1)
        let pattern = Harness.pattern(12288, seed: 31)
        let source = try harness.allocate(2 * 8192)
        pattern.withUnsafeBytes { source.address.copyMemory(from: $0.baseAddress!, byteCount: 12288) }
        var write = SubmissionQueueEntry.io(.write, nsid: 1, lba: 0, blocks: 24)
        write.dptr1 = source.iova
        write.dptr2 = source.iova + 8192  // 8 KiB from PRP1's page, 4 KiB from PRP2's
        #expect(harness.execute(write, qid: 1).status.isSuccess)
        let stored = harness.controller.mediaContents(nsid: 1, lba: 0, count: 24) == pattern
        #expect(stored)
        let data = try harness.allocate(2 * 8192)
        var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 24)
        read.dptr1 = data.iova + 4096
        read.dptr2 = data.iova + 8192
        #expect(harness.execute(read, qid: 1).status.isSuccess)
        let same = Array(UnsafeRawBufferPointer(start: data.address + 4096, count: 12288)) == pattern
        #expect(same)
        // A 4 KiB offset is a page offset now: PRP2 = page + 4 KiB is PRP Offset Invalid.
        read.dptr1 = data.iova
        read.dptr2 = data.iova + 8192 + 4096
        read.blockCount = 20
        #expect(harness.execute(read, qid: 1).status.matches(.prpOffsetInvalid))
    }

    /// PSDT 11b and FUSE 11b are reserved: Invalid Field in Command (02h), even for commands
    /// that move no data.
    @Test func reservedPSDTAndFuse() throws {
        let harness = try Harness.withQueuePair()
        let buffer = try harness.allocate(4096)
        for var entry in [SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 1), .flush(nsid: 1), .writeZeroes(nsid: 1, lba: 0, blocks: 1),
                          .io(.verify, nsid: 1, lba: 0, blocks: 1)] {
            entry.dptr1 = buffer.iova
            entry.cdw0 |= 0b11 << 14
            #expect(harness.execute(entry, qid: 1).status.matches(.invalidFieldInCommand), "PSDT 11b, opcode \(entry.opcode)")
            entry.cdw0 &= ~(0b11 << 14)
            entry.cdw0 |= 0b11 << 8
            #expect(harness.execute(entry, qid: 1).status.matches(.invalidFieldInCommand), "FUSE 11b, opcode \(entry.opcode)")
        }
        var admin = SubmissionQueueEntry.getFeatures(.arbitration)
        admin.cdw0 |= 0b11 << 14
        #expect(harness.execute(admin).status.matches(.invalidFieldInCommand))
    }
}
