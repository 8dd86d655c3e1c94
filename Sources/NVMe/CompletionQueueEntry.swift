/// A 16-byte completion queue entry (NVMe Base 2.0, "Common Completion Queue Entry Layout").
public struct CompletionQueueEntry: Sendable, Hashable, BitwiseCopyable {
    /// Dword 0: command specific.
    public var dw0: UInt32 = 0
    /// Dword 1: command specific.
    public var dw1: UInt32 = 0
    /// SQ Head Pointer: how far the controller has consumed the submission queue.
    public var sqHead: UInt16 = 0
    /// SQ Identifier of the command this completes.
    public var sqID: UInt16 = 0
    /// Command Identifier of the command this completes.
    public var commandID: UInt16 = 0
    /// Phase tag (bit 0) and Status field (bits 15:1).
    public var statusAndPhase: UInt16 = 0

    /// An all-zero entry (phase 0): what a freshly cleared completion ring holds.
    public init() {}

    /// An entry as a controller posts it: `status` goes to bits 15:1 of the last word, `phase` to bit 0.
    public init(dw0: UInt32 = 0, dw1: UInt32 = 0, sqHead: UInt16, sqID: UInt16, commandID: UInt16,
                status: CompletionStatus, phase: Bool) {
        self.dw0 = dw0
        self.dw1 = dw1
        self.sqHead = sqHead
        self.sqID = sqID
        self.commandID = commandID
        self.statusAndPhase = status.rawValue << 1 | (phase ? 1 : 0)
    }

    /// Wire size in bytes.
    public static let size = 16

    /// Phase Tag: flips each time the controller wraps the queue, telling new entries from old.
    @inlinable public var phase: Bool { statusAndPhase & 1 == 1 }
    /// The Status field without the phase tag.
    @inlinable public var status: CompletionStatus { CompletionStatus(rawValue: statusAndPhase >> 1) }
}

/// The 15-bit Status field: Status Code (7:0), Status Code Type (10:8), Command Retry Delay (12:11),
/// More (13), Do Not Retry (14) - numbered here from the field's own bit 0.
public struct CompletionStatus: Sendable, Hashable, CustomStringConvertible {
    /// The 15 Status field bits (the completion's bits 31:17 shifted down by one); bit 15 is always 0.
    public var rawValue: UInt16
    /// Wraps a Status field; bit 15 (which would be the phase tag's neighbour) is dropped.
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x7FFF }
    /// A status of any type and code, with the Do Not Retry and More bits as given (CRD 0).
    public init(type: StatusCodeType, code: UInt8, doNotRetry: Bool = false, more: Bool = false) {
        rawValue = UInt16(code) | UInt16(type.rawValue) << 8 | (more ? 1 << 13 : 0) | (doNotRetry ? 1 << 14 : 0)
    }
    /// A Generic Command Status (SCT 0).
    public init(_ generic: GenericStatus, doNotRetry: Bool = false) {
        self.init(type: .generic, code: generic.rawValue, doNotRetry: doNotRetry)
    }
    /// A Command Specific Status (SCT 1).
    public init(_ specific: CommandSpecificStatus, doNotRetry: Bool = false) {
        self.init(type: .commandSpecific, code: specific.rawValue, doNotRetry: doNotRetry)
    }
    /// A Media and Data Integrity Error (SCT 2).
    public init(_ media: MediaStatus, doNotRetry: Bool = false) {
        self.init(type: .mediaAndDataIntegrity, code: media.rawValue, doNotRetry: doNotRetry)
    }

    /// Successful Completion: SCT 0, SC 00h.
    public static let success = CompletionStatus(rawValue: 0)

    /// Status Code.
    @inlinable public var code: UInt8 { UInt8(truncatingIfNeeded: rawValue) }
    /// Status Code Type.
    @inlinable public var type: StatusCodeType { StatusCodeType(rawValue: UInt8(bits(rawValue, 8, 3))) ?? .vendorSpecific }
    /// Command Retry Delay index.
    public var crd: UInt8 { UInt8(bits(rawValue, 11, 2)) }
    /// More: extra information in the Error Information log.
    public var more: Bool { bits(rawValue, 13, 1) == 1 }
    /// Do Not Retry.
    public var doNotRetry: Bool { bits(rawValue, 14, 1) == 1 }
    /// Success is SCT 0, SC 0.
    @inlinable public var isSuccess: Bool { rawValue & 0x7FF == 0 }

    /// Compares type and code, ignoring the CRD, More and DNR bits.
    public func matches(_ type: StatusCodeType, _ code: UInt8) -> Bool { self.type == type && self.code == code }
    /// Whether this is the given Generic Command Status, whatever its CRD, More and DNR bits.
    public func matches(_ generic: GenericStatus) -> Bool { matches(.generic, generic.rawValue) }
    /// Whether this is the given Command Specific Status, whatever its CRD, More and DNR bits.
    public func matches(_ specific: CommandSpecificStatus) -> Bool { matches(.commandSpecific, specific.rawValue) }
    /// Whether this is the given Media and Data Integrity Error, whatever its CRD, More and DNR bits.
    public func matches(_ media: MediaStatus) -> Bool { matches(.mediaAndDataIntegrity, media.rawValue) }

    /// The status's name with its SCT and SC in hex, and DNR when set.
    public var description: String { StatusNames.describe(self) }
}
