import DMAMapper
import NVMe
import Synchronization
import Translation

/// The SCSI face of the engine, shaped like an HBA: it reports its constraints, accepts SCSI
/// tasks, routes every CDB through `Translation`, runs the resulting NVMe operations on the
/// caller's queue (breaking them by the HBA constraints) and completes each task once, with
/// status, sense and residual.
public final class SCSIHostAdapter: Sendable {
    /// The engine underneath.
    public let controller: NVMeController
    /// What translation knows about the device.
    public let facts: DeviceFacts
    /// Per-LUN state (D_SENSE, WCE, unit attentions) and the controller reset count they have
    /// seen; touched briefly before and after each task.
    let unitStates: SanitizedMutex<UnitStates>

    struct UnitStates: Sendable {
        var units: [LogicalUnitState]
        var resetsSeen: Int
    }

    public init(controller: NVMeController) {
        self.controller = controller
        let constraints = controller.constraints
        let facts = DeviceFacts(
            controller: controller.identify,
            luns: controller.namespaces.map { LogicalUnit(nsid: $0.id, namespace: $0.identify) },
            maximumTransferBytes: constraints.maxTransferSize,
            controllerMaximumTransferBytes: controller.maximumCommandBytes,
            maximumSegmentCount: min(constraints.maximumSegmentCountRead, constraints.maximumSegmentCountWrite),
            maximumSegmentBytes: min(constraints.maximumSegmentByteCountRead, constraints.maximumSegmentByteCountWrite),
            volatileWriteCacheEnabled: controller.volatileWriteCacheEnabled)
        self.facts = facts
        unitStates = SanitizedMutex(UnitStates(units: facts.luns.map { _ in LogicalUnitState(attachedTo: facts) },
                                               resetsSeen: controller.resetCount))
    }

    /// The HBA constraints, as DriverKit's UserReportHBAConstraints would report them.
    public var constraints: HBAConstraints { controller.constraints }

    /// Processes one task on `queue` (owned by the calling thread) and returns its response.
    public func process(_ task: SCSITask, on queue: IOQueue) -> SCSITaskResponse {
        var response = SCSITaskResponse(tag: task.tag, serviceResponse: .taskComplete, status: .good, sense: [],
                                        bytesTransferred: 0, residual: task.transferLength, error: nil)
        if let problem = bufferProblem(task) {
            response.status = .checkCondition
            response.sense = SenseData.build(SenseCondition(.illegalRequest, .invalidFieldInCDB),
                                             descriptorFormat: state(of: task.lun).descriptorSense)
            response.error = .requestRefused(reason: problem)
            return response
        }
        guard !controller.isStopped else {
            response.serviceResponse = .serviceDeliveryOrTargetFailure
            response.error = .stopped
            return response
        }
        let dataOut = needsDataOut(cdb: task.cdb) ? copyOut(task) : nil
        var state = state(of: task.lun)
        let plan = translate(cdb: task.cdb, lun: task.lun, dataOut: dataOut, transferLength: task.transferLength,
                             direction: task.direction, facts: facts, state: &state)
        switch plan {
        case let .respond(local):
            save(state, for: task.lun)
            deliver(local, into: task, response: &response)
            if task.cdb.first == 0x00, local.status == .good { checkReady(&response, descriptorSense: state.descriptorSense) }
        case let .execute(operations, context):
            let run = OperationRunner(adapter: self, queue: queue, task: task).run(operations)
            var after = self.state(of: task.lun)
            let scsi = complete(context, results: run.results, facts: facts, state: &after)
            save(after, for: task.lun)
            deliver(scsi, into: task, response: &response)
            response.error = run.error
            if run.deliveryFailed { response.serviceResponse = .serviceDeliveryOrTargetFailure }
        }
        return response
    }

    /// TEST UNIT READY asks whether media access would work now, which translation's state alone
    /// cannot know: a removed device is a delivery failure, a controller that lost CSTS.RDY
    /// (power loss, reset) is NOT READY, a fatal one (CSTS.CFS) a HARDWARE ERROR.
    func checkReady(_ response: inout SCSITaskResponse, descriptorSense: Bool) {
        do throws(ControllerError) {
            try RegisterWaits.checkAlive(device: controller.device, during: "TEST UNIT READY")
        } catch {
            response.error = error
            let condition: SenseCondition
            switch error {
            case .deviceGone:
                response.serviceResponse = .serviceDeliveryOrTargetFailure
                return
            case .controllerFatal: condition = SenseCondition(.hardwareError, .internalTargetFailure)
            default: condition = SenseCondition(.notReady, .notReadyCauseNotReportable)
            }
            response.status = .checkCondition
            response.sense = SenseData.build(condition, descriptorFormat: descriptorSense)
        }
    }

    /// Why the task's buffer cannot carry its transfer, or nil.
    func bufferProblem(_ task: SCSITask) -> String? {
        if task.transferLength < 0 { return "negative transfer length \(task.transferLength)" }
        if task.transferLength == 0 { return nil }
        guard let buffer = task.buffer else { return "a transfer of \(task.transferLength) bytes with no buffer" }
        if task.bufferOffset < 0 || task.bufferOffset + task.transferLength > buffer.length {
            return "buffer of \(buffer.length) bytes cannot hold \(task.transferLength) bytes at offset \(task.bufferOffset)"
        }
        if task.direction == .none { return "a transfer of \(task.transferLength) bytes with direction none" }
        return nil
    }

    /// The unit's state; after a controller reset by recovery, every unit first reports a
    /// UNIT ATTENTION (29h/00h) as SPC requires, so initiators learn that cached state may be gone.
    func state(of lun: UInt64) -> LogicalUnitState {
        let resets = controller.resetCount
        return unitStates.withLock { states in
            if states.resetsSeen != resets {
                states.resetsSeen = resets
                for index in states.units.indices { states.units[index].pendingUnitAttention = .powerOnReset }
            }
            return lun < UInt64(states.units.count) ? states.units[Int(lun)] : LogicalUnitState()
        }
    }

    func save(_ state: LogicalUnitState, for lun: UInt64) {
        unitStates.withLock { states in if lun < UInt64(states.units.count) { states.units[Int(lun)] = state } }
    }

    func copyOut(_ task: SCSITask) -> [UInt8] {
        guard let buffer = task.buffer, task.transferLength > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: buffer.address + task.bufferOffset, count: task.transferLength))
    }

    /// Copies locally built data into the task buffer and fills the response from translation's answer.
    func deliver(_ scsi: SCSIResponse, into task: SCSITask, response: inout SCSITaskResponse) {
        if !scsi.dataIn.isEmpty, let buffer = task.buffer {
            let count = min(scsi.dataIn.count, task.transferLength)
            scsi.dataIn.withUnsafeBytes { (buffer.address + task.bufferOffset).copyMemory(from: $0.baseAddress!, byteCount: count) }
        }
        response.status = scsi.status
        response.sense = scsi.sense
        response.residual = scsi.residual
        response.bytesTransferred = scsi.bytesTransferred(transferLength: task.transferLength)
    }
}
