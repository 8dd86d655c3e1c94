import HexFormat

/// Status Code Type (NVMe Base 2.0, "Status Code - Status Code Type Values").
public enum StatusCodeType: UInt8, Sendable, CaseIterable {
    /// Generic Command Status, 0.
    case generic = 0
    /// Command Specific Status, 1.
    case commandSpecific = 1
    /// Media and Data Integrity Errors, 2.
    case mediaAndDataIntegrity = 2
    /// Path Related Status, 3.
    case pathRelated = 3
    /// Vendor Specific, 7.
    case vendorSpecific = 7
}

/// Generic Command Status values (SCT 0), including the NVM command set's 80h-84h.
public enum GenericStatus: UInt8, Sendable, CaseIterable {
    /// Successful Completion, 00h.
    case success = 0x00
    /// Invalid Command Opcode, 01h.
    case invalidCommandOpcode = 0x01
    /// Invalid Field in Command, 02h.
    case invalidFieldInCommand = 0x02
    /// Command ID Conflict, 03h.
    case commandIDConflict = 0x03
    /// Data Transfer Error, 04h.
    case dataTransferError = 0x04
    /// Commands Aborted due to Power Loss Notification, 05h.
    case abortedPowerLoss = 0x05
    /// Internal Error, 06h.
    case internalError = 0x06
    /// Command Abort Requested, 07h.
    case abortRequested = 0x07
    /// Command Aborted due to SQ Deletion, 08h.
    case abortedSQDeletion = 0x08
    /// Command Aborted due to Failed Fused Command, 09h.
    case abortedFailedFused = 0x09
    /// Command Aborted due to Missing Fused Command, 0Ah.
    case abortedMissingFused = 0x0A
    /// Invalid Namespace or Format, 0Bh.
    case invalidNamespaceOrFormat = 0x0B
    /// Command Sequence Error, 0Ch.
    case commandSequenceError = 0x0C
    /// Invalid SGL Segment Descriptor, 0Dh.
    case invalidSGLSegmentDescriptor = 0x0D
    /// Invalid Number of SGL Descriptors, 0Eh.
    case invalidNumberOfSGLDescriptors = 0x0E
    /// Data SGL Length Invalid, 0Fh.
    case dataSGLLengthInvalid = 0x0F
    /// Metadata SGL Length Invalid, 10h.
    case metadataSGLLengthInvalid = 0x10
    /// SGL Descriptor Type Invalid, 11h.
    case sglDescriptorTypeInvalid = 0x11
    /// Invalid Use of Controller Memory Buffer, 12h.
    case invalidUseOfCMB = 0x12
    /// PRP Offset Invalid, 13h.
    case prpOffsetInvalid = 0x13
    /// Atomic Write Unit Exceeded, 14h.
    case atomicWriteUnitExceeded = 0x14
    /// Operation Denied, 15h.
    case operationDenied = 0x15
    /// SGL Offset Invalid, 16h.
    case sglOffsetInvalid = 0x16
    /// Host Identifier Inconsistent Format, 18h.
    case hostIdentifierInconsistentFormat = 0x18
    /// Keep Alive Timer Expired, 19h.
    case keepAliveTimerExpired = 0x19
    /// Keep Alive Timeout Invalid, 1Ah.
    case keepAliveTimeoutInvalid = 0x1A
    /// Command Aborted due to Preempt and Abort, 1Bh.
    case abortedPreemptAndAbort = 0x1B
    /// Sanitize Failed, 1Ch.
    case sanitizeFailed = 0x1C
    /// Sanitize In Progress, 1Dh.
    case sanitizeInProgress = 0x1D
    /// SGL Data Block Granularity Invalid, 1Eh.
    case sglDataBlockGranularityInvalid = 0x1E
    /// Namespace is Write Protected, 20h.
    case namespaceWriteProtected = 0x20
    /// Command Interrupted, 21h.
    case commandInterrupted = 0x21
    /// Transient Transport Error, 22h.
    case transientTransportError = 0x22
    /// LBA Out of Range (NVM), 80h.
    case lbaOutOfRange = 0x80
    /// Capacity Exceeded (NVM), 81h.
    case capacityExceeded = 0x81
    /// Namespace Not Ready (NVM), 82h.
    case namespaceNotReady = 0x82
    /// Reservation Conflict (NVM), 83h.
    case reservationConflict = 0x83
    /// Format In Progress (NVM), 84h.
    case formatInProgress = 0x84
}

/// Command Specific Status values (SCT 1).
public enum CommandSpecificStatus: UInt8, Sendable, CaseIterable {
    /// Completion Queue Invalid, 00h.
    case completionQueueInvalid = 0x00
    /// Invalid Queue Identifier, 01h.
    case invalidQueueIdentifier = 0x01
    /// Invalid Queue Size, 02h.
    case invalidQueueSize = 0x02
    /// Abort Command Limit Exceeded, 03h.
    case abortCommandLimitExceeded = 0x03
    /// Asynchronous Event Request Limit Exceeded, 05h.
    case asynchronousEventRequestLimitExceeded = 0x05
    /// Invalid Firmware Slot, 06h.
    case invalidFirmwareSlot = 0x06
    /// Invalid Firmware Image, 07h.
    case invalidFirmwareImage = 0x07
    /// Invalid Interrupt Vector, 08h.
    case invalidInterruptVector = 0x08
    /// Invalid Log Page, 09h.
    case invalidLogPage = 0x09
    /// Invalid Format, 0Ah.
    case invalidFormat = 0x0A
    /// Invalid Queue Deletion, 0Ch.
    case invalidQueueDeletion = 0x0C
    /// Feature Identifier Not Saveable, 0Dh.
    case featureIdentifierNotSaveable = 0x0D
    /// Feature Not Changeable, 0Eh.
    case featureNotChangeable = 0x0E
    /// Feature Not Namespace Specific, 0Fh.
    case featureNotNamespaceSpecific = 0x0F
    /// Conflicting Attributes (NVM), 80h.
    case conflictingAttributes = 0x80
    /// Invalid Protection Information (NVM), 81h.
    case invalidProtectionInformation = 0x81
    /// Attempted Write to Read Only Range (NVM), 82h.
    case attemptedWriteToReadOnlyRange = 0x82
}

/// Media and Data Integrity Errors (SCT 2).
public enum MediaStatus: UInt8, Sendable, CaseIterable {
    /// Write Fault, 80h.
    case writeFault = 0x80
    /// Unrecovered Read Error, 81h.
    case unrecoveredReadError = 0x81
    /// End-to-end Guard Check Error, 82h.
    case endToEndGuardCheckError = 0x82
    /// End-to-end Application Tag Check Error, 83h.
    case endToEndApplicationTagCheckError = 0x83
    /// End-to-end Reference Tag Check Error, 84h.
    case endToEndReferenceTagCheckError = 0x84
    /// Compare Failure, 85h.
    case compareFailure = 0x85
    /// Access Denied, 86h.
    case accessDenied = 0x86
    /// Deallocated or Unwritten Logical Block, 87h.
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
        return "\(name) (SCT \(status.type.rawValue)h, SC \(hexCode(status.code))\(status.doNotRetry ? ", DNR" : ""))"
    }
}
