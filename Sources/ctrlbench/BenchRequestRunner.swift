import DMAMapper
import SCSIController
import Translation

/// The block and SCSI paths: one request at a time per job, each one I/O of `--bs` bytes,
/// which the request breaker cuts into as many NVMe commands as the HBA constraints need (and
/// keeps in flight), so any size works: `--bs 1g` is one 1 GiB request per I/O.
/// One clock read per request; the deadline and the stop request are checked before each one.
struct RequestJobRunner {
    /// Where each I/O goes.
    enum Route {
        /// `IOQueue.read` / `IOQueue.write`.
        case block(IOQueue)
        /// READ(16) / WRITE(16) tasks through the host adapter to `lun`.
        case scsi(SCSIHostAdapter, IOQueue, lun: UInt64)
    }

    let route: Route
    let plan: JobPlan
    let control: RunControl
    let progress: JobProgress

    func run(buffer: DMABuffer, verifier: Verifier?) -> JobResult {
        var result = JobResult()
        result.index = plan.index
        var pattern = IOPattern(plan: plan)
        let blocksPerIO = plan.blocksPerIO
        let checksEveryRead = !plan.workload.writes
        let limit = plan.ioLimit ?? .max
        var task = SCSITask(cdb: [UInt8](repeating: 0, count: 16), buffer: buffer, transferLength: plan.ioBytes)
        if case let .scsi(_, _, lun) = route { task.lun = lun }
        var interval = DirectionResult.emptyHistogram()
        let logging = plan.measureLatency && plan.histogramInterval > 0
        var intervalEnd = plan.histogramEpoch &+ plan.histogramInterval
        let cpuStart = ThreadClock.cpuNanoseconds()
        var now = MonotonicClock.nanoseconds()
        result.startNanoseconds = now
        let deadline = plan.runtimeNanoseconds.map { now &+ $0 } ?? .max
        var issued = 0
        while issued < limit {
            if now >= deadline { break }
            if control.stopRequested.load(ordering: .relaxed) {
                result.interrupted = true
                break
            }
            let unit = pattern.nextUnit()
            let isWrite = pattern.nextIsWrite()
            let lba = plan.firstLBA + unit * UInt64(blocksPerIO)
            var check = false
            if let verifier {
                if isWrite { verifier.fill(buffer.address, lba: lba, count: blocksPerIO) }
                else { check = checksEveryRead || verifier.wasWritten(unit) }
                now = MonotonicClock.nanoseconds()
            }
            let failure = send(isWrite: isWrite, lba: lba, blocks: blocksPerIO, buffer: buffer, task: &task)
            let end = MonotonicClock.nanoseconds()
            issued += 1
            if let failure {
                result.fail(failure)  // fio's default: the first error ends the job
                now = end
                break
            } else {
                if isWrite { result.write.ios += 1 } else { result.read.ios += 1 }
                if plan.measureLatency {
                    if isWrite { _ = result.write.latency.record(end - now) } else { _ = result.read.latency.record(end - now) }
                    if logging { _ = interval.record(end - now) }
                }
                if let verifier {
                    if isWrite { verifier.markWritten(unit) }
                    else if check { verifier.check(buffer.address, lba: lba, blocks: blocksPerIO, into: &result) }
                }
            }
            now = end
            progress.completed.store(issued, ordering: .relaxed)
            if logging, now >= intervalEnd {
                result.intervals.append((Int((intervalEnd - plan.histogramEpoch) / plan.histogramInterval) - 1, interval))
                interval.reset()
                intervalEnd = plan.histogramEpoch &+ ((now - plan.histogramEpoch) / plan.histogramInterval + 1) * plan.histogramInterval
            }
        }
        result.endNanoseconds = now
        result.cpuNanoseconds = ThreadClock.cpuNanoseconds() - cpuStart
        if logging, interval.totalCount > 0 {
            result.intervals.append((Int((intervalEnd - plan.histogramEpoch) / plan.histogramInterval) - 1, interval))
        }
        return result
    }

    /// Runs one I/O; returns why it failed, or nil.
    private func send(isWrite: Bool, lba: UInt64, blocks: Int, buffer: DMABuffer, task: inout SCSITask) -> String? {
        switch route {
        case let .block(queue):
            let outcome = isWrite ? queue.write(nsid: plan.nsid, lba: lba, blocks: blocks, from: buffer)
                : queue.read(nsid: plan.nsid, lba: lba, blocks: blocks, into: buffer)
            return outcome.error.map { "\($0)" }
        case let .scsi(adapter, queue, _):
            task.cdb.withUnsafeMutableBufferPointer { cdb in
                cdb[0] = isWrite ? 0x8A : 0x88  // WRITE(16) / READ(16), SBC-4
                for index in 0..<8 { cdb[2 + index] = UInt8(truncatingIfNeeded: lba >> (56 - 8 * UInt64(index))) }
                for index in 0..<4 { cdb[10 + index] = UInt8(truncatingIfNeeded: UInt32(blocks) >> (24 - 8 * UInt32(index))) }
            }
            task.direction = isWrite ? .toDevice : .fromDevice
            let response = adapter.process(task, on: queue)
            guard response.serviceResponse == .taskComplete, response.status == .good else {
                let cause = response.error.map { ": \($0)" } ?? ""
                return "\(isWrite ? "WRITE(16)" : "READ(16)") at LBA \(lba): \(response.serviceResponse), status \(response.status)\(cause)"
            }
            return nil
        }
    }
}

/// After a write workload with `--verify`: every unit written is read back (block API, one
/// request each) and checked. Not timed.
enum VerifyReadBack {
    static func run(_ verifier: Verifier, queue: IOQueue, plan: JobPlan, buffer: DMABuffer, into result: inout JobResult) {
        for unit in verifier.writtenUnits() {
            let lba = plan.firstLBA + unit * UInt64(plan.blocksPerIO)
            let outcome = queue.read(nsid: plan.nsid, lba: lba, blocks: plan.blocksPerIO, into: buffer)
            if let error = outcome.error {
                result.fail("verify read-back at LBA \(lba): \(error)")
                continue
            }
            verifier.check(buffer.address, lba: lba, blocks: plan.blocksPerIO, into: &result)
        }
    }
}
