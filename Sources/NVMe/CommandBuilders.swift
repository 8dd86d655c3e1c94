/// Builders for the commands this driver and its mock speak. They only place fields; they do
/// not set the command identifier or data pointer, which the queue pair owns.
extension SubmissionQueueEntry {
    /// Identify with the given CNS; the data pointer must address 4096 bytes.
    public static func identify(_ cns: IdentifyCNS, nsid: UInt32 = 0, controllerID: UInt16 = 0) -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.identify.rawValue
        entry.nsid = nsid
        entry.cdw10 = UInt32(cns.rawValue) | UInt32(controllerID) << 16
        return entry
    }

    /// Create I/O Completion Queue: physically contiguous (PC=1), interrupts disabled (polled).
    public static func createIOCompletionQueue(id: UInt16, entries: Int, baseIOVA: UInt64,
                                               interruptsEnabled: Bool = false, vector: UInt16 = 0) -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.createIOCompletionQueue.rawValue
        entry.dptr1 = baseIOVA
        entry.cdw10 = UInt32(id) | UInt32(entries - 1) << 16
        entry.cdw11 = 1 | (interruptsEnabled ? 1 << 1 : 0) | UInt32(vector) << 16
        return entry
    }

    /// Create I/O Submission Queue bound to completion queue `completionQueueID`; physically contiguous.
    public static func createIOSubmissionQueue(id: UInt16, entries: Int, baseIOVA: UInt64,
                                               completionQueueID: UInt16, priority: UInt8 = 0) -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.createIOSubmissionQueue.rawValue
        entry.dptr1 = baseIOVA
        entry.cdw10 = UInt32(id) | UInt32(entries - 1) << 16
        entry.cdw11 = 1 | UInt32(priority & 0b11) << 1 | UInt32(completionQueueID) << 16
        return entry
    }

    /// Delete I/O Submission Queue.
    public static func deleteIOSubmissionQueue(id: UInt16) -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.deleteIOSubmissionQueue.rawValue
        entry.cdw10 = UInt32(id)
        return entry
    }

    /// Delete I/O Completion Queue.
    public static func deleteIOCompletionQueue(id: UInt16) -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.deleteIOCompletionQueue.rawValue
        entry.cdw10 = UInt32(id)
        return entry
    }

    /// Set Features with the feature's CDW11 value.
    public static func setFeatures(_ feature: FeatureID, value: UInt32, save: Bool = false, nsid: UInt32 = 0) -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.setFeatures.rawValue
        entry.nsid = nsid
        entry.cdw10 = UInt32(feature.rawValue) | (save ? 1 << 31 : 0)
        entry.cdw11 = value
        return entry
    }

    /// Get Features; `select` is SEL (0 current, 1 default, 2 saved, 3 supported capabilities).
    public static func getFeatures(_ feature: FeatureID, select: UInt8 = 0, nsid: UInt32 = 0) -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.getFeatures.rawValue
        entry.nsid = nsid
        entry.cdw10 = UInt32(feature.rawValue) | UInt32(select & 0b111) << 8
        return entry
    }

    /// Set Features - Number of Queues: CDW11 NSQR (15:0) and NCQR (31:16), both 0's based.
    public static func setNumberOfQueues(submission: Int, completion: Int) -> Self {
        setFeatures(.numberOfQueues, value: UInt32(submission - 1) | UInt32(completion - 1) << 16)
    }

    /// Get Log Page of `bytes` bytes (a multiple of 4) from `offset`.
    public static func getLogPage(_ page: LogPageID, bytes: Int, offset: UInt64 = 0, nsid: UInt32 = 0xFFFF_FFFF) -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.getLogPage.rawValue
        entry.nsid = nsid
        let dwords = UInt32(bytes / 4 - 1)
        entry.cdw10 = UInt32(page.rawValue) | (dwords & 0xFFFF) << 16
        entry.cdw11 = dwords >> 16
        entry.cdw12 = UInt32(truncatingIfNeeded: offset)
        entry.cdw13 = UInt32(truncatingIfNeeded: offset >> 32)
        return entry
    }

    /// Abort the command `commandID` on submission queue `queueID`.
    public static func abort(queueID: UInt16, commandID: UInt16) -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.abort.rawValue
        entry.cdw10 = UInt32(queueID) | UInt32(commandID) << 16
        return entry
    }

    /// Asynchronous Event Request.
    public static func asynchronousEventRequest() -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.asynchronousEventRequest.rawValue
        return entry
    }

    /// NVM Read, Write, Compare or Verify of `blocks` blocks at `lba`.
    public static func io(_ opcode: NVMOpcode, nsid: UInt32, lba: UInt64, blocks: Int, fua: Bool = false) -> Self {
        var entry = Self()
        entry.opcode = opcode.rawValue
        entry.nsid = nsid
        entry.startingLBA = lba
        entry.blockCount = blocks
        entry.fua = fua
        return entry
    }

    /// NVM Flush of the namespace's volatile write cache (0xFFFFFFFF: every namespace).
    public static func flush(nsid: UInt32) -> Self {
        var entry = Self()
        entry.opcode = NVMOpcode.flush.rawValue
        entry.nsid = nsid
        return entry
    }

    /// NVM Write Zeroes, optionally deallocating.
    public static func writeZeroes(nsid: UInt32, lba: UInt64, blocks: Int, deallocate: Bool = false, fua: Bool = false) -> Self {
        var entry = io(.writeZeroes, nsid: nsid, lba: lba, blocks: blocks, fua: fua)
        entry.deallocate = deallocate
        return entry
    }

    /// NVM Dataset Management over `rangeCount` 16-byte ranges at the data pointer.
    public static func datasetManagement(nsid: UInt32, rangeCount: Int, attributes: UInt32) -> Self {
        var entry = Self()
        entry.opcode = NVMOpcode.datasetManagement.rawValue
        entry.nsid = nsid
        entry.cdw10 = UInt32(rangeCount - 1) & 0xFF
        entry.cdw11 = attributes
        return entry
    }
}
