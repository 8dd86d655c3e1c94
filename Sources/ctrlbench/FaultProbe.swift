import ArgumentParser
import Foundation
import Logging
import NVMe
import SCSIController

/// `ctrlbench fault-probe`: test-only, hidden from help. Sends one Read whose data pointer names
/// an IOVA the driver never mapped, so the IOMMU must refuse the controller's write to it (the VM
/// tests then find the DMAR fault in the guest kernel's log). What it checks is the driver's side:
/// the refusal comes back as a named error within a bounded time, never a hang or a crash.
///
/// Exit status: 0 when the controller reported the transfer failed (the expected outcome);
/// 1 when it reported success (nothing stopped the DMA) or gave no completion in time.
struct FaultProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault-probe",
        abstract: "Test only: send one Read to an IOVA the driver never mapped and report the refusal.",
        shouldDisplay: false)

    @Option(help: "`mock`, or the PCI address of a controller bound to vfio-pci.")
    var device = "mock"
    @Option(help: "Milliseconds to wait for the completion.")
    var timeoutMs = 10_000

    func run() throws {
        do {
            let result = try probe()
            print(result.text)
            if !result.refused { throw ExitCode(1) }
        } catch let error as ScsiToolError {
            FileHandle.standardError.write(Data("ctrlbench fault-probe: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// What happened to the stray Read.
    struct Result: Equatable {
        var refused: Bool
        var text: String
    }

    func probe() throws(ScsiToolError) -> Result {
        let opened = try DeviceTarget.parse(device, geometry: MockGeometry()).open()
        var options = ControllerOptions()
        options.ioQueueCount = 1
        options.logger = Logger(label: "ctrlbench.fault-probe") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        if opened.isMock { options.pinning = .disabled }
        let controller: NVMeController
        do { controller = try NVMeController(device: opened.device, options: options) } catch {
            throw .device("cannot bring up the NVMe controller on \(opened.name): \(error)")
        }
        guard let namespace = controller.namespaces.first, let queue = controller.ioQueues.first?.queuePair,
              let window = controller.mapper.iovaRanges.last else {
            throw .device("\(opened.name) has no active namespace or I/O queue to probe with")
        }
        // The last page of the highest IOVA window (the mapper's windows end on a page boundary):
        // the allocator hands out IOVAs from the bottom, so nothing the driver mapped is there.
        let page = UInt64(controller.pageSize)
        let iova = ((window.last &+ 1) & ~(page - 1)) &- page
        let what = "Read of 1 block to unmapped IOVA 0x\(String(iova, radix: 16)) on \(opened.name)"
        let read = SubmissionQueueEntry.io(.read, nsid: namespace.id, lba: 0, blocks: 1)
        guard case .submitted = queue.submit(read, dataIOVA: iova, dataLength: namespace.blockSize, tag: 1) else {
            throw .device("the I/O queue refused the \(what)")
        }
        queue.ringDoorbell()
        var completion: Completion?
        let deadline = MonotonicClock.nanoseconds() + UInt64(max(timeoutMs, 1)) * 1_000_000
        while completion == nil, MonotonicClock.nanoseconds() < deadline {
            queue.poll { completion = $0 }
        }
        guard let completion else {
            return Result(refused: false, text: "fault probe: no completion within \(timeoutMs) ms for the \(what); "
                          + "the controller stalled on the refused DMA")
        }
        if completion.status.isSuccess {
            return Result(refused: false, text: "fault probe: the \(what) completed successfully: "
                          + "nothing refused the DMA, so the IOMMU is not protecting host memory")
        }
        return Result(refused: true, text: "fault probe: refused as expected: the \(what) completed with \(completion.status)")
    }
}
