/// The field placement behind the count-carrying builders. The builders check every count
/// against its `CommandLimits` range before calling these, so none is 0 or too wide for its field.
extension SubmissionQueueEntry {
    static func completionQueueCreation(id: UInt16, entries: Int, baseIOVA: UInt64,
                                        interruptsEnabled: Bool, vector: UInt16) -> Self {
        queueCreation(.createIOCompletionQueue, id: id, entries: entries, baseIOVA: baseIOVA,
                      cdw11: 1 | (interruptsEnabled ? 1 << 1 : 0) | UInt32(vector) << 16)
    }

    static func submissionQueueCreation(id: UInt16, entries: Int, baseIOVA: UInt64,
                                        completionQueueID: UInt16, priority: UInt8) -> Self {
        queueCreation(.createIOSubmissionQueue, id: id, entries: entries, baseIOVA: baseIOVA,
                      cdw11: 1 | UInt32(priority & 0b11) << 1 | UInt32(completionQueueID) << 16)
    }

    /// Both queue creations: PRP1 is the ring, CDW10 is QID (15:0) and QSIZE (31:16, 0's based),
    /// CDW11 bit 0 (PC) says the ring is physically contiguous.
    private static func queueCreation(_ opcode: AdminOpcode, id: UInt16, entries: Int, baseIOVA: UInt64,
                                      cdw11: UInt32) -> Self {
        var entry = Self()
        entry.opcode = opcode.rawValue
        entry.dptr1 = baseIOVA
        entry.cdw10 = UInt32(id) | UInt32(truncatingIfNeeded: entries - 1) << 16
        entry.cdw11 = cdw11
        return entry
    }

    static func queueCountRequest(submission: Int, completion: Int) -> Self {
        setFeatures(.numberOfQueues, value: UInt32(truncatingIfNeeded: submission - 1) & 0xFFFF
            | (UInt32(truncatingIfNeeded: completion - 1) & 0xFFFF) << 16)
    }

    static func logPageRequest(_ page: LogPageID, bytes: Int, offset: UInt64, nsid: UInt32) -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.getLogPage.rawValue
        entry.nsid = nsid
        let dwords = UInt32(truncatingIfNeeded: bytes / 4 - 1)
        entry.cdw10 = UInt32(page.rawValue) | (dwords & 0xFFFF) << 16
        entry.cdw11 = dwords >> 16
        entry.cdw12 = UInt32(truncatingIfNeeded: offset)
        entry.cdw13 = UInt32(truncatingIfNeeded: offset >> 32)
        return entry
    }

    static func rangeRequest(nsid: UInt32, ranges: Int, attributes: UInt32) -> Self {
        var entry = Self()
        entry.opcode = NVMOpcode.datasetManagement.rawValue
        entry.nsid = nsid
        entry.cdw10 = UInt32(truncatingIfNeeded: ranges - 1) & 0xFF
        entry.cdw11 = attributes
        return entry
    }
}
