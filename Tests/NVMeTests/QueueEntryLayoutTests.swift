import Testing
import NVMe

/// Offsets from NVMe Base 2.0 "Common Command Format" and "Common Completion Queue Entry Layout".
@Suite struct QueueEntryLayoutTests {
    @Test func submissionEntryIsSixtyFourBytesWithSpecOffsets() {
        typealias E = SubmissionQueueEntry
        #expect(MemoryLayout<E>.size == 64)
        #expect(MemoryLayout<E>.stride == 64)
        #expect(MemoryLayout<E>.offset(of: \.cdw0) == 0)
        #expect(MemoryLayout<E>.offset(of: \.nsid) == 4)
        #expect(MemoryLayout<E>.offset(of: \.cdw2) == 8)
        #expect(MemoryLayout<E>.offset(of: \.cdw3) == 12)
        #expect(MemoryLayout<E>.offset(of: \.mptr) == 16)
        #expect(MemoryLayout<E>.offset(of: \.dptr1) == 24)
        #expect(MemoryLayout<E>.offset(of: \.dptr2) == 32)
        #expect(MemoryLayout<E>.offset(of: \.cdw10) == 40)
        #expect(MemoryLayout<E>.offset(of: \.cdw11) == 44)
        #expect(MemoryLayout<E>.offset(of: \.cdw12) == 48)
        #expect(MemoryLayout<E>.offset(of: \.cdw13) == 52)
        #expect(MemoryLayout<E>.offset(of: \.cdw14) == 56)
        #expect(MemoryLayout<E>.offset(of: \.cdw15) == 60)
    }

    @Test func commandDwordZeroFields() {
        var entry = SubmissionQueueEntry()
        entry.opcode = 0x02
        entry.fuse = .second
        entry.psdt = .sglContiguousMetadata
        entry.commandID = 0xBEEF
        // OPC bits 7:0, FUSE 9:8, PSDT 15:14, CID 31:16.
        #expect(entry.cdw0 == 0xBEEF_0000 | 0b01 << 14 | 0b10 << 8 | 0x02)
        #expect(entry.declaredFuse == .second)
        #expect(entry.declaredDataPointer == .sglContiguousMetadata)
    }

    @Test func reservedFuseAndPSDTAreNotDeclaredValues() {
        var entry = SubmissionQueueEntry()
        entry.cdw0 = 0b11 << 14 | 0b11 << 8
        // The plain getters fold the reserved 11b into the default; the declared ones do not.
        #expect(entry.fuse == .normal && entry.psdt == .prp)
        #expect(entry.declaredFuse == nil && entry.declaredDataPointer == nil)
    }

    @Test func readWriteFieldsSitInTheirDwords() {
        let entry = SubmissionQueueEntry.io(.write, nsid: 3, lba: 0x1_2345_6789, blocks: 8, fua: true)
        #expect(entry.opcode == 0x01)
        #expect(entry.nsid == 3)
        #expect(entry.cdw10 == 0x2345_6789)   // SLBA low
        #expect(entry.cdw11 == 0x1)           // SLBA high
        #expect(entry.cdw12 == 7 | 1 << 30)   // NLB 0's based, FUA bit 30
        var retry = entry
        retry.limitedRetry = true
        #expect(retry.cdw12 == 7 | 1 << 30 | 1 << 31)  // LR bit 31
    }

    @Test func completionEntryIsSixteenBytesWithSpecOffsets() {
        typealias C = CompletionQueueEntry
        #expect(MemoryLayout<C>.size == 16)
        #expect(MemoryLayout<C>.offset(of: \.dw0) == 0)
        #expect(MemoryLayout<C>.offset(of: \.dw1) == 4)
        #expect(MemoryLayout<C>.offset(of: \.sqHead) == 8)
        #expect(MemoryLayout<C>.offset(of: \.sqID) == 10)
        #expect(MemoryLayout<C>.offset(of: \.commandID) == 12)
        #expect(MemoryLayout<C>.offset(of: \.statusAndPhase) == 14)
    }

    @Test func statusDescriptionNamesTheStatus() {
        let text = CompletionStatus(.invalidFieldInCommand, doNotRetry: true).description
        #expect(text.contains("invalidFieldInCommand"))
        #expect(text.contains("SC 02h"))
        #expect(text.contains("DNR"))
    }

    @Test func sglDescriptorBytesSitWhereTheSpecPutsThem() {
        // Bytes 7:0 address, 11:8 length, 14:12 reserved, 15 identifier (type 7:4, subtype 3:0).
        let descriptor = SGLDescriptor(type: .lastSegment, subtype: 0x1, address: 0x1122_3344_5566_7788, length: 0x99AA_BBCC)
        #expect(MemoryLayout<SGLDescriptor>.size == 16)
        let bytes = withUnsafeBytes(of: descriptor) { Array($0) }
        #expect(bytes[0..<8] == [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11])
        #expect(bytes[8..<12] == [0xCC, 0xBB, 0xAA, 0x99])
        #expect(bytes[12..<15] == [0, 0, 0])
        #expect(bytes[15] == 0x31)
        #expect(descriptor.type == .lastSegment && descriptor.subtype == 1)
        #expect(descriptor.address == 0x1122_3344_5566_7788 && descriptor.length == 0x99AA_BBCC)
        // In a command it fills the data pointer, bytes 24-39 of the entry.
        var entry = SubmissionQueueEntry()
        entry.psdt = .sglContiguousMetadata
        entry.sgl1 = descriptor
        let command = withUnsafeBytes(of: entry) { Array($0) }
        #expect(Array(command[24..<40]) == bytes)
        #expect(command[1] >> 6 == 0b01, "PSDT, CDW0 bits 15:14")
        // A reserved type decodes as nil rather than as a wrong type.
        #expect(SGLDescriptor(low: 0, high: 0xF0 << 56).type == nil)
    }

