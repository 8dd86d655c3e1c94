import ArgumentParser
import Foundation
import HexFormat
import Logging
import NVMe
import SCSIController

/// `ctrlbench fault-probe`: test-only, hidden from help. Sends one Read whose data pointer names
/// an IOVA the driver never mapped, so the IOMMU must refuse the controller's write to it; the
/// evidence of that is the IOMMU's own (a DMAR fault in the kernel log, which the VM tests check).
/// What the probe checks is the driver's side: whatever the controller makes of the refused DMA,
/// the outcome is named within a bounded time, never a hang or a crash.
///
/// Controllers differ: one reports Data Transfer Error, one never completes the command, and
/// QEMU 7.2's emulated NVMe completes it successfully although its write was blocked. The first
/// line of output starts with `refused:`, `unreported:` or `timed out:` accordingly.
///
/// Exit status: 0 when the outcome was one of those three; 1 when the probe could not be sent.
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
            print(try probe().text)
        } catch {
            FileHandle.standardError.write(Data("ctrlbench fault-probe: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// What happened to the stray Read.
    struct Result: Equatable {
        enum Outcome: Equatable { case refused, unreported, timedOut }
        var outcome: Outcome
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
        options.prepare(forMock: opened.isMock)
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
        let what = "Read of 1 block to unmapped IOVA \(hex(iova)) on \(opened.name)"
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
            return Result(outcome: .timedOut, text: "timed out: no completion within \(timeoutMs) ms for the \(what); "
                          + "the controller stalled on the refused DMA")
        }
        if completion.status.isSuccess {
            return Result(outcome: .unreported, text: "unreported: the \(what) completed successfully; the controller "
                          + "did not report a refused DMA, so only the IOMMU's log (dmesg: DMAR fault) shows whether it was")
        }
        return Result(outcome: .refused, text: "refused: the \(what) completed with \(completion.status)")
    }
}
