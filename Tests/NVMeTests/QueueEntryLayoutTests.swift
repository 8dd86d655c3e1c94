import Testing
@testable import NVMe

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
    }

    @Test func readWriteFieldsSitInTheirDwords() {
        let entry = SubmissionQueueEntry.io(.write, nsid: 3, lba: 0x1_2345_6789, blocks: 8, fua: true)
        #expect(entry.opcode == 0x01)
        #expect(entry.nsid == 3)
        #expect(entry.cdw10 == 0x2345_6789)   // SLBA low
        #expect(entry.cdw11 == 0x1)           // SLBA high
        #expect(entry.cdw12 == 7 | 1 << 30)   // NLB 0's based, FUA bit 30
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

    @Test func completionStatusBitsMatchDwordThree() {
        // DW3: P bit 16, SC 24:17, SCT 27:25, CRD 29:28, M 30, DNR 31.
        let dw3: UInt32 = 1 << 16 | 0x80 << 17 | 0x0 << 25 | 1 << 31
        var entry = CompletionQueueEntry()
        entry.statusAndPhase = UInt16(dw3 >> 16)
        #expect(entry.phase)
        #expect(entry.status.matches(.lbaOutOfRange))
        #expect(entry.status.doNotRetry)
        #expect(!entry.status.more)
        let media = CompletionQueueEntry(sqHead: 1, sqID: 1, commandID: 9, status: CompletionStatus(.unrecoveredReadError), phase: false)
        #expect(media.statusAndPhase >> 1 & 0xFF == 0x81)
        #expect(media.statusAndPhase >> 9 & 0x7 == 2)
        #expect(!media.phase)
        #expect(CompletionStatus.success.isSuccess)
        #expect(!CompletionStatus(.invalidCommandOpcode).isSuccess)
    }

    @Test func statusDescriptionNamesTheStatus() {
        let text = CompletionStatus(.invalidFieldInCommand, doNotRetry: true).description
        #expect(text.contains("invalidFieldInCommand"))
        #expect(text.contains("SC 02h"))
        #expect(text.contains("DNR"))
    }

    @Test func sglDescriptorLayout() {
        let descriptor = SGLDescriptor(type: .lastSegment, address: 0xDEAD_0000, length: 0x30)
        #expect(MemoryLayout<SGLDescriptor>.size == 16)
        #expect(descriptor.low == 0xDEAD_0000)
        // Length bytes 8-11, identifier byte 15 with the type in bits 7:4.
        #expect(descriptor.high & 0xFFFF_FFFF == 0x30)
        #expect(descriptor.high >> 56 == 0x30)
        #expect(descriptor.type == .lastSegment)
        #expect(SGLDescriptor(type: .dataBlock, address: 0, length: 512).identifier == 0x00)
        #expect(SGLDescriptor(type: .segment, address: 0, length: 16).identifier == 0x20)
    }

    @Test func datasetManagementRangeLayout() {
        #expect(MemoryLayout<DatasetManagementRange>.size == 16)
        #expect(MemoryLayout<DatasetManagementRange>.offset(of: \.contextAttributes) == 0)
        #expect(MemoryLayout<DatasetManagementRange>.offset(of: \.blockCount) == 4)
        #expect(MemoryLayout<DatasetManagementRange>.offset(of: \.startingLBA) == 8)
    }

    @Test func opcodeValuesFromTheSpec() {
        #expect(AdminOpcode.createIOCompletionQueue.rawValue == 0x05)
        #expect(AdminOpcode.createIOSubmissionQueue.rawValue == 0x01)
        #expect(AdminOpcode.identify.rawValue == 0x06)
        #expect(AdminOpcode.setFeatures.rawValue == 0x09)
        #expect(AdminOpcode.asynchronousEventRequest.rawValue == 0x0C)
        #expect(NVMOpcode.flush.rawValue == 0x00)
        #expect(NVMOpcode.write.rawValue == 0x01)
        #expect(NVMOpcode.read.rawValue == 0x02)
        #expect(NVMOpcode.compare.rawValue == 0x05)
        #expect(NVMOpcode.writeZeroes.rawValue == 0x08)
        #expect(NVMOpcode.datasetManagement.rawValue == 0x09)
        #expect(NVMOpcode.verify.rawValue == 0x0C)
    }

    @Test func adminCommandDwords() {
        let cq = SubmissionQueueEntry.createIOCompletionQueue(id: 3, entries: 256, baseIOVA: 0x10000)
        #expect(cq.cdw10 == 3 | 255 << 16)  // QID 15:0, QSIZE 31:16 0's based
        #expect(cq.cdw11 & 1 == 1)          // PC
        #expect(cq.dptr1 == 0x10000)
        let sq = SubmissionQueueEntry.createIOSubmissionQueue(id: 3, entries: 64, baseIOVA: 0x20000, completionQueueID: 3)
        #expect(sq.cdw11 == 1 | 3 << 16)    // PC, CQID 31:16
        let queues = SubmissionQueueEntry.setNumberOfQueues(submission: 4, completion: 2)
        #expect(queues.cdw10 == 0x07)
        #expect(queues.cdw11 == 3 | 1 << 16)
        let log = SubmissionQueueEntry.getLogPage(.smartHealth, bytes: 512)
        #expect(log.cdw10 == 0x02 | 127 << 16)  // LID, NUMDL 0's based dwords
        let abort = SubmissionQueueEntry.abort(queueID: 2, commandID: 17)
        #expect(abort.cdw10 == 2 | 17 << 16)
        let identify = SubmissionQueueEntry.identify(.activeNamespaceList)
        #expect(identify.cdw10 == 0x02)
        let dsm = SubmissionQueueEntry.datasetManagement(nsid: 1, rangeCount: 4, attributes: DatasetManagementAttribute.deallocate)
        #expect(dsm.cdw10 == 3 && dsm.cdw11 == 1 << 2)
        let zeroes = SubmissionQueueEntry.writeZeroes(nsid: 1, lba: 0, blocks: 1, deallocate: true)
        #expect(zeroes.cdw12 == 1 << 25)
    }
}
