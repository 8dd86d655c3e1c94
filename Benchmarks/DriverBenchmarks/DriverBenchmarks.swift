import Benchmark
import DMAMapper
import Logging
import MockNVMe
import NVMe
import RingSupport
import SCSIController
import Translation

/// The driver's own cost per 4 KiB I/O, measured on the mock in its cheapest mode: inline
/// (the doorbell write completes the commands at once) and discarding data (no copy, no
/// storage). What remains is the driver's hot path - SQ entry, data pointer, doorbell, phase
/// poll, completion - plus the mock's command decode, whose share callgrind separates
/// (scripts/callgrind.sh).
///
/// Each raw queue-pair iteration is one I/O; they run in batches of `queueDepth` with one SQ
/// doorbell per batch and one CQ doorbell per poll pass, as the queue pair is meant to be driven.
/// The block-API benchmark is one `IOQueue.read` of 4 KiB per iteration: the whole request path
/// (constraint checks, the breaker, the request loop with its queue claim and watchdog), one
/// command at a time, so it shows what a caller who does not batch pays per I/O. The SCSI
/// benchmark is one READ(10) task of 4 KiB per iteration through `SCSIHostAdapter.process`:
/// translation, the unit-state check and the same request path. The task is built once and its
/// LBA rewritten in place, as an HBA front end reuses its task slots, so the CDB costs nothing.
/// The pipelined SCSI benchmark keeps `queueDepth` READ(10) tasks in flight through
/// `SCSITaskPipeline`, the export's path: one task slot each, rewritten in place when handed back.
/// The TCMU ring benchmarks are one READ(10) or WRITE(10) of 4 KiB per iteration served by the
/// export's `RingServer` end to end (`RingServerRig`): the entry written into an in-memory TCMU map
/// as the kernel writes it, cmd_head published, the kernel's kick; the server's worker thread
/// taking the kick, parsing the entry, translating, running it through its pipeline on the mock,
/// copying the 4 KiB between the data area and its DMA slot, writing the response and moving
/// cmd_tail, which the benchmark's thread waits for. The malloc count covers every thread, so the
/// worker's idle waits for the kick are in it too.
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal, .throughput]
    let thresholds: [BenchmarkMetric: BenchmarkThresholds] = [
        .mallocCountTotal: BenchmarkThresholds(absolute: [.p0: 0, .p25: 0, .p50: 0, .p75: 0, .p90: 0, .p99: 0, .p100: 0]),
    ]
    let configuration = Benchmark.Configuration(
        metrics: metrics, warmupIterations: 10, scalingFactor: .kilo, maxDuration: .seconds(2),
        maxIterations: 2000, thresholds: thresholds)

    // Names without spaces: the threshold files are looked up by name.
    for (name, opcode) in [("read-4KiB-null-mock", NVMOpcode.read), ("write-4KiB-null-mock", .write)] {
        for mode in [DataPointerMode.prp, .sgl] {
            Benchmark("\(name)-\(mode == .prp ? "PRP" : "SGL")", configuration: configuration) { benchmark, rig in
                rig.run(ios: benchmark.scaledIterations.count, opcode: opcode, benchmark: benchmark)
            } setup: {
                try NullDeviceRig(mode: mode)
            }
        }
    }

    Benchmark("read-4KiB-block-API-null-mock", configuration: configuration) { benchmark, rig in
        rig.runBlockReads(ios: benchmark.scaledIterations.count, benchmark: benchmark)
    } setup: {
        try NullDeviceRig(mode: .automatic)
    }

    Benchmark("read10-4KiB-SCSI-null-mock", configuration: configuration) { benchmark, rig in
        rig.runSCSIReads(ios: benchmark.scaledIterations.count, benchmark: benchmark)
    } setup: {
        try NullDeviceRig(mode: .automatic)
    }

    Benchmark("read10-4KiB-SCSI-pipeline-null-mock", configuration: configuration) { benchmark, rig in
        rig.runPipelinedSCSIReads(ios: benchmark.scaledIterations.count, benchmark: benchmark)
    } setup: {
        try NullDeviceRig(mode: .automatic)
    }

    for (name, opcode) in [("read10-4KiB-TCMU-ring-null-mock", UInt8(0x28)), ("write10-4KiB-TCMU-ring-null-mock", 0x2A)] {
        Benchmark(name, configuration: configuration) { benchmark, rig in
            try rig.run(commands: benchmark.scaledIterations.count, benchmark: benchmark)
        } setup: {
            try RingServerRig(opcode: opcode)
        }
    }
}

