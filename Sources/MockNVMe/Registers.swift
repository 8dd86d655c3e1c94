import NVMe

/// The register file (NVMe Base 2.0, 3.1.4): reads and writes of BAR0, the CC.EN and CC.SHN
/// transitions, and the doorbells.
///
/// Choices the spec leaves open, made here:
/// - An invalid configuration at CC.EN 0 -> 1 (AQA sizes below 2 entries, ASQ/ACQ not aligned to
///   the memory page size, CC.MPS outside CAP.MPSMIN...MPSMAX, CC.CSS not NVM, CC.AMS not round
///   robin) sets CSTS.CFS and leaves CSTS.RDY clear; CC.EN 1 -> 0 (a reset) clears CFS again.
/// - CC.IOSQES/IOCQES are checked when an I/O queue is created (Invalid Field in Command).
/// - Both normal and abrupt shutdown persist the write cache (unless
///   `MockConfiguration.shutdownPersistsWriteCache` is off) and report SHST = complete; SHST
///   returns to normal at the next CC.EN 0 -> 1.
/// - Doorbell writes while the controller is not ready are ignored without an event (but counted
///   in `MockStatistics`, as every MMIO doorbell write is).
extension ControllerState {
    /// CC bits a host may write: EN, CSS, MPS, AMS, SHN, IOSQES, IOCQES.
    static let writableCC: UInt32 = 0x00FF_FFF1

    mutating func read32(_ offset: Int) -> UInt32 {
        if removed { return .max }
        switch offset {
        case ControllerRegister.cap: return UInt32(truncatingIfNeeded: capabilities.rawValue)
        case ControllerRegister.cap + 4: return UInt32(truncatingIfNeeded: capabilities.rawValue >> 32)
        case ControllerRegister.vs: return ControllerVersion(major: 2, minor: 0).rawValue
        case ControllerRegister.intms, ControllerRegister.intmc: return intms
        case ControllerRegister.cc: return cc.rawValue
        case ControllerRegister.csts: return csts.rawValue
        case ControllerRegister.aqa: return aqa
        case ControllerRegister.asq: return UInt32(truncatingIfNeeded: asq)
        case ControllerRegister.asq + 4: return UInt32(truncatingIfNeeded: asq >> 32)
        case ControllerRegister.acq: return UInt32(truncatingIfNeeded: acq)
        case ControllerRegister.acq + 4: return UInt32(truncatingIfNeeded: acq >> 32)
        default: return 0  // reserved registers and doorbells read as zero
        }
    }

    mutating func read64(_ offset: Int) -> UInt64 {
        if removed { return .max }
        return UInt64(read32(offset)) | UInt64(read32(offset &+ 4)) << 32
    }

    mutating func write32(_ value: UInt32, _ offset: Int) {
        if removed { return }
        switch offset {
        case ControllerRegister.intms: intms |= value
        case ControllerRegister.intmc: intms &= ~value
        case ControllerRegister.cc: writeCC(value)
        case ControllerRegister.aqa: aqa = value & 0x0FFF_0FFF
        // ASQ/ACQ bits 11:0 are reserved.
        case ControllerRegister.asq: asq = asq & 0xFFFF_FFFF_0000_0000 | UInt64(value & ~0xFFF)
        case ControllerRegister.asq + 4: asq = asq & 0xFFFF_FFFF | UInt64(value) << 32
        case ControllerRegister.acq: acq = acq & 0xFFFF_FFFF_0000_0000 | UInt64(value & ~0xFFF)
        case ControllerRegister.acq + 4: acq = acq & 0xFFFF_FFFF | UInt64(value) << 32
        case ControllerRegister.doorbellBase...: doorbell(value, offset)
        default: break  // CAP, VS, CSTS and reserved registers are read-only (NSSR: NSSRS = 0)
        }
    }

    mutating func write64(_ value: UInt64, _ offset: Int) {
        write32(UInt32(truncatingIfNeeded: value), offset)
        write32(UInt32(truncatingIfNeeded: value >> 32), offset &+ 4)
    }

    private mutating func writeCC(_ value: UInt32) {
        let old = cc
        var new = ControllerConfiguration(rawValue: value & Self.writableCC)
        if old.en && new.en {
            // CSS, MPS and AMS may only change while the controller is disabled.
            new.css = old.css
            new.mps = old.mps
            new.ams = old.ams
        }
        cc = new
        if !old.en && new.en { enable() }
        if old.en && !new.en { controllerReset() }
        if old.shn == .none && new.shn != .none { shutdown() }
    }

