/// SCSI status codes (SAM-5, "Status codes").
public enum SCSIStatus: UInt8, Sendable, Equatable, CaseIterable {
    case good = 0x00
    case checkCondition = 0x02
    case conditionMet = 0x04
    case busy = 0x08
    case reservationConflict = 0x18
    case taskSetFull = 0x28
    case acaActive = 0x30
    case taskAborted = 0x40
}

/// Which way a task's data moves, seen from the initiator.
public enum DataDirection: Sendable, Equatable {
    /// No data phase.
    case none
    /// Data-in: device to host (READ, INQUIRY...).
    case fromDevice
    /// Data-out: host to device (WRITE, MODE SELECT...).
    case toDevice
}

/// What the engine reports back to the initiator for one SCSI task.
public struct SCSIResponse: Sendable, Equatable {
    /// SCSI status byte.
    public var status: SCSIStatus
    /// Sense data (fixed or descriptor format), empty when there is none.
    public var sense: [UInt8]
    /// Data built locally (INQUIRY, MODE SENSE...), already truncated to the allocation length and
    /// to the task's buffer; empty when the data moved by DMA or there is none.
    public var dataIn: [UInt8]
    /// Bytes of the task's buffer that were not transferred (SAM "residual"), never negative.
    public var residual: Int
    /// A unit attention the engine establishes for every other LUN of the target, in the same
    /// critical section as this response's state change (`LogicalUnitState.establish`): MODE
    /// PARAMETERS CHANGED once a MODE SELECT changed a parameter the LUNs share (WCE). Nil otherwise.
    public var unitAttentionForOtherLUNs: SenseCondition?

    /// A response with `status`; no sense, no local data, no residual and no unit attention for
    /// other LUNs unless given.
    public init(status: SCSIStatus, sense: [UInt8] = [], dataIn: [UInt8] = [], residual: Int = 0,
                unitAttentionForOtherLUNs: SenseCondition? = nil) {
        self.status = status
        self.sense = sense
        self.dataIn = dataIn
        self.residual = residual
        self.unitAttentionForOtherLUNs = unitAttentionForOtherLUNs
    }

    /// Bytes transferred for a task whose buffer is `transferLength` long.
    public func bytesTransferred(transferLength: Int) -> Int { max(0, transferLength - residual) }
}
