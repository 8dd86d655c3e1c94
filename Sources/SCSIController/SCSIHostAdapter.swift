import DMAMapper
import NVMe
import Translation

/// The SCSI face of the engine, shaped like an HBA: it reports its constraints, accepts SCSI
/// tasks, routes every CDB through `Translation`, runs the resulting NVMe operations on the
/// caller's queue (breaking them by the HBA constraints) and completes each task once, with
/// status, sense and residual.
///
/// READ and WRITE (6, 10, 12, 16) that need one NVMe command take a fast path: no lock, no plan,
/// no allocation (DESIGN.md, "Threading and the hot path"); everything else goes through
/// `translate` and `complete` on the unit's locked state (`processTranslated`).
public final class SCSIHostAdapter: Sendable {
    /// The engine underneath.
    public let controller: NVMeController
    /// What translation knows about the device.
    public let facts: DeviceFacts
    /// Per-LUN state and the controller reset count it has seen.
    let units: UnitStateTable

    /// An adapter over a started controller: gathers `facts` from its Identify data, namespaces
    /// and validated constraints once, and gives every LUN a POWER ON RESET unit attention.
    /// `transferLimit` lowers the largest task below what the engine could carry, for a caller
    /// whose own buffers are smaller (the export's): VPD B0h then reports what it really accepts.
    public init(controller: NVMeController, transferLimit: Int? = nil) {
        self.controller = controller
        let constraints = controller.constraints
        let facts = DeviceFacts(
            controller: controller.identify,
            luns: controller.namespaces.map { LogicalUnit(nsid: $0.id, namespace: $0.identify) },
            // What one task may really carry: maxTransferSize, and no more commands of the segment
            // byte count than the segment count allows, in the stricter direction.
            maximumTransferBytes: min(constraints.largestTransfer(write: false), constraints.largestTransfer(write: true),
                                      transferLimit ?? Int.max),
            controllerMaximumTransferBytes: controller.maximumCommandBytes,
            maximumSegmentCount: min(constraints.maximumSegmentCountRead, constraints.maximumSegmentCountWrite),
            maximumSegmentBytes: min(constraints.maximumSegmentByteCountRead, constraints.maximumSegmentByteCountWrite),
            lowestPowerState: controller.identify.npss,
            volatileWriteCacheEnabledAtAttach: controller.volatileWriteCacheEnabled)
        self.facts = facts
        units = UnitStateTable(facts: facts, resetCount: controller.resetCount)
    }

    /// The HBA constraints, as DriverKit's UserReportHBAConstraints would report them.
    public var constraints: HBAConstraints { controller.constraints }

    /// Processes one task on `queue` (owned by the calling thread) and returns its response.
    public func process(_ task: SCSITask, on queue: IOQueue) -> SCSITaskResponse {
        // The fast path: a READ or WRITE that needs one NVMe command, on a buffer that holds it,
        // to a unit with nothing to report, on a running controller. Anything else, including
        // every refusal, goes through `processTranslated`, which checks in the order SAM asks.
        // One look at the controller's run state answers both "stopped?" and "resets so far".
        let run = controller.core.epoch.value.load(ordering: .sequentiallyConsistent)
        if Self.bufferHolds(task), run & ControllerEpoch.stoppingBit == 0,
           units.isClear(task.lun, resetCount: run / ControllerEpoch.generationUnit),
           let transfer = task.cdb.withUnsafeBytes({
               translateBlockTransfer(cdb: $0, lun: task.lun, transferLength: task.transferLength, direction: task.direction,
                                      luns: facts.luns, maximumTransferBytes: facts.maximumTransferBytes)
           }) {
            return runBlockTransfer(transfer, task: task, buffer: task.buffer.unsafelyUnwrapped, on: queue)
        }
        return processTranslated(task, on: queue)
    }

    /// Every task but the fast path's: translation on the unit's locked state, then the plan's
    /// operations, then the completion's mapping back to status and sense.
    @inline(never)
    func processTranslated(_ task: SCSITask, on queue: IOQueue) -> SCSITaskResponse {
        var response = SCSITaskResponse(tag: task.tag, serviceResponse: .taskComplete, status: .good, sense: [],
                                        bytesTransferred: 0, residual: max(0, task.transferLength), error: nil)
        if let problem = bufferProblem(task) {
            let condition = SenseCondition.invalidDataBuffer(cdb: task.cdb)
            let descriptorSense = units.update(task.lun, resetCount: controller.resetCount) { $0.descriptorSense }
            response.status = .checkCondition
            response.sense = SenseData.build(condition, descriptorFormat: descriptorSense)
            response.error = .requestRefused(reason: problem)
            return response
        }
        guard !controller.isStopped else {
            response.serviceResponse = .serviceDeliveryOrTargetFailure
            response.error = .stopped
            return response
        }
        let dataOut = needsDataOut(cdb: task.cdb) ? copyOut(task) : nil
        // WCE has one owner, the controller (NVMe's volatile write cache is controller-wide).
        let writeCacheEnabled = controller.volatileWriteCacheEnabled
        let plan = units.update(task.lun, resetCount: controller.resetCount) { state in
            translate(cdb: task.cdb, lun: task.lun, dataOut: dataOut, transferLength: task.transferLength,
                      direction: task.direction, facts: facts, writeCacheEnabled: writeCacheEnabled, state: &state)
        }
        switch plan {
        case let .respond(local):
            deliver(local, into: task, response: &response)
            if task.cdb.first == 0x00, local.status == .good { checkReady(task.lun, &response) }
        case let .execute(operations, context):
            let run = OperationRunner(adapter: self, queue: queue, task: task).run(operations)
            let scsi = units.complete(task.lun, resetCount: controller.resetCount) {
                complete(context, results: run.results, facts: facts, state: &$0)
            }
            deliver(scsi, into: task, response: &response)
            response.error = run.error
            if run.deliveryFailed { response.serviceResponse = .serviceDeliveryOrTargetFailure }
        }
        return response
    }

