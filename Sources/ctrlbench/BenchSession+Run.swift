import DMAMapper
import Foundation
import SCSIController
import Synchronization

/// The jobs' DMA buffers, handed to their threads and released by the run once the jobs are done.
/// A job thread's closure (which holds this box) may be freed after the run has moved on; a buffer
/// it held would then be unmapped after the device was released, which fails (EINVAL) once the
/// kernel has removed the function. Released here, every buffer is unmapped first.
final class JobBuffers: Sendable {
    private let buffers: Mutex<[DMABuffer]>
    init(_ buffers: [DMABuffer]) { self.buffers = Mutex(buffers) }
    /// Job `index`'s buffer.
    func buffer(_ index: Int) -> DMABuffer { buffers.withLock { $0[index] } }
    /// Drops every buffer; call once no job runs.
    func release() { buffers.withLock { $0.removeAll() } }
}

extension BenchSession {
    /// Runs every job, reads back what a write workload wrote when verifying, then flushes and
    /// shuts the controller down (also after Ctrl-C) and reports.
    func run(control: RunControl, showProgress: Bool = true) throws(ScsiToolError) -> BenchReport {
        let jobs = setup.queuePairsGranted
        let bufferBytes = setup.ioBytes * (setup.path == .raw ? setup.iodepthGranted : 1)
        let buffers: JobBuffers
        do {
            buffers = JobBuffers(try (0..<jobs).map { _ in try controller.mapper.allocate(length: bufferBytes) })
        } catch {
            throw .device("cannot allocate \(jobs) DMA buffer(s) of \(bufferBytes) bytes: \(error)")
        }
        let adapter = setup.path == .scsi ? try scsiAdapter() : nil
        let progress = (0..<jobs).map { _ in JobProgress() }
        let ticker = showProgress
            ? ProgressLine(jobs: jobs, ioBytes: setup.ioBytes, totalIOs: settings.ioLimit.map { $0 * jobs },
                           runtimeNanoseconds: settings.runtimeNanoseconds,
                           letter: setup.workload.isMixed ? "m" : setup.workload.writes ? "w" : "r") : nil
        let epoch = MonotonicClock.nanoseconds()
        // The mock counts the MMIO doorbell writes it receives; on a real controller the engine's
        // own per-queue counts (read once the jobs have joined, so no thread owns the queues).
        let doorbellWrites = { [controller, mock] in
            mock?.mmioDoorbellWrites ?? controller.ioQueues.reduce(UInt64(0)) { $0 + UInt64($1.mmioDoorbellWrites) }
        }
        let doorbellsBefore: UInt64? = doorbellWrites()
        let session = self
        let results = BenchJobs.run(count: jobs, cpus: settings.cpus, control: control, progress: progress, ticker: ticker) { index in
            session.runJob(index, plan: session.plan(index, epoch: epoch), buffer: buffers.buffer(index), adapter: adapter,
                           control: control, progress: progress[index])
        }
        buffers.release()
        let doorbellsDuring = doorbellsBefore.map { doorbellWrites() &- $0 }
        do { try controller.stop() } catch {
            FileHandle.standardError.write(Data("ctrlbench bench: flush and shutdown of \(deviceName) failed: \(error)\n".utf8))
        }
        var report = BenchReport(setup: setup, results: results)
        report.mmioDoorbellWrites = doorbellsDuring
        if let path = settings.histogramLog {
            do {
                try HistogramLog.write(results, to: path, epoch: epoch, intervalNanoseconds: settings.histogramIntervalNanoseconds)
            } catch {
                throw .device("cannot write --write_hist_log \(path): \(error)")
            }
        }
        return report
    }

    /// One job on its own thread: the loop for the path, then the read-back when verifying writes.
    func runJob(_ index: Int, plan: JobPlan, buffer: DMABuffer, adapter: SCSIHostAdapter?, control: RunControl,
                progress: JobProgress) -> JobResult {
        let queue = controller.ioQueues[index]
        let verifier = plan.verify.map { Verifier(mode: $0, blockSize: plan.blockSize, units: plan.units) }
        var result: JobResult
        switch setup.path {
        case .raw:
            result = RawJobRunner(queue: queue.queuePair, plan: plan, control: control, progress: progress)
                .run(buffer: buffer.address, bufferIOVA: buffer.iova, verifier: verifier)
        case .block:
            result = RequestJobRunner(route: .block(queue), plan: plan, control: control, progress: progress)
                .run(buffer: buffer, verifier: verifier)
        case .scsi:
            let lun = UInt64(controller.namespaces.firstIndex { $0.id == plan.nsid } ?? 0)
            result = RequestJobRunner(route: .scsi(adapter!, queue, lun: lun), plan: plan, control: control, progress: progress)
                .run(buffer: buffer, verifier: verifier)
        }
        if let verifier, plan.workload.writes {
            VerifyReadBack.run(verifier, queue: queue, plan: plan, buffer: buffer, into: &result)
        }
        return result
    }

    /// The SCSI host adapter, with each LUN's power-on unit attention taken by TEST UNIT READY,
    /// as an initiator does before its first I/O.
    func scsiAdapter() throws(ScsiToolError) -> SCSIHostAdapter {
        let adapter = SCSIHostAdapter(controller: controller)
        for lun in controller.namespaces.indices {
            var response = adapter.process(SCSITask(lun: UInt64(lun), cdb: [0, 0, 0, 0, 0, 0]), on: controller.ioQueues[0])
            if response.status != .good {
                response = adapter.process(SCSITask(lun: UInt64(lun), cdb: [0, 0, 0, 0, 0, 0]), on: controller.ioQueues[0])
            }
            guard response.status == .good else {
                throw .device("LUN \(lun) is not ready for SCSI I/O: TEST UNIT READY returned \(response.status)")
            }
        }
        return adapter
    }
}
