/// Status Code Type (NVMe Base 2.0, "Status Code - Status Code Type Values").
public enum StatusCodeType: UInt8, Sendable, CaseIterable {
    case generic = 0
    case commandSpecific = 1
    case mediaAndDataIntegrity = 2
    case pathRelated = 3
    case vendorSpecific = 7
}

/// Generic Command Status values (SCT 0), including the NVM command set's 80h-84h.
public enum GenericStatus: UInt8, Sendable, CaseIterable {
    case success = 0x00
    case invalidCommandOpcode = 0x01
    case invalidFieldInCommand = 0x02
    case commandIDConflict = 0x03
    case dataTransferError = 0x04
    case abortedPowerLoss = 0x05
    case internalError = 0x06
    case abortRequested = 0x07
    case abortedSQDeletion = 0x08
    case abortedFailedFused = 0x09
    case abortedMissingFused = 0x0A
    case invalidNamespaceOrFormat = 0x0B
    case commandSequenceError = 0x0C
    case invalidSGLSegmentDescriptor = 0x0D
    case invalidNumberOfSGLDescriptors = 0x0E
    case dataSGLLengthInvalid = 0x0F
    case metadataSGLLengthInvalid = 0x10
    case sglDescriptorTypeInvalid = 0x11
    case invalidUseOfCMB = 0x12
    case prpOffsetInvalid = 0x13
    case atomicWriteUnitExceeded = 0x14
    case operationDenied = 0x15
    case sglOffsetInvalid = 0x16
    case hostIdentifierInconsistentFormat = 0x18
    case keepAliveTimerExpired = 0x19
    case keepAliveTimeoutInvalid = 0x1A
    case abortedPreemptAndAbort = 0x1B
    case sanitizeFailed = 0x1C
    case sanitizeInProgress = 0x1D
    case sglDataBlockGranularityInvalid = 0x1E
    case namespaceWriteProtected = 0x20
    case commandInterrupted = 0x21
    case transientTransportError = 0x22
    case lbaOutOfRange = 0x80
    case capacityExceeded = 0x81
    case namespaceNotReady = 0x82
    case reservationConflict = 0x83
    case formatInProgress = 0x84
}

/// Command Specific Status values (SCT 1).
public enum CommandSpecificStatus: UInt8, Sendable, CaseIterable {
    case completionQueueInvalid = 0x00
    case invalidQueueIdentifier = 0x01
    case invalidQueueSize = 0x02
    case abortCommandLimitExceeded = 0x03
    case asynchronousEventRequestLimitExceeded = 0x05
    case invalidFirmwareSlot = 0x06
    case invalidFirmwareImage = 0x07
    case invalidInterruptVector = 0x08
    case invalidLogPage = 0x09
    case invalidFormat = 0x0A
    case invalidQueueDeletion = 0x0C
    case featureIdentifierNotSaveable = 0x0D
    case featureNotChangeable = 0x0E
    case featureNotNamespaceSpecific = 0x0F
    case conflictingAttributes = 0x80
    case invalidProtectionInformation = 0x81
    case attemptedWriteToReadOnlyRange = 0x82
}

/// Media and Data Integrity Errors (SCT 2).
public enum MediaStatus: UInt8, Sendable, CaseIterable {
    case writeFault = 0x80
    case unrecoveredReadError = 0x81
    case endToEndGuardCheckError = 0x82
    case endToEndApplicationTagCheckError = 0x83
    case endToEndReferenceTagCheckError = 0x84
    case compareFailure = 0x85
    case accessDenied = 0x86
    case deallocatedOrUnwrittenLogicalBlock = 0x87
}

/// Human-readable names, so every failure can say which status it was.
enum StatusNames {
    static func describe(_ status: CompletionStatus) -> String {
        let name: String
        switch status.type {
        case .generic: name = GenericStatus(rawValue: status.code).map { "\($0)" } ?? "generic status"
        case .commandSpecific: name = CommandSpecificStatus(rawValue: status.code).map { "\($0)" } ?? "command specific status"
        case .mediaAndDataIntegrity: name = MediaStatus(rawValue: status.code).map { "\($0)" } ?? "media error"
        case .pathRelated: name = "path related status"
        case .vendorSpecific: name = "vendor specific status"
        }
        let hex = String(status.code, radix: 16, uppercase: true)
        return "\(name) (SCT \(status.type.rawValue)h, SC \(hex.count < 2 ? "0" + hex : hex)h\(status.doNotRetry ? ", DNR" : ""))"
    }
}
