/// Sense keys (SPC-5, "Sense key descriptions").
public enum SenseKey: UInt8, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    case noSense = 0x0
    case recoveredError = 0x1
    case notReady = 0x2
    case mediumError = 0x3
    case hardwareError = 0x4
    case illegalRequest = 0x5
    case unitAttention = 0x6
    case dataProtect = 0x7
    case blankCheck = 0x8
    case vendorSpecific = 0x9
    case copyAborted = 0xA
    case abortedCommand = 0xB
    case reserved = 0xC
    case volumeOverflow = 0xD
    case miscompare = 0xE
    case completed = 0xF

    /// The name SPC uses.
    public var description: String {
        switch self {
        case .noSense: "NO SENSE"
        case .recoveredError: "RECOVERED ERROR"
        case .notReady: "NOT READY"
        case .mediumError: "MEDIUM ERROR"
        case .hardwareError: "HARDWARE ERROR"
        case .illegalRequest: "ILLEGAL REQUEST"
        case .unitAttention: "UNIT ATTENTION"
        case .dataProtect: "DATA PROTECT"
        case .blankCheck: "BLANK CHECK"
        case .vendorSpecific: "VENDOR SPECIFIC"
        case .copyAborted: "COPY ABORTED"
        case .abortedCommand: "ABORTED COMMAND"
        case .reserved: "RESERVED (0Ch)"
        case .volumeOverflow: "VOLUME OVERFLOW"
        case .miscompare: "MISCOMPARE"
        case .completed: "COMPLETED"
        }
    }
}

/// An ADDITIONAL SENSE CODE / QUALIFIER pair (SPC-5 Annex, "ASC and ASCQ assignments"); only the
/// pairs this driver produces are named.
public struct AdditionalSense: Sendable, Hashable, CustomStringConvertible {
    public var asc: UInt8
    public var ascq: UInt8
    public init(_ asc: UInt8, _ ascq: UInt8) {
        self.asc = asc
        self.ascq = ascq
    }

    public static let noAdditionalSense = AdditionalSense(0x00, 0x00)
    public static let peripheralDeviceWriteFault = AdditionalSense(0x03, 0x00)
    public static let notReadyCauseNotReportable = AdditionalSense(0x04, 0x00)
    public static let notReadyInitializingCommandRequired = AdditionalSense(0x04, 0x02)
    public static let notReadyFormatInProgress = AdditionalSense(0x04, 0x04)
    public static let notReadySanitizeInProgress = AdditionalSense(0x04, 0x1B)
    public static let logicalUnitCommunicationFailure = AdditionalSense(0x08, 0x00)
    public static let warningPowerLossExpected = AdditionalSense(0x0B, 0x08)
    public static let invalidFieldInCommandIU = AdditionalSense(0x0E, 0x03)
    public static let guardCheckFailed = AdditionalSense(0x10, 0x01)
    public static let applicationTagCheckFailed = AdditionalSense(0x10, 0x02)
    public static let referenceTagCheckFailed = AdditionalSense(0x10, 0x03)
    public static let unrecoveredReadError = AdditionalSense(0x11, 0x00)
    public static let miscompareDuringVerify = AdditionalSense(0x1D, 0x00)
    public static let parameterListLengthError = AdditionalSense(0x1A, 0x00)
    public static let invalidCommandOperationCode = AdditionalSense(0x20, 0x00)
    public static let accessDeniedNoAccessRights = AdditionalSense(0x20, 0x02)
    public static let accessDeniedInvalidLUIdentifier = AdditionalSense(0x20, 0x09)
    public static let lbaOutOfRange = AdditionalSense(0x21, 0x00)
    public static let invalidFieldInCDB = AdditionalSense(0x24, 0x00)
    public static let logicalUnitNotSupported = AdditionalSense(0x25, 0x00)
    public static let invalidFieldInParameterList = AdditionalSense(0x26, 0x00)
    public static let writeProtected = AdditionalSense(0x27, 0x00)
    public static let powerOnReset = AdditionalSense(0x29, 0x00)
    public static let modeParametersChanged = AdditionalSense(0x2A, 0x01)
    public static let commandSequenceError = AdditionalSense(0x2C, 0x00)
    public static let commandTimeoutDuringProcessing = AdditionalSense(0x2E, 0x02)
    public static let formatCommandFailed = AdditionalSense(0x31, 0x01)
    public static let savingParametersNotSupported = AdditionalSense(0x39, 0x00)
    public static let internalTargetFailure = AdditionalSense(0x44, 0x00)

    static let names: [AdditionalSense: String] = [
        .noAdditionalSense: "NO ADDITIONAL SENSE INFORMATION",
        .peripheralDeviceWriteFault: "PERIPHERAL DEVICE WRITE FAULT",
        .notReadyCauseNotReportable: "LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE",
        .notReadyInitializingCommandRequired: "LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED",
        .notReadyFormatInProgress: "LOGICAL UNIT NOT READY, FORMAT IN PROGRESS",
        .notReadySanitizeInProgress: "LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS",
        .logicalUnitCommunicationFailure: "LOGICAL UNIT COMMUNICATION FAILURE",
        .warningPowerLossExpected: "WARNING - POWER LOSS EXPECTED",
        .invalidFieldInCommandIU: "INVALID FIELD IN COMMAND INFORMATION UNIT",
        .guardCheckFailed: "LOGICAL BLOCK GUARD CHECK FAILED",
        .applicationTagCheckFailed: "LOGICAL BLOCK APPLICATION TAG CHECK FAILED",
        .referenceTagCheckFailed: "LOGICAL BLOCK REFERENCE TAG CHECK FAILED",
        .unrecoveredReadError: "UNRECOVERED READ ERROR",
        .miscompareDuringVerify: "MISCOMPARE DURING VERIFY OPERATION",
        .parameterListLengthError: "PARAMETER LIST LENGTH ERROR",
        .invalidCommandOperationCode: "INVALID COMMAND OPERATION CODE",
        .accessDeniedNoAccessRights: "ACCESS DENIED - NO ACCESS RIGHTS",
        .accessDeniedInvalidLUIdentifier: "ACCESS DENIED - INVALID LU IDENTIFIER",
        .lbaOutOfRange: "LOGICAL BLOCK ADDRESS OUT OF RANGE",
        .invalidFieldInCDB: "INVALID FIELD IN CDB",
        .logicalUnitNotSupported: "LOGICAL UNIT NOT SUPPORTED",
        .invalidFieldInParameterList: "INVALID FIELD IN PARAMETER LIST",
        .writeProtected: "WRITE PROTECTED",
        .powerOnReset: "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED",
        .modeParametersChanged: "MODE PARAMETERS CHANGED",
        .commandSequenceError: "COMMAND SEQUENCE ERROR",
        .commandTimeoutDuringProcessing: "COMMAND TIMEOUT DURING PROCESSING",
        .formatCommandFailed: "FORMAT COMMAND FAILED",
        .savingParametersNotSupported: "SAVING PARAMETERS NOT SUPPORTED",
        .internalTargetFailure: "INTERNAL TARGET FAILURE",
    ]

    /// The SPC name, or the raw codes for a pair this driver does not name.
    public var description: String {
        Self.names[self] ?? "ASC \(hex2(asc))h ASCQ \(hex2(ascq))h"
    }
}

/// Two upper-case hex digits.
func hex2(_ value: UInt8) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return digits.count < 2 ? "0" + digits : digits
}