/// An engine on an inline, data-discarding mock, with one preallocated buffer.
final class NullDeviceRig: @unchecked Sendable {
    let mock: MockController
    let controller: NVMeController
    let ioQueue: IOQueue
    let queue: QueuePair
    let buffer: DMABuffer
    static let queueDepth = 32

    init(mode: DataPointerMode) throws {
        var configuration = MockConfiguration()
        configuration.discardData = true
        configuration.executionMode = .inline
        configuration.sglSupported = true
        mock = MockController(configuration: configuration)
        var options = ControllerOptions()
        options.ioQueueDepth = 256
        options.dataPointerMode = mode
        options.logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        controller = try NVMeController(device: mock, options: options)
        ioQueue = controller.ioQueues[0]
        queue = ioQueue.queuePair
        buffer = try controller.mapper.allocate(length: 4096 * Self.queueDepth)
    }

    /// Runs `ios` 4 KiB commands, `queueDepth` per doorbell.
    func run(ios: Int, opcode: NVMOpcode, benchmark: Benchmark) {
        var command = SubmissionQueueEntry.io(opcode, nsid: 1, lba: 0, blocks: 8)
        var submitted = 0
        var completed = 0
        var failures = 0
        benchmark.startMeasurement()
        while completed < ios {
            while submitted < ios, submitted - completed < Self.queueDepth {
                command.startingLBA = UInt64(submitted % 4096) * 8
                guard queue.submit(command, dataIOVA: buffer.iova + UInt64((submitted % Self.queueDepth) * 4096),
                                   dataLength: 4096, tag: UInt64(submitted)) == .submitted else {
                    fatalError("the inline mock refused a 4 KiB command: the benchmark's setup is broken")
                }
                submitted += 1
            }
            queue.ringDoorbell()
            completed += queue.poll { completion in
                if !completion.status.isSuccess { failures += 1 }
            }
        }
        benchmark.stopMeasurement()
        precondition(failures == 0, "\(failures) commands failed on the null device")
    }

    /// Runs `ios` 4 KiB reads through the block API, each a complete request.
    func runBlockReads(ios: Int, benchmark: Benchmark) {
        var failures = 0
        benchmark.startMeasurement()
        for index in 0..<ios {
            if !ioQueue.read(nsid: 1, lba: UInt64(index % 4096) * 8, blocks: 8, into: buffer).succeeded { failures += 1 }
        }
        benchmark.stopMeasurement()
        precondition(failures == 0, "\(failures) block reads failed on the null device")
    }

    /// Runs `ios` READ(10) tasks of 4 KiB (8 blocks) through the SCSI host adapter.
    func runSCSIReads(ios: Int, benchmark: Benchmark) {
        let adapter = SCSIHostAdapter(controller: controller)
        var task = SCSITask(lun: 0, cdb: [0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0], buffer: buffer, transferLength: 4096,
                            direction: .fromDevice)
        // The fresh unit's power-on UNIT ATTENTION is answered before the measured loop.
        _ = adapter.process(SCSITask(cdb: [0x00, 0, 0, 0, 0, 0]), on: ioQueue)
        // A constant array literal may be emitted as a static object; the first write copies it
        // into the task's own buffer, which is the one rewritten in place from then on.
        task.cdb[9] = 0
        var failures = 0
        benchmark.startMeasurement()
        for index in 0..<ios {
            setReadWrite10LBA(UInt32(index % 4096) * 8, in: &task.cdb)
            if adapter.process(task, on: ioQueue).status != .good { failures += 1 }
        }
        benchmark.stopMeasurement()
        precondition(failures == 0, "\(failures) READ(10) tasks failed on the null device")
    }

