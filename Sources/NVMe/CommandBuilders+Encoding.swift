/// The field placement behind the count-carrying builders, shared by the throwing builders and
/// the deprecated clamping ones. Every count here is already inside its `CommandLimits` range.
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

/// The builders' first, non-throwing forms, kept so existing callers compile. They encode every
/// count their field can hold exactly as before - including the values the specification calls
/// invalid, which device-model tests send on purpose - and no longer trap on the rest: a queue
/// size or count the field cannot hold becomes the field's invalid value (QSIZE 0h, AQA 0h,
/// NSQR/NCQR FFFFh), which a controller refuses; a log page length or range count is clamped.
/// Move to the throwing forms, which refuse such counts before anything reaches the device.
extension SubmissionQueueEntry {
    /// Create I/O Completion Queue; `entries` outside 1...65536 is sent as QSIZE 0h (invalid).
    @available(*, deprecated, renamed: "createIOCompletionQueue(id:entryCount:baseIOVA:interruptsEnabled:vector:)",
               message: "throws on an entry count the queue cannot have")
    public static func createIOCompletionQueue(id: UInt16, entries: Int, baseIOVA: UInt64,
                                               interruptsEnabled: Bool = false, vector: UInt16 = 0) -> Self {
        completionQueueCreation(id: id, entries: CommandLimits.legacy(entries, fieldHolds: 1...65536, otherwise: 1),
                                baseIOVA: baseIOVA, interruptsEnabled: interruptsEnabled, vector: vector)
    }

    /// Create I/O Submission Queue; `entries` outside 1...65536 is sent as QSIZE 0h (invalid).
    @available(*, deprecated, renamed: "createIOSubmissionQueue(id:entryCount:baseIOVA:completionQueueID:priority:)",
               message: "throws on an entry count the queue cannot have")
    public static func createIOSubmissionQueue(id: UInt16, entries: Int, baseIOVA: UInt64,
                                               completionQueueID: UInt16, priority: UInt8 = 0) -> Self {
        submissionQueueCreation(id: id, entries: CommandLimits.legacy(entries, fieldHolds: 1...65536, otherwise: 1),
                                baseIOVA: baseIOVA, completionQueueID: completionQueueID, priority: priority)
    }

    /// Set Features - Number of Queues; a count outside 1...65536 is sent as FFFFh (invalid).
    @available(*, deprecated, renamed: "setNumberOfQueues(submissionQueueCount:completionQueueCount:)",
               message: "throws on a queue count the field cannot carry")
    public static func setNumberOfQueues(submission: Int, completion: Int) -> Self {
        queueCountRequest(submission: CommandLimits.legacy(submission, fieldHolds: 1...65536, otherwise: 65536),
                          completion: CommandLimits.legacy(completion, fieldHolds: 1...65536, otherwise: 65536))
    }

    /// Get Log Page; `bytes` is rounded down to whole dwords and clamped to `CommandLimits.logPageBytes`.
    @available(*, deprecated, renamed: "getLogPage(_:byteCount:offset:nsid:)",
               message: "throws on a length the field cannot carry")
    public static func getLogPage(_ page: LogPageID, bytes: Int, offset: UInt64 = 0, nsid: UInt32 = 0xFFFF_FFFF) -> Self {
        logPageRequest(page, bytes: CommandLimits.clamp(bytes, to: CommandLimits.logPageBytes) & ~3,
                       offset: offset, nsid: nsid)
    }

    /// Dataset Management; `rangeCount` is clamped to `CommandLimits.datasetManagementRanges`.
    @available(*, deprecated, renamed: "datasetManagement(nsid:numberOfRanges:attributes:)",
               message: "throws on a range count the field cannot carry")
    public static func datasetManagement(nsid: UInt32, rangeCount: Int, attributes: UInt32) -> Self {
        rangeRequest(nsid: nsid, ranges: CommandLimits.clamp(rangeCount, to: CommandLimits.datasetManagementRanges),
                     attributes: attributes)
    }
}
