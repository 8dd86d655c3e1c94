import NVMe

/// Asynchronous event completion fields (NVMe Base 2.0, "Asynchronous Event Request - Completion Queue Entry Dword 0").
enum AsyncEventInfo {
    /// Asynchronous Event Type: Error status.
    static let errorStatus: UInt8 = 0
    /// Error status information: Write to Invalid Doorbell Register.
    static let invalidDoorbellRegister: UInt8 = 0x00
    /// Error status information: Invalid Doorbell Write Value.
    static let invalidDoorbellWriteValue: UInt8 = 0x01
}

/// Event types reported and not yet cleared (NVMe Base 2.0, 5.2, "Asynchronous Event Request
/// command"): once an event of a type is reported, later events of that type stay masked until
/// the host reads the log page the report named with Get Log Page and RAE cleared to 0.
struct AsyncEventMask {
    /// Bit n: events of type n are masked.
    private(set) var maskedTypes: UInt8 = 0
    /// Byte n: the log page whose reading unmasks type n.
    private var clearingPages: UInt64 = 0

    func isMasked(type: UInt8) -> Bool { maskedTypes & (1 << (type & 7)) != 0 }

    mutating func mask(type: UInt8, logPage: UInt8) {
        let shift = UInt64(type & 7) * 8
        maskedTypes |= 1 << (type & 7)
        clearingPages = clearingPages & ~(0xFF << shift) | UInt64(logPage) << shift
    }

    /// Unmasks every type reported with `logPage`.
    mutating func clear(logPage: UInt8) {
        for type in UInt8(0)..<8 where isMasked(type: type) && UInt8(truncatingIfNeeded: clearingPages >> (UInt64(type) * 8)) == logPage {
            maskedTypes &= ~(1 << type)
        }
    }
}

extension ControllerState {
    /// Queues the event (once: an identical event already waiting is not repeated) and reports
    /// what it can to outstanding Asynchronous Event Requests.
    mutating func raiseAsyncEvent(type: UInt8, info: UInt8, logPage: UInt8) {
        let dw0 = UInt32(type & 0b111) | UInt32(info) << 8 | UInt32(logPage) << 16
        if !pendingEvents.contains(dw0) { pendingEvents.append(dw0) }
        deliverAsyncEvents()
    }

    /// Completes outstanding Asynchronous Event Requests with waiting events of unmasked types,
    /// oldest first, masking each type as it is reported.
    mutating func deliverAsyncEvents() {
        while !asyncEventRequests.isEmpty, let dw0 = takeUnmaskedEvent() {
            let commandID = asyncEventRequests.removeFirst()
            finish(PendingCompletion(sqid: 0, commandID: commandID, status: .success, dw0: dw0))
        }
    }

    /// The oldest waiting event whose type is not masked, removed and its type masked.
    private mutating func takeUnmaskedEvent() -> UInt32? {
        guard let index = pendingEvents.firstIndex(where: { !asyncEventMask.isMasked(type: UInt8($0 & 0b111)) }) else { return nil }
        let dw0 = pendingEvents.remove(at: index)
        asyncEventMask.mask(type: UInt8(dw0 & 0b111), logPage: UInt8(truncatingIfNeeded: dw0 >> 16))
        return dw0
    }

    /// Asynchronous Event Request: completes at once with a waiting event, else is held until
    /// one; AERL + 1 may be outstanding.
    mutating func asynchronousEventRequest(_ entry: SubmissionQueueEntry) -> Disposition {
        if let dw0 = takeUnmaskedEvent() { return .done(.success, dw0) }
        guard asyncEventRequests.count < Int(configuration.aerl) + 1 else {
            return .done(CompletionStatus(.asynchronousEventRequestLimitExceeded), 0)
        }
        asyncEventRequests.append(entry.commandID)
        return .held
    }
}
