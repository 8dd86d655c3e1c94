import DMAMapper
import Translation

/// A SCSI parallel task, as an HBA receives it (DriverKit's SCSIUserParallelTask in spirit):
/// which logical unit, the CDB, one DMA buffer (a single IOVA segment) and which way data moves.
public struct SCSITask: Sendable {
    /// Logical unit number: LUN n is the n-th active namespace.
    public var lun: UInt64
    /// The command descriptor block.
    public var cdb: [UInt8]
    /// The data buffer; nil when no data moves.
    public var buffer: DMABuffer?
    /// Where the task's data starts inside `buffer`.
    public var bufferOffset: Int
    /// Bytes the task transfers (the buffer must hold at least this many from `bufferOffset`).
    public var transferLength: Int
    /// Which way data moves.
    public var direction: DataDirection
    /// The caller's tag, echoed in the response.
    public var tag: UInt64

    /// A task for `lun`; the defaults describe one that moves no data (no buffer, length 0).
    public init(lun: UInt64 = 0, cdb: [UInt8], buffer: DMABuffer? = nil, bufferOffset: Int = 0,
                transferLength: Int = 0, direction: DataDirection = .none, tag: UInt64 = 0) {
        self.lun = lun
        self.cdb = cdb
        self.buffer = buffer
        self.bufferOffset = bufferOffset
        self.transferLength = transferLength
        self.direction = direction
        self.tag = tag
    }
}

/// SAM service responses.
public enum ServiceResponse: Sendable, Equatable {
    /// The command ran to completion; `status` says how.
    case taskComplete
    /// The task could not be delivered (stopped controller, device gone).
    case serviceDeliveryOrTargetFailure
}

/// What the HBA reports for one task.
public struct SCSITaskResponse: Sendable {
    /// The caller's tag.
    public var tag: UInt64
    /// SAM service response.
    public var serviceResponse: ServiceResponse
    /// SCSI status.
    public var status: SCSIStatus
    /// Sense data (fixed or descriptor, as D_SENSE selects); empty with GOOD.
    public var sense: [UInt8] {
        get { detail?.sense ?? [] }
        set { detail = Detail.make(sense: newValue, error: error) }
    }
    /// Bytes moved.
    public var bytesTransferred: Int
    /// Bytes of `transferLength` not moved.
    public var residual: Int
    /// The engine-level cause behind a failure, when there is one (which command, which limit,
    /// which NVMe status), so that no failure is only a sense code.
    public var error: ControllerError? {
        get { detail?.error }
        set { detail = Detail.make(sense: sense, error: newValue) }
    }
    /// The sense and the error, which a GOOD response has neither of: it carries one nil
    /// reference, nothing for its caller to check and drop case by case (as for `PlanResult`).
    private var detail: Detail?

    init(tag: UInt64, serviceResponse: ServiceResponse, status: SCSIStatus, sense: [UInt8], bytesTransferred: Int,
         residual: Int, error: ControllerError?) {
        self.tag = tag
        self.serviceResponse = serviceResponse
        self.status = status
        self.bytesTransferred = bytesTransferred
        self.residual = residual
        detail = Detail.make(sense: sense, error: error)
    }

    private final class Detail: Sendable {
        let sense: [UInt8]
        let error: ControllerError?

        init(sense: [UInt8], error: ControllerError?) {
            self.sense = sense
            self.error = error
        }

        /// Nil when there is neither sense nor an error.
        static func make(sense: [UInt8], error: ControllerError?) -> Detail? {
            if sense.isEmpty, case .none = error { return nil }
            return Detail(sense: sense, error: error)
        }
    }
}
