import Testing
import NVMe

/// Counts a field cannot carry are refused with an error naming the field, never trapped on or
/// wrapped; the hot-path block count clamps as documented.
@Suite struct CommandLimitsTests {
    /// Runs `build` and returns the error it threw, or records an issue.
    func refusal(_ build: () throws -> Void) -> CommandFieldError? {
        do {
            try build()
            Issue.record("expected a CommandFieldError")
        } catch let error as CommandFieldError {
            return error
        } catch {
            Issue.record("expected a CommandFieldError, got \(error)")
        }
        return nil
    }

    @Test func queueCreationRefusesSizesQSIZECannotHold() throws {
        for entries in [Int.min, -1, 0, 1, 65537, Int.max] {
            let cq = refusal { _ = try SubmissionQueueEntry.createIOCompletionQueue(id: 1, entryCount: entries, baseIOVA: 0) }
            #expect(cq == .outOfRange(field: "Create I/O Completion Queue QSIZE (entries)", value: entries, valid: 2...65536))
            let sq = refusal {
                _ = try SubmissionQueueEntry.createIOSubmissionQueue(id: 1, entryCount: entries, baseIOVA: 0, completionQueueID: 1)
            }
            #expect(sq?.description.contains("Create I/O Submission Queue QSIZE") == true)
            #expect(sq?.description.contains("between 2 and 65536") == true)
        }
        // The extremes of the 16-bit 0's based field.
        #expect(try SubmissionQueueEntry.createIOCompletionQueue(id: 1, entryCount: 2, baseIOVA: 0).cdw10 >> 16 == 1)
        #expect(try SubmissionQueueEntry.createIOSubmissionQueue(id: 1, entryCount: 65536, baseIOVA: 0,
                                                                 completionQueueID: 1).cdw10 >> 16 == 0xFFFF)
    }

    @Test func numberOfQueuesRefusesZeroAndTheReservedFFFFh() throws {
        for count in [0, -5, 65536, 1 << 40] {
            let error = refusal { _ = try SubmissionQueueEntry.setNumberOfQueues(submissionQueueCount: count, completionQueueCount: 1) }
            #expect(error == .outOfRange(field: "Number of Queues NSQR (submission queues)", value: count, valid: 1...65535))
            let other = refusal { _ = try SubmissionQueueEntry.setNumberOfQueues(submissionQueueCount: 1, completionQueueCount: count) }
            #expect(other?.description.contains("NCQR") == true)
        }
        let most = try SubmissionQueueEntry.setNumberOfQueues(submissionQueueCount: 65535, completionQueueCount: 65535)
        #expect(most.cdw11 == 0xFFFE_FFFE)
    }

    @Test func adminQueueAttributesRefuseSizesTwelveBitsCannotHold() throws {
        for entries in [0, 1, 4097, Int.max] {
            let error = refusal { _ = try AdminQueueAttributes(submissionEntryCount: entries, completionEntryCount: 16) }
            #expect(error == .outOfRange(field: "AQA.ASQS (admin submission queue entries)", value: entries, valid: 2...4096))
            let other = refusal { _ = try AdminQueueAttributes(submissionEntryCount: 16, completionEntryCount: entries) }
            #expect(other?.description.contains("AQA.ACQS") == true)
        }
    }

    @Test func logPageAndDatasetManagementRefuseWhatTheyCannotCarry() throws {
        for bytes in [0, -4, 1 << 34 + 4] {
            let error = refusal { _ = try SubmissionQueueEntry.getLogPage(.smartHealth, byteCount: bytes) }
            #expect(error == .outOfRange(field: "Get Log Page NUMD (bytes)", value: bytes, valid: 4...(1 << 34)))
        }
        let odd = refusal { _ = try SubmissionQueueEntry.getLogPage(.smartHealth, byteCount: 510) }
        #expect(odd == .notAMultiple(field: "Get Log Page NUMD (bytes)", value: 510, multiple: 4))
        #expect(odd?.description == "Get Log Page NUMD (bytes) 510 breaks the rule: it must be a multiple of 4")
        let whole = try SubmissionQueueEntry.getLogPage(.smartHealth, byteCount: 1 << 34)
        #expect(whole.cdw10 >> 16 == 0xFFFF && whole.cdw11 == 0xFFFF, "2^32 dwords: NUMD all ones")
        for ranges in [0, 257] {
            let error = refusal { _ = try SubmissionQueueEntry.datasetManagement(nsid: 1, numberOfRanges: ranges, attributes: 0) }
            #expect(error == .outOfRange(field: "Dataset Management NR (ranges)", value: ranges, valid: 1...256))
        }
        #expect(try SubmissionQueueEntry.datasetManagement(nsid: 1, numberOfRanges: 256, attributes: 0).cdw10 == 0xFF)
    }

    @Test func blockCountCoversTheWholeNLBFieldAndClampsBeyondIt() throws {
        var entry = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 65536)
        #expect(entry.nlb == 0xFFFF && entry.blockCount == 65536)
        entry.blockCount = 1
        #expect(entry.nlb == 0)
        // Outside 1...65536 the hot-path setter clamps instead of trapping or wrapping.
        entry.blockCount = 0
        #expect(entry.blockCount == 1, "0 would wrap to NLB FFFFh, a 65536-block transfer")
        entry.blockCount = 70_000
        #expect(entry.blockCount == 65536)
        entry.blockCount = Int.min
        #expect(entry.blockCount == 1)
        #expect(SubmissionQueueEntry.writeZeroes(nsid: 1, lba: 0, blocks: Int.max).blockCount == 65536)
        // The boundary check a caller makes before building the command.
        #expect(try CommandLimits.check(4096, in: CommandLimits.blocksPerCommand, field: "blocks") == 4096)
        #expect(throws: CommandFieldError.outOfRange(field: "blocks", value: 0, valid: 1...65536)) {
            try CommandLimits.check(0, in: CommandLimits.blocksPerCommand, field: "blocks")
        }
    }

    @Test func blockCountSetterLeavesTheOtherBitsOfCDW12Alone() {
        var entry = SubmissionQueueEntry.io(.write, nsid: 1, lba: 0, blocks: 8, fua: true)
        entry.limitedRetry = true
        entry.blockCount = 0
        #expect(entry.cdw12 == 1 << 30 | 1 << 31)
    }
}
