import ArgumentParser
import DMAMapper
import Dispatch
import Foundation
import Logging
import MockNVMe
import SCSIController
import Synchronization

/// `ctrlbench bench`: IOPS, throughput and latency percentiles, on the mock by default.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure IOPS, throughput and latency percentiles (on the mock by default).",
        discussion: """
            Each queue is driven by its own thread, fio-style: --iodepth commands in flight, one SQ \
            doorbell per batch, one CQ doorbell per poll pass. Mock modes: `null` (inline, data \
            discarded: the cheapest device, so the numbers are the driver's own cost), `inline` (data \
            copied into sparse storage), `threaded` (a device thread completes after --mock-latency-us, \
            out of order). Latency is submit-to-completion; --no-latency drops the clock reads.
            """)

    enum MockMode: String, ExpressibleByArgument, CaseIterable { case null, inline, threaded }
    enum Pointers: String, ExpressibleByArgument, CaseIterable { case auto, prp, sgl }

    @Option(help: "`mock`, or the PCI address of a controller bound to vfio-pci.")
    var device = "mock"
    @Option(help: "read, write, randread or randwrite.")
    var rw: String = "randread"
    @Option(name: .customLong("bs"), help: "Bytes per I/O (a multiple of the block size).")
    var blockBytes = 4096
    @Option(help: "Commands in flight per queue.")
    var iodepth = 32
    @Option(help: "I/O queues, each driven by its own thread.")
    var queues = 1
    @Option(help: "Stop after this many I/Os per queue (default: run for --runtime).")
    var ios: Int?
    @Option(help: "Seconds to run when --ios is not given.")
    var runtime = 3.0
    @Option(help: "PRP, SGL, or automatic data pointers.")
    var pointers: Pointers = .auto
    @Option(help: "Mock mode: null, inline or threaded.")
    var mockMode: MockMode = .null
    @Option(help: "Threaded mock completion latency, microseconds.")
    var mockLatencyUs = 10
    @Flag(help: "Do not time each I/O (removes two clock reads per I/O).")
    var noLatency = false
    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard Workload(rawValue: rw) != nil else {
            throw ValidationError("--rw \(rw): choose one of \(Workload.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard iodepth >= 1, queues >= 1, blockBytes >= 512, runtime > 0 else {
            throw ValidationError("--iodepth, --queues, --bs (>= 512) and --runtime must be positive")
        }
    }

    func run() throws {
        do {
            let report = try measure()
            print(json ? report.jsonText : report.text)
            if report.failures > 0 { throw ExitCode(2) }
        } catch let error as ScsiToolError {
            FileHandle.standardError.write(Data("ctrlbench bench: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    func measure() throws(ScsiToolError) -> BenchReport {
        let workload = Workload(rawValue: rw)!
        let target = try DeviceTarget.parse(device, geometry: MockGeometry())
        let mode = mockMode
        let latency = mockLatencyUs
        let opened = try target.open { configuration in
            configuration.ioQueueCount = max(configuration.ioQueueCount, queues)
            configuration.discardData = mode == .null
            configuration.executionMode = mode == .threaded
                ? .threaded(latency: .microseconds(latency), outOfOrder: true) : .inline
        }
        var options = ControllerOptions()
        options.ioQueueCount = queues
        options.ioQueueDepth = max(iodepth + 1, 2)
        options.dataPointerMode = pointers == .prp ? .prp : pointers == .sgl ? .sgl : .automatic
        options.logger = Logger(label: "ctrlbench.bench") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        if opened.isMock { options.pinning = .disabled }
        let controller: NVMeController
        do { controller = try NVMeController(device: opened.device, options: options) } catch {
            throw .device("cannot bring up the NVMe controller on \(opened.name): \(error)")
        }
        guard let namespace = controller.namespaces.first, blockBytes % namespace.blockSize == 0,
              blockBytes <= controller.maximumCommandBytes else {
            throw .usage("--bs \(blockBytes) must be a multiple of the block size and at most one command "
                         + "(\(controller.maximumCommandBytes) bytes)")
        }
        let buffers: [DMABufferBox]
        let bufferBytes = blockBytes * iodepth
        do {
            buffers = try controller.ioQueues.map { _ in
                DMABufferBox(try controller.mapper.allocate(length: bufferBytes))
            }
        } catch {
            throw .device("cannot allocate DMA buffers: \(error)")
        }
        let results = Mutex([QueueRunResult?](repeating: nil, count: controller.ioQueues.count))
        let (ios, runtime, ioBytes, depth, measureLatency) = (self.ios, self.runtime, blockBytes, iodepth, !noLatency)
        DispatchQueue.concurrentPerform(iterations: controller.ioQueues.count) { index in
            let runner = QueueRunner(queue: controller.ioQueues[index].queuePair, nsid: namespace.id,
                                     blockSize: namespace.blockSize, namespaceBlocks: namespace.blockCount,
                                     ioBytes: ioBytes, depth: depth, workload: workload,
                                     measureLatency: measureLatency, seed: UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
            let result = runner.run(buffer: buffers[index].buffer, ios: ios, seconds: runtime)
            results.withLock { $0[index] = result }
        }
        let modeName = opened.isMock ? "mock \(mode.rawValue)" : "vfio"
        return BenchReport(device: opened.name, mode: modeName, workload: workload, ioBytes: blockBytes, depth: iodepth,
                           dataPointers: controller.usesSGL ? "SGL" : "PRP",
                           results: results.withLock { $0.compactMap { $0 } })
    }
}

/// Carries a DMA buffer into the per-queue threads.
struct DMABufferBox: Sendable { let buffer: DMABuffer; init(_ buffer: DMABuffer) { self.buffer = buffer } }

extension BenchReport {
    var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
