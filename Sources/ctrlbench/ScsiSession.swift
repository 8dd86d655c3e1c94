import DMAMapper
import HexFormat
import Logging
import MockNVMe
import PCIDevice
import SCSIController
import Translation

/// A device with the engine brought up on it and a SCSI host adapter in front: what one run of
/// `ctrlbench scsi` (or a test sending several commands to one mock) talks to.
final class ScsiSession {
    let controller: NVMeController
    let adapter: SCSIHostAdapter
    /// "mock" or the PCI address, for the report.
    let deviceName: String
    let logger: Logger
    /// Where each task's CDB and status go, beside the NVMe commands the device wrapper traces.
    let trace: CommandTrace?

    /// Opens the target and brings the controller up (reset, admin queue, Identify, one I/O queue);
    /// `configure` may change the engine's options (data pointers, HBA constraints, queues).
    /// Every failure names the device and carries the underlying explanation; a refused HBA
    /// constraint is a usage error naming the key, the value and the rule.
    init(_ target: DeviceTarget, trace: CommandTrace? = nil, logger: Logger = ScsiSession.quietLogger,
         configure: (inout ControllerOptions) -> Void = { _ in }) throws(ScsiToolError) {
        var options = ControllerOptions()
        options.logger = logger
        let opened = try target.open(trace: trace)
        self.trace = trace
        let device = opened.device
        deviceName = opened.name
        options.prepare(forMock: opened.isMock)
        configure(&options)
        options.prepare(for: trace)
        do { controller = try NVMeController(device: device, options: options) } catch {
            if case .unusableValue(key: .constraint, _, _) = error { throw .usage("\(error)") }
            throw .device("cannot bring up the NVMe controller on \(deviceName): \(error)")
        }
        adapter = SCSIHostAdapter(controller: controller)
        self.logger = logger
    }

    /// Stops the controller explicitly, so a failure is reported against this device (the engine's
    /// own deinit would stop it too, but could only log).
    deinit {
        do { try controller.stop() } catch { logger.error("stopping the controller on \(deviceName): \(error)") }
    }

    /// Warnings and errors only, on standard error: standard output carries the report (or JSON).
    static let quietLogger: Logger = {
        var logger = Logger(label: "ctrlbench.scsi") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        return logger
    }()

    /// Sends one TEST UNIT READY to `lun` to consume the POWER ON RESET unit attention that every
    /// freshly attached logical unit reports first (as a real disk does after power on).
    /// - Returns: the unit attention cleared, described, or nil when there was none.
    func clearUnitAttention(lun: UInt64) -> String? {
        trace?.note("SCSI LUN \(lun) CDB 00 00 00 00 00 00 (TEST UNIT READY, clearing the power-on unit attention)")
        let response = adapter.process(SCSITask(lun: lun, cdb: [0, 0, 0, 0, 0, 0]), on: controller.ioQueues[0])
        guard response.status == .checkCondition, let sense = DecodedSense(response.sense),
              sense.condition.key == .unitAttention else { return nil }
        return sense.description
    }

    /// Runs one task and collects everything the adapter reports, with the data-in bytes.
    func execute(_ spec: ScsiCommandSpec) throws(ScsiToolError) -> ScsiOutcome {
        try checkBufferBound(spec)
        var buffer: DMABuffer?
        if spec.length > 0 {
            do {
                buffer = try controller.mapper.allocate(length: spec.length,
                                                        access: spec.direction == .fromDevice ? .deviceWrites : .deviceReads)
            } catch {
                throw .device("cannot allocate a \(spec.length)-byte DMA buffer: \(error)")
            }
        }
        // Data-in starts zeroed (the mapper's memory is freshly mapped), so bytes the device did
        // not write read as 0, not as junk.
        if let buffer, spec.direction == .toDevice { buffer.bytes.copyBytes(from: spec.dataOut) }
        let task = SCSITask(lun: spec.lun, cdb: spec.cdb, buffer: buffer, transferLength: spec.length,
                            direction: spec.direction)
        trace?.note("SCSI LUN \(spec.lun) CDB \(hexBytes(spec.cdb, separator: " ")), "
            + (spec.direction == .none ? "no data" : "data-\(spec.direction.name) \(spec.length) bytes"))
        let response = adapter.process(task, on: controller.ioQueues[0])
        trace?.note("SCSI status \(response.status.name), \(response.bytesTransferred) bytes transferred, residual \(response.residual)"
            + (response.sense.isEmpty ? "" : ", sense " + (SenseSummary(response.sense).map {
                "\($0.senseKeyName) \(hexCode($0.asc))/\(hexCode($0.ascq)) \($0.additionalSense)" } ?? hexBytes(response.sense))))
        var dataIn: [UInt8] = []
        if spec.direction == .fromDevice, let buffer {
            dataIn = Array(buffer.bytes.prefix(max(0, min(spec.length, response.bytesTransferred))))
        }
        return ScsiOutcome(device: deviceName, spec: spec, status: response.status,
                           serviceResponse: response.serviceResponse, bytesTransferred: response.bytesTransferred,
                           residual: response.residual, sense: response.sense, dataIn: dataIn,
                           engineError: response.error.map { "\($0)" })
    }

    /// Refuses, before anything is allocated, a data phase larger than one task may carry (the
    /// HBA's largest transfer: maxTransferSize, and segment count x segment byte count) or larger
    /// than the CDB's own length field can ask for.
    func checkBufferBound(_ spec: ScsiCommandSpec) throws(ScsiToolError) {
        guard spec.length > 0 else { return }
        let option = spec.direction == .toDevice ? "--send" : "--request"
        let write = spec.direction == .toDevice
        let largest = controller.constraints.largestTransfer(write: write)
        if spec.length > largest {
            throw .usage("\(option) \(spec.length): more than one task may carry on \(deviceName), whose largest "
                + "\(write ? "write" : "read") is \(largest) bytes (HBA constraint maxTransferSize = "
                + "\(controller.constraints.maxTransferSize), \(write ? "kIOMaximumSegmentCountWriteKey" : "kIOMaximumSegmentCountReadKey")"
                + " x segment byte count). Give at most \(largest) bytes.")
        }
        let lunBlockSize = spec.lun < UInt64(controller.namespaces.count) ? controller.namespaces[Int(spec.lun)].blockSize : nil
        let blockSize = lunBlockSize ?? controller.namespaces.map(\.blockSize).max() ?? 512
        if let bound = CDBDataBound.of(spec.cdb, blockSize: blockSize), spec.length > bound.bytes {
            throw .usage("\(option) \(spec.length): the CDB moves at most \(bound.bytes) bytes (\(bound.field)), so a "
                + "larger buffer would never be used. Give \(option) \(bound.bytes) or less, or raise the CDB's length field.")
        }
    }
}
