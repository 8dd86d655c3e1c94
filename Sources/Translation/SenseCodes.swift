import HexFormat

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
    /// ADDITIONAL SENSE CODE (ASC): fixed-format byte 12, descriptor-format byte 2.
    public var asc: UInt8
    /// ADDITIONAL SENSE CODE QUALIFIER (ASCQ): fixed-format byte 13, descriptor-format byte 3.
    public var ascq: UInt8
    /// The pair `asc`/`ascq`, e.g. `AdditionalSense(0x24, 0x00)` for INVALID FIELD IN CDB.
    public init(_ asc: UInt8, _ ascq: UInt8) {
        self.asc = asc
        self.ascq = ascq
    }

    /// 00h/00h NO ADDITIONAL SENSE INFORMATION: GOOD status, and the Reference's answer where the
    /// sense key says all there is (aborted commands, data transfer errors, driver-side statuses).
    public static let noAdditionalSense = AdditionalSense(0x00, 0x00)
    /// 03h/00h PERIPHERAL DEVICE WRITE FAULT: NVMe Write Fault (SCT 2h, SC 80h), MEDIUM ERROR.
    public static let peripheralDeviceWriteFault = AdditionalSense(0x03, 0x00)
    /// 04h/00h LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE: Namespace Not Ready (SC 82h), and
    /// TEST UNIT READY on a controller that lost CSTS.RDY.
    public static let notReadyCauseNotReportable = AdditionalSense(0x04, 0x00)
    /// 04h/02h LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED: media access to a unit
    /// stopped by START STOP UNIT; a START UNIT brings it back.
    public static let notReadyInitializingCommandRequired = AdditionalSense(0x04, 0x02)
    /// 04h/04h LOGICAL UNIT NOT READY, FORMAT IN PROGRESS: Format In Progress (SC 84h).
    public static let notReadyFormatInProgress = AdditionalSense(0x04, 0x04)
    /// 04h/1Bh LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS: Sanitize In Progress (SC 1Dh).
    public static let notReadySanitizeInProgress = AdditionalSense(0x04, 0x1B)
    /// 08h/00h LOGICAL UNIT COMMUNICATION FAILURE: any Path Related status (SCT 3h), ABORTED
    /// COMMAND, as another attempt may succeed.
    public static let logicalUnitCommunicationFailure = AdditionalSense(0x08, 0x00)
    /// 0Bh/08h WARNING - POWER LOSS EXPECTED: Command Aborted due to Power Loss Notification (SC 05h).
    public static let warningPowerLossExpected = AdditionalSense(0x0B, 0x08)
    /// 0Eh/03h INVALID FIELD IN COMMAND INFORMATION UNIT: an empty CDB, or one whose length is not
    /// the one its group code fixes (SPC-5 4.2.5).
    public static let invalidFieldInCommandIU = AdditionalSense(0x0E, 0x03)
    /// 10h/01h LOGICAL BLOCK GUARD CHECK FAILED: End-to-end Guard Check Error (SCT 2h, SC 82h).
    public static let guardCheckFailed = AdditionalSense(0x10, 0x01)
    /// 10h/02h LOGICAL BLOCK APPLICATION TAG CHECK FAILED: End-to-end Application Tag Check Error
    /// (SCT 2h, SC 83h).
    public static let applicationTagCheckFailed = AdditionalSense(0x10, 0x02)
    /// 10h/03h LOGICAL BLOCK REFERENCE TAG CHECK FAILED: End-to-end Reference Tag Check Error
    /// (SCT 2h, SC 84h).
    public static let referenceTagCheckFailed = AdditionalSense(0x10, 0x03)
    /// 11h/00h UNRECOVERED READ ERROR: Unrecovered Read Error (SCT 2h, SC 81h), MEDIUM ERROR.
    public static let unrecoveredReadError = AdditionalSense(0x11, 0x00)
    /// 1Dh/00h MISCOMPARE DURING VERIFY OPERATION: Compare Failure (SCT 2h, SC 85h), MISCOMPARE,
    /// with the offset of the first differing byte in INFORMATION when known.
    public static let miscompareDuringVerify = AdditionalSense(0x1D, 0x00)
    /// 1Ah/00h PARAMETER LIST LENGTH ERROR: a MODE SELECT or UNMAP parameter list shorter than the
    /// CDB or its own headers say.
    public static let parameterListLengthError = AdditionalSense(0x1A, 0x00)
    /// 20h/00h INVALID COMMAND OPERATION CODE: an opcode the table does not know or the device
    /// cannot serve, and NVMe Invalid Command Opcode (SC 01h).
    public static let invalidCommandOperationCode = AdditionalSense(0x20, 0x00)
    /// 20h/02h ACCESS DENIED - NO ACCESS RIGHTS: Access Denied (SCT 2h, SC 86h; DATA PROTECT, as
    /// the Reference has it) and Operation Denied (SC 15h; ILLEGAL REQUEST).
    public static let accessDeniedNoAccessRights = AdditionalSense(0x20, 0x02)
    /// 20h/09h ACCESS DENIED - INVALID LU IDENTIFIER: Invalid Namespace or Format (SC 0Bh).
    public static let accessDeniedInvalidLUIdentifier = AdditionalSense(0x20, 0x09)
    /// 21h/00h LOGICAL BLOCK ADDRESS OUT OF RANGE: a CDB's (or UNMAP descriptor's) range past the
    /// capacity, and NVMe LBA Out of Range (SC 80h).
    public static let lbaOutOfRange = AdditionalSense(0x21, 0x00)
    /// 24h/00h INVALID FIELD IN CDB: a CDB field translation refuses (with a field pointer), and
    /// NVMe Invalid Field in Command (SC 02h) and Conflicting Attributes (SCT 1h, SC 80h).
    public static let invalidFieldInCDB = AdditionalSense(0x24, 0x00)
    /// 25h/00h LOGICAL UNIT NOT SUPPORTED: a LUN with no active namespace behind it.
    public static let logicalUnitNotSupported = AdditionalSense(0x25, 0x00)
    /// 26h/00h INVALID FIELD IN PARAMETER LIST: a MODE SELECT or UNMAP parameter list field
    /// translation refuses, with a field pointer.
    public static let invalidFieldInParameterList = AdditionalSense(0x26, 0x00)
    /// 27h/00h WRITE PROTECTED: Namespace is Write Protected (SC 20h) and Attempted Write to Read
    /// Only Range (SCT 1h, SC 82h), DATA PROTECT.
    public static let writeProtected = AdditionalSense(0x27, 0x00)
    /// 29h/00h POWER ON, RESET, OR BUS DEVICE RESET OCCURRED: the UNIT ATTENTION every unit reports
    /// once after attach and after a controller reset.
    public static let powerOnReset = AdditionalSense(0x29, 0x00)
    /// 2Ah/01h MODE PARAMETERS CHANGED: the UNIT ATTENTION SPC-5 defines for mode parameters
    /// changed elsewhere: here, the caching page's WCE changed through another LUN (NVMe's
    /// volatile write cache is the controller's, so every LUN shares it).
    public static let modeParametersChanged = AdditionalSense(0x2A, 0x01)
    /// 2Ch/00h COMMAND SEQUENCE ERROR: SPC-5's code for a command out of the required order. Named,
    /// but translation does not produce it (NVMe Command Sequence Error maps to 00h/00h).
    public static let commandSequenceError = AdditionalSense(0x2C, 0x00)
    /// 2Eh/02h COMMAND TIMEOUT DURING PROCESSING: ABORTED COMMAND for an operation the engine
    /// aborted after its deadline.
    public static let commandTimeoutDuringProcessing = AdditionalSense(0x2E, 0x02)
    /// 31h/01h FORMAT COMMAND FAILED: Invalid Format (SCT 1h, SC 0Ah).
    public static let formatCommandFailed = AdditionalSense(0x31, 0x01)
    /// 39h/00h SAVING PARAMETERS NOT SUPPORTED: MODE SENSE asking for saved values (PC 11b);
    /// nothing is saved across a reset.
    public static let savingParametersNotSupported = AdditionalSense(0x39, 0x00)
    /// 44h/00h INTERNAL TARGET FAILURE: Internal Error (SC 06h), and TEST UNIT READY on a
    /// controller with CSTS.CFS set; HARDWARE ERROR.
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
        Self.names[self] ?? "ASC \(hexCode(asc)) ASCQ \(hexCode(ascq))"
    }
}
