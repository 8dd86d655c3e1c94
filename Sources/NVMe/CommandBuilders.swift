/// Builders for the commands this driver and its mock speak. They only place fields; they do
/// not set the command identifier or data pointer, which the queue pair owns.
///
/// Builders whose counts can fall outside their field throw `CommandFieldError` (see
/// `CommandLimits`); the per-I/O builders (`io`, `writeZeroes`) stay non-throwing for the hot
/// path and clamp instead, so their callers check counts once at the API boundary.
extension SubmissionQueueEntry {
    /// Identify with the given CNS; the data pointer must address 4096 bytes.
    public static func identify(_ cns: IdentifyCNS, nsid: UInt32 = 0, controllerID: UInt16 = 0) -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.identify.rawValue
        entry.nsid = nsid
        entry.cdw10 = UInt32(cns.rawValue) | UInt32(controllerID) << 16
        return entry
    }

    /// Create I/O Completion Queue: physically contiguous (PC=1), interrupts disabled (polled) unless asked.
    /// - Throws: `CommandFieldError` when `entryCount` is outside `CommandLimits.ioQueueEntries`.
    public static func createIOCompletionQueue(id: UInt16, entryCount: Int, baseIOVA: UInt64,
                                               interruptsEnabled: Bool = false,
                                               vector: UInt16 = 0) throws(CommandFieldError) -> Self {
        let entries = try CommandLimits.check(entryCount, in: CommandLimits.ioQueueEntries,
                                              field: "Create I/O Completion Queue QSIZE (entries)")
        return queueCreation(.createIOCompletionQueue, id: id, entries: entries, baseIOVA: baseIOVA,
                             cdw11: 1 | (interruptsEnabled ? 1 << 1 : 0) | UInt32(vector) << 16)
    }

    /// Create I/O Submission Queue bound to completion queue `completionQueueID`; physically contiguous.
    /// - Throws: `CommandFieldError` when `entryCount` is outside `CommandLimits.ioQueueEntries`.
    public static func createIOSubmissionQueue(id: UInt16, entryCount: Int, baseIOVA: UInt64,
                                               completionQueueID: UInt16,
                                               priority: UInt8 = 0) throws(CommandFieldError) -> Self {
        let entries = try CommandLimits.check(entryCount, in: CommandLimits.ioQueueEntries,
                                              field: "Create I/O Submission Queue QSIZE (entries)")
        return queueCreation(.createIOSubmissionQueue, id: id, entries: entries, baseIOVA: baseIOVA,
                             cdw11: 1 | UInt32(priority & 0b11) << 1 | UInt32(completionQueueID) << 16)
    }

    /// Both queue creations: PRP1 is the ring, CDW10 is QID (15:0) and QSIZE (31:16, 0's based),
    /// CDW11 bit 0 (PC) says the ring is physically contiguous. `entries` has been checked against
    /// `CommandLimits.ioQueueEntries`, so QSIZE is neither negative nor too wide for its field.
    private static func queueCreation(_ opcode: AdminOpcode, id: UInt16, entries: Int, baseIOVA: UInt64,
                                      cdw11: UInt32) -> Self {
        var entry = Self()
        entry.opcode = opcode.rawValue
        entry.dptr1 = baseIOVA
        entry.cdw10 = UInt32(id) | UInt32(truncatingIfNeeded: entries - 1) << 16
        entry.cdw11 = cdw11
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
    /// - Throws: `CommandFieldError` when a count is outside `CommandLimits.queueCount`.
    public static func setNumberOfQueues(submissionQueueCount: Int,
                                         completionQueueCount: Int) throws(CommandFieldError) -> Self {
        let submission = try CommandLimits.check(submissionQueueCount, in: CommandLimits.queueCount,
                                                 field: "Number of Queues NSQR (submission queues)")
        let completion = try CommandLimits.check(completionQueueCount, in: CommandLimits.queueCount,
                                                 field: "Number of Queues NCQR (completion queues)")
        return setFeatures(.numberOfQueues, value: UInt32(truncatingIfNeeded: submission - 1) & 0xFFFF
            | (UInt32(truncatingIfNeeded: completion - 1) & 0xFFFF) << 16)
    }

    /// Get Log Page of `byteCount` bytes from byte `offset` of the page.
    /// - Throws: `CommandFieldError` unless `byteCount` is a multiple of 4 in `CommandLimits.logPageBytes`.
    public static func getLogPage(_ page: LogPageID, byteCount: Int, offset: UInt64 = 0,
                                  nsid: UInt32 = 0xFFFF_FFFF) throws(CommandFieldError) -> Self {
        let field = "Get Log Page NUMD (bytes)"
        let bytes = try CommandLimits.check(byteCount, in: CommandLimits.logPageBytes, field: field)
        guard bytes % 4 == 0 else { throw .notAMultiple(field: field, value: bytes, multiple: 4) }
        var entry = Self()
        entry.opcode = AdminOpcode.getLogPage.rawValue
        entry.nsid = nsid
        // NUMD, 0's based dwords: lower half in CDW10 (31:16), upper half in CDW11 (15:0).
        let dwords = UInt32(truncatingIfNeeded: bytes / 4 - 1)
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

    /// Doorbell Buffer Config (admin 7Ch): PRP1 is the page-aligned shadow doorbell buffer, PRP2
    /// the page-aligned EventIdx buffer; each holds one dword per doorbell at the register
    /// file's stride (SQ y tail at index 2y, CQ y head at 2y+1).
    public static func doorbellBufferConfig(shadowDoorbellIOVA: UInt64, eventIndexIOVA: UInt64) -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.doorbellBufferConfig.rawValue
        entry.dptr1 = shadowDoorbellIOVA
        entry.dptr2 = eventIndexIOVA
        return entry
    }

    /// Asynchronous Event Request.
    public static func asynchronousEventRequest() -> Self {
        var entry = Self()
        entry.opcode = AdminOpcode.asynchronousEventRequest.rawValue
        return entry
    }

    /// NVM Flush of the namespace's volatile write cache (0xFFFFFFFF: every namespace).
    public static func flush(nsid: UInt32) -> Self {
        var entry = Self()
        entry.opcode = NVMOpcode.flush.rawValue
        entry.nsid = nsid
        return entry
    }

    /// NVM Write Zeroes, optionally deallocating; `blocks` as for `io` (clamped, not checked).
    public static func writeZeroes(nsid: UInt32, lba: UInt64, blocks: Int, deallocate: Bool = false, fua: Bool = false) -> Self {
        var entry = io(.writeZeroes, nsid: nsid, lba: lba, blocks: blocks, fua: fua)
        entry.deallocate = deallocate
        return entry
    }

    /// NVM Dataset Management over `numberOfRanges` 16-byte ranges at the data pointer.
    /// - Throws: `CommandFieldError` when `numberOfRanges` is outside `CommandLimits.datasetManagementRanges`.
    public static func datasetManagement(nsid: UInt32, numberOfRanges: Int,
                                         attributes: UInt32) throws(CommandFieldError) -> Self {
        let count = try CommandLimits.check(numberOfRanges, in: CommandLimits.datasetManagementRanges,
                                            field: "Dataset Management NR (ranges)")
        var entry = Self()
        entry.opcode = NVMOpcode.datasetManagement.rawValue
        entry.nsid = nsid
        entry.cdw10 = UInt32(truncatingIfNeeded: count - 1) & 0xFF
        entry.cdw11 = attributes
        return entry
    }
}