    @Test func prpListPageHoldsOneEightByteEntryPerEightBytes() {
        // A PRP entry is a 64-bit address; a list page of CC.MPS bytes holds MPS / 8 of them.
        #expect(PRP.entrySize == 8)
        #expect(PRP.entriesPerListPage(pageSize: 4096) == 512)
        #expect(PRP.entriesPerListPage(pageSize: 8192) == 1024)
        #expect(PRP.entriesPerListPage(pageSize: 64 * 1024) == 8192)
    }

    @Test func datasetManagementRangeLayout() {
        #expect(MemoryLayout<DatasetManagementRange>.size == 16)
        #expect(MemoryLayout<DatasetManagementRange>.offset(of: \.contextAttributes) == 0)
        #expect(MemoryLayout<DatasetManagementRange>.offset(of: \.blockCount) == 4)
        #expect(MemoryLayout<DatasetManagementRange>.offset(of: \.startingLBA) == 8)
    }

    @Test func adminCommandDwords() throws {
        let cq = try SubmissionQueueEntry.createIOCompletionQueue(id: 3, entryCount: 256, baseIOVA: 0x10000,
                                                                  interruptsEnabled: true, vector: 5)
        #expect(cq.opcode == 0x05)
        #expect(cq.cdw10 == 3 | 255 << 16)            // QID 15:0, QSIZE 31:16 0's based
        #expect(cq.cdw11 == 1 | 1 << 1 | 5 << 16)     // PC 0, IEN 1, IV 31:16
        #expect(cq.dptr1 == 0x10000)
        let sq = try SubmissionQueueEntry.createIOSubmissionQueue(id: 3, entryCount: 64, baseIOVA: 0x20000,
                                                                  completionQueueID: 3, priority: 2)
        #expect(sq.opcode == 0x01)
        #expect(sq.cdw10 == 3 | 63 << 16)
        #expect(sq.cdw11 == 1 | 2 << 1 | 3 << 16)     // PC 0, QPRIO 2:1, CQID 31:16
        let queues = try SubmissionQueueEntry.setNumberOfQueues(submissionQueueCount: 4, completionQueueCount: 2)
        #expect(queues.opcode == 0x09 && queues.cdw10 == 0x07)
        #expect(queues.cdw11 == 3 | 1 << 16)          // NSQR 15:0, NCQR 31:16, 0's based
        let log = try SubmissionQueueEntry.getLogPage(.smartHealth, byteCount: 512, offset: 0x1_0000_0200)
        #expect(log.opcode == 0x02)
        #expect(log.cdw10 == 0x02 | 127 << 16)        // LID 7:0, NUMDL 31:16 (0's based dwords)
        #expect(log.cdw11 == 0)                       // NUMDU
        #expect(log.cdw12 == 0x200 && log.cdw13 == 1) // LPOL, LPOU
        let big = try SubmissionQueueEntry.getLogPage(.errorInformation, byteCount: 4 << 20)
        #expect(big.cdw10 >> 16 == 0xFFFF && big.cdw11 == 0xF)  // 2^20 - 1 dwords across NUMDL and NUMDU
        let abort = SubmissionQueueEntry.abort(queueID: 2, commandID: 17)
        #expect(abort.opcode == 0x08 && abort.cdw10 == 2 | 17 << 16)  // SQID 15:0, CID 31:16
        let identify = SubmissionQueueEntry.identify(.activeNamespaceList, controllerID: 9)
        #expect(identify.opcode == 0x06 && identify.cdw10 == 0x02 | 9 << 16)  // CNS 7:0, CNTID 31:16
        let features = SubmissionQueueEntry.getFeatures(.volatileWriteCache, select: 3)
        #expect(features.opcode == 0x0A && features.cdw10 == 0x06 | 3 << 8)  // FID 7:0, SEL 10:8
        let save = SubmissionQueueEntry.setFeatures(.volatileWriteCache, value: 1, save: true)
        #expect(save.cdw10 == 0x06 | 1 << 31 && save.cdw11 == 1)            // SV bit 31
        #expect(SubmissionQueueEntry.deleteIOSubmissionQueue(id: 4).opcode == 0x00)
        #expect(SubmissionQueueEntry.deleteIOCompletionQueue(id: 4).cdw10 == 4)
        #expect(SubmissionQueueEntry.deleteIOCompletionQueue(id: 4).opcode == 0x04)
        let dsm = try SubmissionQueueEntry.datasetManagement(nsid: 1, numberOfRanges: 4,
                                                             attributes: DatasetManagementAttribute.deallocate)
        #expect(dsm.opcode == 0x09 && dsm.cdw10 == 3 && dsm.cdw11 == 1 << 2)  // NR 0's based, AD bit 2
        let zeroes = SubmissionQueueEntry.writeZeroes(nsid: 1, lba: 0, blocks: 1, deallocate: true)
        #expect(zeroes.opcode == 0x08 && zeroes.cdw12 == 1 << 25)             // DEAC bit 25
    }
}
