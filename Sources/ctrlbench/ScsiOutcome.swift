import SCSIController
import Translation

/// Everything one task produced, as plain values: the input of the report and JSON formatters.
struct ScsiOutcome: Equatable, Sendable {
    /// "mock" or the PCI address.
    var device: String
    var spec: ScsiCommandSpec
    var status: SCSIStatus
    var serviceResponse: ServiceResponse
    var bytesTransferred: Int
    var residual: Int
    /// Raw sense bytes (empty with GOOD).
    var sense: [UInt8]
    /// The data-in bytes that were transferred.
    var dataIn: [UInt8]
    /// The engine's explanation behind a failure, when it gave one.
    var engineError: String?
    /// The unit attention consumed before the command, described, when one was.
    var clearedUnitAttention: String?

    /// 0 for GOOD, 2 for CHECK CONDITION or any other status, 1 when the task was not delivered
    /// (a device error: the status means nothing then).
    var exitCode: Int32 {
        if serviceResponse != .taskComplete { return 1 }
        return status == .good ? 0 : 2
    }
}

extension SCSIStatus {
    /// The SAM-5 name of the status code.
    var name: String {
        switch self {
        case .good: "GOOD"
        case .checkCondition: "CHECK CONDITION"
        case .conditionMet: "CONDITION MET"
        case .busy: "BUSY"
        case .reservationConflict: "RESERVATION CONFLICT"
        case .taskSetFull: "TASK SET FULL"
        case .acaActive: "ACA ACTIVE"
        case .taskAborted: "TASK ABORTED"
        }
    }
}

extension ServiceResponse {
    /// The SAM-5 name of the service response.
    var name: String {
        switch self {
        case .taskComplete: "TASK COMPLETE"
        case .serviceDeliveryOrTargetFailure: "SERVICE DELIVERY OR TARGET FAILURE"
        }
    }
}

extension DataDirection {
    /// As the report and JSON name it.
    var name: String {
        switch self {
        case .none: "none"
        case .fromDevice: "in"
        case .toDevice: "out"
        }
    }
}

/// Sense data taken apart field by field (SPC-5 4.4), for display. Built on `DecodedSense`, plus
/// the response code, which the report shows as it was received.
struct SenseSummary: Equatable, Sendable, Encodable {
    /// Response code (70h-73h), without the VALID bit.
    var responseCode: UInt8
    var descriptorFormat: Bool
    var deferred: Bool
    var senseKey: UInt8
    var senseKeyName: String
    var asc: UInt8
    var ascq: UInt8
    var additionalSense: String
    /// INFORMATION, when VALID (fixed) or an Information descriptor (descriptor format) says so.
    var information: UInt64?
    var fieldPointer: Pointer?

    /// The sense-key-specific field pointer of an ILLEGAL REQUEST.
    struct Pointer: Equatable, Sendable, Encodable {
        /// C/D: the error is in the CDB (true) or in the parameter data (false).
        var inCDB: Bool
        var byte: Int
        /// BIT POINTER when BPV is set, else nil (the whole byte).
        var bit: Int?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(inCDB, forKey: .inCDB)
            try container.encode(byte, forKey: .byte)
            try container.encode(bit, forKey: .bit)
        }
        private enum CodingKeys: String, CodingKey { case inCDB, byte, bit }
    }

    /// Parses `bytes`; nil when they are neither fixed nor descriptor format sense data.
    init?(_ bytes: [UInt8]) {
        guard let decoded = DecodedSense(bytes) else { return nil }
        let condition = decoded.condition
        responseCode = bytes[0] & 0x7F
        descriptorFormat = decoded.descriptorFormat
        deferred = condition.deferred
        senseKey = condition.key.rawValue
        senseKeyName = condition.key.description
        asc = condition.additional.asc
        ascq = condition.additional.ascq
        additionalSense = condition.additional.description
        information = condition.information
        fieldPointer = condition.fieldPointer.map {
            Pointer(inCDB: $0.inCDB, byte: Int($0.byte), bit: $0.bit.map(Int.init))
        }
    }

    /// Absent fields are written as null, so every sense object has the same keys.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(responseCode, forKey: .responseCode)
        try container.encode(descriptorFormat ? "descriptor" : "fixed", forKey: .format)
        try container.encode(deferred, forKey: .deferred)
        try container.encode(senseKey, forKey: .senseKey)
        try container.encode(senseKeyName, forKey: .senseKeyName)
        try container.encode(asc, forKey: .asc)
        try container.encode(ascq, forKey: .ascq)
        try container.encode(additionalSense, forKey: .additionalSense)
        try container.encode(information, forKey: .information)
        try container.encode(fieldPointer, forKey: .fieldPointer)
    }
    private enum CodingKeys: String, CodingKey {
        case responseCode, format, deferred, senseKey, senseKeyName, asc, ascq, additionalSense, information, fieldPointer
    }
}
