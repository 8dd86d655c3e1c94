import ArgumentParser
import Foundation
import HexFormat
import SCSIController

/// `ctrlbench explain --bytes N`: validate a set of HBA constraints against a controller, then
/// show how a request of N bytes would be carried out under them.
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate HBA constraints and show how a request of N bytes is cut into NVMe commands.",
        discussion: """
            First the constraints are validated against the controller (the mock by default, or \
            --device ADDRESS): with no constraint option they are derived from the controller; with \
            any, all nine keys are required, and an incomplete or inconsistent set is refused naming \
            the key, the value and the rule (exit status 1). Then the plan: the tasks the request \
            must be sent as (none larger than the largest transfer), the pieces the breaker cuts each \
            into (one NVMe command each, at most the segment byte count), and each command's data \
            pointer: PRP entries and PRP list pages, or SGL descriptors. The plan comes from the \
            engine's own breaker and data pointer encoder.

            Sizes and key values take decimal, hex (0x81) or binary units (512k, 10m, 1g).

            Examples (the forum thread behind this tool):
              # refused: no segment byte count
              ctrlbench explain --bytes 10m --kIOMaximumSegmentCountReadKey 0x81 --kIOMaximumSegmentCountWriteKey 0x81
              # the KEXT's set on a controller whose MDTS allows 512 KiB: 20 commands of 512 KiB
              ctrlbench explain --bytes 10m --mock-mdts 7 \\
                --kIOMaximumSegmentCountReadKey 0x81 --kIOMaximumSegmentCountWriteKey 0x81 \\
                --kIOMaximumSegmentByteCountReadKey 512k --kIOMaximumSegmentByteCountWriteKey 512k \\
                --kIOMinimumSegmentAlignmentByteCountKey 4 --kIOMaximumSegmentAddressableBitCountKey 32 \\
                --kIOMinimumHBADataAlignmentMaskKey 3 --maxTransferSize 67633152 --dmaAlignment 4
            """)

    enum Direction: String, EnumerableFlag { case read, write }

    @Option(help: ArgumentHelp("Request size in bytes (k/m/g suffixes; a multiple of the block size).", valueName: "bytes"))
    var bytes: SizeArgument

    @Flag(help: "Plan a read (the default) or a write.")
    var direction: Direction = .read

    @Option(help: ArgumentHelp("`mock`, or the PCI address of a controller bound to vfio-pci.", valueName: "mock|address"))
    var device = "mock"

    @Option(help: "Data pointers: auto (SGL when the controller has them), prp or sgl.")
    var pointers: PointerChoice = .auto

    @Option(help: ArgumentHelp("Where the buffer starts past a page boundary (a multiple of the required alignment).",
                               valueName: "bytes"))
    var bufferOffset = 0

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var trace: TraceOptions

    @OptionGroup(title: "HBA constraints (DriverKit's keys)") var constraints: ConstraintOptions
    @OptionGroup(title: "Mock geometry") var mock: MockOptions

    func run() throws {
        let report = try explain(trace: try trace.open())
        print(json ? report.json : report.text)
    }

    /// Brings the controller up under the constraints (which validates them) and plans the request.
    func explain(trace: CommandTrace? = nil) throws(ScsiToolError) -> ExplainReport {
        let target = try DeviceTarget.parse(device, geometry: try mock.geometry())
        if trace != nil, direction == .write, case .vfio = target {
            throw .usage("--trace with --write on \(device) would overwrite the start of namespace 1; trace a --read, or use the mock")
        }
        let session = try ScsiSession(target, trace: trace) { options in
            options.dataPointerMode = pointers.mode
            constraints.apply(to: &options)
        }
        let controller = session.controller
        guard let namespace = controller.namespaces.first else { throw .device("no usable namespace on \(session.deviceName)") }
        guard bufferOffset >= 0 else { throw .usage("--buffer-offset \(bufferOffset): 0 or more") }
        let plan: TransferPlan
        do {
            plan = try TransferPlan.plan(bytes: bytes.value, write: direction == .write, constraints: controller.constraints,
                                         blockSize: namespace.blockSize, pageSize: controller.pageSize,
                                         usesSGL: controller.usesSGL, bufferIOVA: (1 << 30) + UInt64(bufferOffset))
        } catch {
            throw .usage("--bytes \(bytes.value)\(bufferOffset > 0 ? " --buffer-offset \(bufferOffset)" : ""): \(error)")
        }
        if trace != nil { try carryOut(plan, on: session, namespaceBlocks: namespace.blockCount) }
        return ExplainReport(device: session.deviceName, model: controller.identify.modelNumber,
                             maximumCommandBytes: controller.maximumCommandBytes, constraints: ConstraintRow.rows(of: controller),
                             plan: plan, largestTaskRule: Self.largestTaskRule(controller.constraints, write: direction == .write))
    }

    /// With --trace: sends the plan's tasks as READ(16) or WRITE(16) from LBA 0 of the first LUN,
    /// so the trace shows the engine doing what the plan says.
    func carryOut(_ plan: TransferPlan, on session: ScsiSession, namespaceBlocks: UInt64) throws(ScsiToolError) {
        guard UInt64(plan.bytes / plan.blockSize) <= namespaceBlocks else {
            throw .usage("--trace runs the request from LBA 0, but \(plan.bytes) bytes exceed namespace 1 "
                + "(\(namespaceBlocks) blocks); give a smaller --bytes or a larger --mock-capacity")
        }
        _ = session.clearUnitAttention(lun: 0)
        for task in plan.tasks {
            let lba = UInt64(task.offset / plan.blockSize)
            let blocks = UInt32(task.bytes / plan.blockSize)
            var cdb: [UInt8] = [plan.write ? 0x8A : 0x88, 0]
            cdb += (0..<8).map { UInt8(truncatingIfNeeded: lba >> (56 - 8 * $0)) }
            cdb += (0..<4).map { UInt8(truncatingIfNeeded: blocks >> (24 - 8 * $0)) }
            cdb += [0, 0]
            let spec = ScsiCommandSpec(cdb: cdb, lun: 0, direction: plan.write ? .toDevice : .fromDevice, length: task.bytes,
                                       dataOut: plan.write ? [UInt8](repeating: 0, count: task.bytes) : [])
            let outcome = try session.execute(spec)
            guard outcome.status == .good else {
                throw .device("task at offset \(task.offset) ended \(outcome.status.name): \(outcome.engineError ?? hexBytes(outcome.sense))")
            }
        }
    }

    /// Which key (or product of keys) bounds a task, for the text.
    static func largestTaskRule(_ constraints: HBAConstraints, write: Bool) -> String {
        if constraints.largestTransfer(write: write) == constraints.maxTransferSize { return HBAConstraintKey.maxTransferSize.rawValue }
        let count: HBAConstraintKey = write ? .maximumSegmentCountWrite : .maximumSegmentCountRead
        let bytes: HBAConstraintKey = write ? .maximumSegmentByteCountWrite : .maximumSegmentByteCountRead
        return "\(count.rawValue) x \(bytes.rawValue)"
    }
}
