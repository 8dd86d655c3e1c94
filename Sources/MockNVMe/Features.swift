import NVMe

/// Get Features and Set Features (NVMe Base 2.0, 5.15 and 5.27) for Arbitration, Power
/// Management, Volatile Write Cache and Number of Queues. No feature is saveable or namespace
/// specific, so SEL 010b (saved) reports the default and SEL 011b reports "changeable" only.
extension ControllerState {
    /// Get Features SEL values (CDW10 bits 10:8); 100b-111b are reserved.
    enum FeatureSelect: UInt32 {
        case current = 0b000
        case `default` = 0b001
        case saved = 0b010
        case supportedCapabilities = 0b011
    }

    /// Supported capabilities (SEL 011b) completion Dword 0: bit 2 changeable, bit 1 namespace
    /// specific, bit 0 saveable.
    static let changeableOnly: UInt32 = 0b100

    mutating func getFeatures(_ entry: SubmissionQueueEntry) throws(CommandFailure) -> UInt32 {
        guard let select = FeatureSelect(rawValue: (entry.cdw10 >> 8) & 0b111) else { throw CommandFailure(.invalidFieldInCommand) }
        let current = select == .current
        let value: UInt32
        switch FeatureID(rawValue: UInt8(truncatingIfNeeded: entry.cdw10)) {
        case .numberOfQueues?:
            let sq = current ? grantedSubmissionQueues : configuration.ioQueueCount
            let cq = current ? grantedCompletionQueues : configuration.ioQueueCount
            value = UInt32(sq - 1) | UInt32(cq - 1) << 16
        case .volatileWriteCache? where configuration.volatileWriteCache:
            value = (current ? writeCacheEnabled : true) ? 1 : 0
        case .arbitration?:
            value = current ? arbitration : 0
        case .powerManagement?:  // PS0 and no workload hint after a reset
            value = current ? powerManagement : 0
        default:  // not a feature the mock implements, or a write cache it does not have
            throw CommandFailure(.invalidFieldInCommand)
        }
        return select == .supportedCapabilities ? Self.changeableOnly : value
    }

    mutating func setFeatures(_ entry: SubmissionQueueEntry) throws(CommandFailure) -> UInt32 {
        if entry.cdw10 & (1 << 31) != 0 { throw CommandFailure(.featureIdentifierNotSaveable) }
        switch FeatureID(rawValue: UInt8(truncatingIfNeeded: entry.cdw10)) {
        case .numberOfQueues?:
            return try setNumberOfQueues(entry.cdw11)
        case .volatileWriteCache?:
            guard configuration.volatileWriteCache else { throw CommandFailure(.invalidFieldInCommand) }
            let enable = entry.cdw11 & 1 == 1
            if writeCacheEnabled && !enable {
                // Turning the cache off must not lose what it holds.
                for index in namespaces.indices { try namespaces[index].persistCache() }
            }
            writeCacheEnabled = enable
            return 0
        case .arbitration?:
            arbitration = entry.cdw11
            return 0
        case .powerManagement?:
            // PS must name a state the controller reports (NPSS); WH (bits 7:5) is kept as given.
            let state = entry.cdw11 & PowerManagementField.powerStateMask
            guard Int(state) < configuration.powerStates.count else { throw CommandFailure(.invalidFieldInCommand) }
            powerManagement = entry.cdw11 & 0xFF
            return 0
        default:
            throw CommandFailure(.invalidFieldInCommand)
        }
    }

    /// Number of Queues (NVMe Base 2.0, 5.27.1.5): issued before any I/O queue exists, else
    /// Command Sequence Error; NSQR or NCQR of FFFFh is Invalid Field. The value allocated does
    /// not change between resets: the first request is granted (at most the configured count)
    /// and later ones, until CC.EN 1 -> 0, are answered with that same allocation.
    private mutating func setNumberOfQueues(_ cdw11: UInt32) throws(CommandFailure) -> UInt32 {
        let askedSQ = Int(cdw11 & 0xFFFF) + 1
        let askedCQ = Int(cdw11 >> 16) + 1
        guard askedSQ <= 0xFFFF, askedCQ <= 0xFFFF else { throw CommandFailure(.invalidFieldInCommand) }
        let ioQueuesExist = submissionQueues.dropFirst().contains { $0 != nil } || completionQueues.dropFirst().contains { $0 != nil }
        guard !ioQueuesExist else { throw CommandFailure(.commandSequenceError) }
        if !queueCountAllocated {
            grantedSubmissionQueues = min(askedSQ, configuration.ioQueueCount)
            grantedCompletionQueues = min(askedCQ, configuration.ioQueueCount)
            queueCountAllocated = true
        }
        return UInt32(grantedSubmissionQueues - 1) | UInt32(grantedCompletionQueues - 1) << 16
    }
}
