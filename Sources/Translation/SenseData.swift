/// The SENSE KEY SPECIFIC field pointer for ILLEGAL REQUEST (SPC-5, "Field pointer sense key
/// specific data"): which byte (and optionally bit) of the CDB or parameter list was wrong.
public struct FieldPointer: Sendable, Equatable {
    /// C/D: true when the error is in the CDB, false when in the parameter list.
    public var inCDB: Bool
    /// FIELD POINTER: the byte, counted from 0.
    public var byte: UInt16
    /// BIT POINTER (0-7) with BPV set, or nil when the whole byte is meant.
    public var bit: UInt8?

    /// A pointer at `byte` (clamped to the 16-bit FIELD POINTER) and, when given, `bit` (its low
    /// three bits are kept).
    public init(inCDB: Bool, byte: Int, bit: Int? = nil) {
        self.inCDB = inCDB
        self.byte = UInt16(clamping: byte)
        self.bit = bit.map { UInt8($0 & 7) }
    }

    /// The three bytes of the sense-key-specific field, SKSV set.
    var encoded: [UInt8] {
        var first: UInt8 = 0x80
        if inCDB { first |= 0x40 }
        if let bit { first |= 0x08 | bit }
        return [first, UInt8(byte >> 8), UInt8(truncatingIfNeeded: byte)]
    }
}

/// One sense condition: what went wrong, independent of the format it is reported in.
public struct SenseCondition: Sendable, Equatable, Error {
    /// SENSE KEY: the class of the condition.
    public var key: SenseKey
    /// ADDITIONAL SENSE CODE and QUALIFIER: the condition within its class.
    public var additional: AdditionalSense
    /// INFORMATION field (e.g. the miscompare offset), nil when not valid.
    public var information: UInt64?
    /// Field pointer for ILLEGAL REQUEST.
    public var fieldPointer: FieldPointer?
    /// Reported with response code 71h/73h (deferred error) instead of 70h/72h.
    public var deferred: Bool
    /// SCSI status to report with it; CHECK CONDITION for almost everything.
    public var status: SCSIStatus

    /// A current (not deferred) CHECK CONDITION with no INFORMATION or field pointer unless given.
    public init(_ key: SenseKey, _ additional: AdditionalSense, information: UInt64? = nil,
                fieldPointer: FieldPointer? = nil, deferred: Bool = false, status: SCSIStatus = .checkCondition) {
        self.key = key
        self.additional = additional
        self.information = information
        self.fieldPointer = fieldPointer
        self.deferred = deferred
        self.status = status
    }

    /// UNIT ATTENTION, POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
    public static let powerOnReset = SenseCondition(.unitAttention, .powerOnReset)
    /// UNIT ATTENTION, MODE PARAMETERS CHANGED: for the other LUNs after a MODE SELECT changed a
    /// parameter they share (SPC-5 "Mode parameters").
    public static let modeParametersChanged = SenseCondition(.unitAttention, .modeParametersChanged)

    /// ILLEGAL REQUEST, INVALID FIELD IN CDB at `byte` (and `bit`).
    static func invalidCDB(byte: Int, bit: Int? = nil) -> SenseCondition {
        SenseCondition(.illegalRequest, .invalidFieldInCDB, fieldPointer: FieldPointer(inCDB: true, byte: byte, bit: bit))
    }
    /// ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST at `byte` (and `bit`).
    static func invalidParameter(byte: Int, bit: Int? = nil) -> SenseCondition {
        SenseCondition(.illegalRequest, .invalidFieldInParameterList,
                       fieldPointer: FieldPointer(inCDB: false, byte: byte, bit: bit))
    }
    static let invalidOpcode = SenseCondition(.illegalRequest, .invalidCommandOperationCode)
    static let lbaOutOfRange = SenseCondition(.illegalRequest, .lbaOutOfRange)
    static let parameterListLength = SenseCondition(.illegalRequest, .parameterListLengthError)
    static let lunNotSupported = SenseCondition(.illegalRequest, .logicalUnitNotSupported)
    static let invalidCommandIU = SenseCondition(.illegalRequest, .invalidFieldInCommandIU)
    static let stopped = SenseCondition(.notReady, .notReadyInitializingCommandRequired)
}

/// Builds sense data in either format (SPC-5 4.4): fixed (70h/71h, 18 bytes) or descriptor
/// (72h/73h, 8-byte header plus an Information descriptor and a Sense Key Specific descriptor
/// when those are valid). Which one is D_SENSE's (or REQUEST SENSE's DESC bit's) choice.
public enum SenseData {
    /// The sense bytes for `condition`.
    public static func build(_ condition: SenseCondition, descriptorFormat: Bool) -> [UInt8] {
        descriptorFormat ? descriptor(condition) : fixed(condition)
    }

    static func fixed(_ condition: SenseCondition) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 18)
        bytes[0] = condition.deferred ? 0x71 : 0x70
        bytes[2] = condition.key.rawValue
        // A fixed-format INFORMATION field is 4 bytes; a larger value cannot be valid there.
        if let information = condition.information, information <= UInt64(UInt32.max) {
            bytes[0] |= 0x80
            bytes.storeBE(UInt32(information), at: 3)
        }
        bytes[7] = 10
        bytes[12] = condition.additional.asc
        bytes[13] = condition.additional.ascq
        if let pointer = condition.fieldPointer { bytes.replaceSubrange(15..<18, with: pointer.encoded) }
        return bytes
    }

    static func descriptor(_ condition: SenseCondition) -> [UInt8] {
        var bytes: [UInt8] = [condition.deferred ? 0x73 : 0x72, condition.key.rawValue,
                              condition.additional.asc, condition.additional.ascq, 0, 0, 0, 0]
        if let information = condition.information {
            // Information descriptor (type 00h, additional length 0Ah, VALID set).
            bytes += [0x00, 0x0A, 0x80, 0x00]
            var field = [UInt8](repeating: 0, count: 8)
            field.storeBE(information, at: 0)
            bytes += field
        }
        if let pointer = condition.fieldPointer {
            // Sense key specific descriptor (type 02h, additional length 06h).
            bytes += [0x02, 0x06, 0x00, 0x00] + pointer.encoded + [0x00]
        }
        bytes[7] = UInt8(bytes.count - 8)
        return bytes
    }
}