    /// The fast path's NVMe Read or Write, straight on the queue's breaker. Success builds the
    /// response at once; only a failure goes through `complete` (and its lock) for the sense.
    @inline(__always)
    func runBlockTransfer(_ transfer: BlockTransfer, task: SCSITask, buffer: DMABuffer, on queue: IOQueue) -> SCSITaskResponse {
        let opcode: NVMOpcode = transfer.isWrite ? .write : .read
        let iova = buffer.iova &+ UInt64(truncatingIfNeeded: task.bufferOffset)
        // Of the block API's checks (`IOQueue.transfer`) only the buffer's address is left to make:
        // translation checked the range and the length against the unit (LUN n is the n-th active
        // namespace), `bufferHolds` the buffer. Anything else takes `transfer`, which refuses it.
        let namespaces = queue.limits.namespaces
        let lun = Int(truncatingIfNeeded: task.lun)
        let outcome = namespaces.indices.contains(lun) && namespaces[lun].id == transfer.nsid && queue.limits.addressRefusal(iova) == nil
            ? queue.run(BreakerPlan(opcode, namespaces[lun], lba: transfer.lba, blocks: Int(transfer.blocks), dataIOVA: iova, fua: transfer.fua))
            : queue.transfer(opcode, nsid: transfer.nsid, lba: transfer.lba, blocks: Int(transfer.blocks), buffer: buffer,
                             offset: task.bufferOffset, fua: transfer.fua)
        guard outcome.succeeded else { return blockTransferFailed(outcome, task: task) }
        return SCSITaskResponse(tag: task.tag, serviceResponse: .taskComplete, status: .good, sense: [],
                                bytesTransferred: outcome.bytesTransferred,
                                residual: task.transferLength - outcome.bytesTransferred, error: nil)
    }

    /// The fast path's transfer failed: status and sense from `complete`, as for any task.
    @inline(never)
    func blockTransferFailed(_ outcome: BlockOutcome, task: SCSITask) -> SCSITaskResponse {
        var response = SCSITaskResponse(tag: task.tag, serviceResponse: .taskComplete, status: .good, sense: [],
                                        bytesTransferred: 0, residual: max(0, task.transferLength), error: outcome.error)
        let result = OperationRunner.result(index: 0, outcome: outcome, addressed: true)
        let scsi = units.update(task.lun, resetCount: controller.resetCount) {
            complete(.blockTransfer(transferLength: task.transferLength), results: [result], facts: facts, state: &$0)
        }
        deliver(scsi, into: task, response: &response)
        if let error = outcome.error, OperationRunner.isDeliveryFailure(error) {
            response.serviceResponse = .serviceDeliveryOrTargetFailure
        }
        return response
    }

    /// TEST UNIT READY asks whether media access would work now, which translation's state alone
    /// cannot know: a removed device is a delivery failure, a controller that lost CSTS.RDY
    /// (power loss, reset) is NOT READY, a fatal one (CSTS.CFS) a HARDWARE ERROR.
    func checkReady(_ lun: UInt64, _ response: inout SCSITaskResponse) {
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
            let descriptorSense = units.update(lun, resetCount: controller.resetCount) { $0.descriptorSense }
            response.status = .checkCondition
            response.sense = SenseData.build(condition, descriptorFormat: descriptorSense)
        }
    }

    /// Whether the task's buffer holds its transfer of at least one byte, in a direction: what
    /// `bufferProblem` finds nothing wrong with, asked without building its message.
    @inline(__always)
    static func bufferHolds(_ task: SCSITask) -> Bool {
        guard let length = task.buffer?.length else { return false }
        return task.transferLength > 0 && task.bufferOffset >= 0 && task.bufferOffset <= length
            && task.transferLength <= length - task.bufferOffset && task.direction != .none
    }

    /// Why the task's buffer cannot carry its transfer, or nil. Written so that no offset or
    /// length, however large, can overflow the arithmetic.
    func bufferProblem(_ task: SCSITask) -> String? {
        if task.transferLength < 0 { return "negative transfer length \(task.transferLength)" }
        if task.transferLength == 0 { return nil }
        guard let buffer = task.buffer else { return "a transfer of \(task.transferLength) bytes with no buffer" }
        if task.bufferOffset < 0 || task.bufferOffset > buffer.length || task.transferLength > buffer.length - task.bufferOffset {
            return "buffer of \(buffer.length) bytes cannot hold \(task.transferLength) bytes at offset \(task.bufferOffset)"
        }
        if task.direction == .none { return "a transfer of \(task.transferLength) bytes with direction none" }
        return nil
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