    private mutating func enable() {
        csts.shst = .normal
        guard !csts.cfs else { return }
        let attributes = AdminQueueAttributes(rawValue: aqa)
        let page = 4096 << Int(cc.mps)
        var problem: String?
        if cc.css != 0 { problem = "CC.CSS \(cc.css) is not the NVM command set" }
        if cc.mps < capabilities.mpsmin || cc.mps > capabilities.mpsmax { problem = "CC.MPS \(cc.mps) outside CAP.MPSMIN...MPSMAX" }
        if cc.ams != 0 { problem = "CC.AMS \(cc.ams) is not supported" }
        if attributes.asqs < 1 || attributes.acqs < 1 { problem = "AQA sizes must be at least 2 entries" }
        if asq % UInt64(page) != 0 || acq % UInt64(page) != 0 { problem = "ASQ/ACQ not aligned to the memory page size" }
        if let problem {
            fail("invalid configuration at CC.EN 0 -> 1: \(problem)")
            return
        }
        pageSize = page
        walker.pageSize = page
        // The admin completion queue always raises vector 0 (NVMe Base 2.0, 3.1.3.8: interrupts enabled, vector 0).
        completionQueues[0] = CompletionQueue(memory: QueueMemory(base: acq, entrySize: 16, entries: Int(attributes.acqs) + 1),
                                              interruptVector: 0)
        submissionQueues[0] = SubmissionQueue(completionQueueID: 0, memory: QueueMemory(base: asq, entrySize: 64, entries: Int(attributes.asqs) + 1))
        completionQueues[0]!.boundSubmissionQueues = 1
        csts.rdy = true
    }

    /// CC.EN 1 -> 0: every queue is deleted and every outstanding command dropped without a
    /// completion; features return to their defaults. Media and the write cache are untouched.
    mutating func controllerReset() {
        for index in submissionQueues.indices { submissionQueues[index] = nil }
        for index in completionQueues.indices { completionQueues[index] = nil }
        for index in parkedCompletions.indices { parkedCompletions[index].removeAll() }
        queuePages.removeAll()
        doorbellBuffers = nil
        held.removeAll()
        asyncEventRequests.removeAll()
        pendingEvents.removeAll()
        asyncEventMask = AsyncEventMask()
        scheduled.removeAll()
        outstandingAborts = 0
        csts.rdy = false
        csts.cfs = false
        grantedSubmissionQueues = configuration.ioQueueCount
        grantedCompletionQueues = configuration.ioQueueCount
        queueCountAllocated = false
        writeCacheEnabled = configuration.volatileWriteCache
        arbitration = 0
        powerManagement = 0
    }

    /// CC.SHN written: make the write cache durable (when configured to) and report the shutdown complete.
    /// A backing file that fails to take the cache is logged (by the file, with the system's
    /// reason); the shutdown still completes, as the host could do nothing else about it.
    private mutating func shutdown() {
        for index in namespaces.indices where configuration.shutdownPersistsWriteCache {
            do throws(CommandFailure) { try namespaces[index].persistCache() } catch { health.mediaErrors += 1 }
        }
        csts.shst = .complete
    }

    // MARK: Doorbells

    private mutating func doorbell(_ value: UInt32, _ offset: Int) {
        let relative = offset - ControllerRegister.doorbellBase
        let index = relative / strideBytes
        let qid = index / 2
        if relative % strideBytes == 0, qid < queueCounters.count {
            queueCounters[qid]!.countDoorbell(index)
        } else {
            strayDoorbellWrites &+= 1
        }
        guard relative % strideBytes == 0 else { return }
        guard csts.rdy, !csts.cfs else { return }
        if index % 2 == 0 {
            submissionTail(qid, value)
        } else {
            completionHead(qid, value)
        }
    }

    private mutating func submissionTail(_ qid: Int, _ value: UInt32) {
        guard qid < submissionQueues.count, let queue = submissionQueues[qid] else {
            return invalidDoorbell(info: AsyncEventInfo.invalidDoorbellRegister)
        }
        guard Int(value) < queue.size else { return invalidDoorbell(info: AsyncEventInfo.invalidDoorbellWriteValue) }
        submissionQueues[qid]!.tail = Int(value)
        if inline { processSubmissions(qid) } else { engineWork = true }
    }

    private mutating func completionHead(_ qid: Int, _ value: UInt32) {
        guard qid < completionQueues.count, let queue = completionQueues[qid] else {
            return invalidDoorbell(info: AsyncEventInfo.invalidDoorbellRegister)
        }
        let newHead = Int(value)
        guard queue.acceptsHead(newHead) else {
            return invalidDoorbell(info: AsyncEventInfo.invalidDoorbellWriteValue)
        }
        completionQueues[qid]!.head = newHead
        drainOverflow(qid)
        if inline {
            // Submission queues that stopped on a full completion queue go on.
            for sqid in submissionQueues.indices {
                if let sq = submissionQueues[sqid], sq.completionQueueID == qid, sq.head != sq.tail { processSubmissions(sqid) }
            }
        } else {
            engineWork = true
        }
    }

    private mutating func invalidDoorbell(info: UInt8) {
        errorLog.recordDoorbell(info: info, health: &health)
        raiseAsyncEvent(type: AsyncEventInfo.errorStatus, info: info, logPage: LogPageID.errorInformation.rawValue)
    }
}