    /// Runs `ios` READ(10) tasks of 4 KiB through a `SCSITaskPipeline`, `queueDepth` in flight.
    func runPipelinedSCSIReads(ios: Int, benchmark: Benchmark) {
        let adapter = SCSIHostAdapter(controller: controller)
        let pipeline = SCSITaskPipeline(adapter: adapter, queue: ioQueue, depth: Self.queueDepth)
        _ = adapter.process(SCSITask(cdb: [0x00, 0, 0, 0, 0, 0]), on: ioQueue)
        var tasks = (0..<Self.queueDepth).map { slot in
            SCSITask(lun: 0, cdb: [0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0], buffer: buffer, bufferOffset: slot * 4096,
                     transferLength: 4096, direction: .fromDevice)
        }
        // Each task's CDB its own storage before the measured loop (see `runSCSIReads`).
        for slot in tasks.indices { tasks[slot].cdb[9] = 0 }
        var started = 0
        var failures = 0
        var free = Array(0..<Self.queueDepth)
        var freeCount = Self.queueDepth
        var finished = 0
        benchmark.startMeasurement()
        while finished < ios {
            while freeCount > 0, started < ios {
                freeCount -= 1
                let slot = free[freeCount]
                setReadWrite10LBA(UInt32(started % 4096) * 8, in: &tasks[slot].cdb)
                pipeline.start(tasks[slot], slot: slot)
                started += 1
            }
            finished += pipeline.poll { slot, response in
                if response.status != .good { failures += 1 }
                free[freeCount] = slot
                freeCount += 1
            }
        }
        benchmark.stopMeasurement()
        precondition(failures == 0, "\(failures) pipelined READ(10) tasks failed on the null device")
    }
}

/// A TCMU ring served by the export's `RingServer` on an inline, data-discarding mock, in the
/// export's shape: one worker keeping up to 32 commands in flight, the kernel's kick an eventfd
/// as uio's event count is. The map is laid out as the kernel lays it out: a 128-byte mailbox,
/// the command ring up to 64 KiB (where the kernel wraps its 128-byte entries), and one 4 KiB
/// block of the data area, reused by every command. Server and worker thread start in `init`,
/// outside the measured region, and run until the rig is released.
final class RingServerRig: @unchecked Sendable {
    let ring: ServedRing
    /// READ(10) or WRITE(10) of 8 blocks of 512 bytes; its LBA is rewritten in place.
    var cdb: [UInt8]
    /// The command's one iovec: the data area's first 4 KiB block.
    let iovecs: [(offset: Int, length: Int)]

    init(opcode: UInt8) throws {
        ring = try ServedRing(ringSize: (1 << 16) - 128, workers: 1, queueDepth: 32, pollableDoorbell: true) { configuration in
            configuration.discardData = true
            configuration.executionMode = .inline
        }
        // The fresh unit's power-on UNIT ATTENTION is answered before the measured loop.
        _ = try ring.run([0x00, 0, 0, 0, 0, 0])
        iovecs = [(ring.image.data(4096), 4096)]
        cdb = [opcode, 0, 0, 0, 0, 0, 0, 0, 8, 0]
        // The CDB its own storage before the measured loop (see `NullDeviceRig.runSCSIReads`).
        cdb[9] = 0
    }

    /// Runs `commands` commands one at a time: each entry is published and kicked, and the next
    /// one written once cmd_tail has passed it (the ring wraps as the kernel's does).
    func run(commands: Int, benchmark: Benchmark) throws {
        var failures = 0
        benchmark.startMeasurement()
        for index in 0..<commands {
            setReadWrite10LBA(UInt32(index % 4096) * 8, in: &cdb)
            let position = ring.image.command(id: UInt16(truncatingIfNeeded: index), cdb: cdb, iovecs: iovecs)
            ring.publish()
            try ring.waitUntilAnswered(spinning: true)
            if ring.image.status(at: position) != 0 { failures += 1 }
        }
        benchmark.stopMeasurement()
        precondition(failures == 0, "\(failures) commands failed through the TCMU ring")
    }
}

/// Writes `lba` into a READ(10) or WRITE(10) CDB in place (bytes 2-5, big-endian, SBC-4 5.11):
/// the benchmarks walk their 4 KiB commands over the first 16 MiB without a new CDB each.
func setReadWrite10LBA(_ lba: UInt32, in cdb: inout [UInt8]) {
    for index in 0..<4 { cdb[2 + index] = UInt8(truncatingIfNeeded: lba >> (24 - 8 * index)) }
}
