/// What translation decided for one CDB.
public enum TranslationPlan: Sendable, Equatable {
    /// Answered without the device: INQUIRY, READ CAPACITY, MODE SENSE, errors...
    case respond(SCSIResponse)
    /// Run these operations in order, then hand the results and the context to `complete`.
    /// The list is never empty.
    case execute([NVMeOperation], CompletionContext)
}

/// What `complete` needs to know about a plan once its operations have run. Opaque to the engine.
public struct CompletionContext: Sendable, Equatable {
    /// What to do with the logical unit's state when every operation succeeded.
    enum OnSuccess: Sendable, Equatable {
        case nothing
        /// MODE SELECT's Set Features succeeded: WCE, which every LUN shares, changed; D_SENSE
        /// (this LUN's own) becomes `descriptorSense` when the list set it.
        case writeCacheChanged(descriptorSense: Bool?)
        case stop
        case start
    }

    /// Number of operations in the plan.
    let operationCount: Int
    /// The task's buffer length, for the residual.
    let transferLength: Int
    /// Data-out bytes translation read itself and no operation moves (UNMAP's and MODE SELECT's
    /// parameter lists, WRITE SAME's block as Write Zeroes or Deallocate): transferred all the same.
    let dataOutConsumed: Int
    /// The compare data of COMPARE AND WRITE / VERIFY with BYTCHK=1, when translation was given
    /// it, to find the first miscompare from media data the engine read.
    let compareData: [UInt8]?
    /// Offset of the compare data in the task buffer (INFORMATION is relative to the buffer start).
    let compareOffset: Int
    /// The CDB's IMMED bit was set: GOOD was due once the CDB was validated, so a failure of the
    /// operations is a deferred error for the next command (SPC-5 4.4.1.2), not this one's status.
    let immediate: Bool
    let onSuccess: OnSuccess

    init(operationCount: Int, transferLength: Int, dataOutConsumed: Int = 0, compareData: [UInt8]? = nil,
         compareOffset: Int = 0, immediate: Bool = false, onSuccess: OnSuccess = .nothing) {
        self.operationCount = operationCount
        self.transferLength = transferLength
        self.dataOutConsumed = dataOutConsumed
        self.compareData = compareData
        self.compareOffset = compareOffset
        self.immediate = immediate
        self.onSuccess = onSuccess
    }
}
