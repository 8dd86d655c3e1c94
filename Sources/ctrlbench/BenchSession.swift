import DMAMapper
import Foundation
import Logging
import MockNVMe
import SCSIController

/// Bench's options once parsed and range-checked (`Bench.settings()`).
struct BenchSettings: Sendable {
    static let iodepthRange = 1...65535  // an NVMe I/O queue holds at most 65536 entries, one kept empty
    static let jobRange = 1...4096       // one thread and one queue pair each
    static let maximumRuntimeSeconds = 31_536_000.0  // a year

    var workload: Workload
    var readPercent = 100
    var ioBytes = 4096
    var iodepth: Int?
    var jobs = 1
    var cpus: [Int]?
    var runtimeNanoseconds: UInt64?
    var ioLimit: Int?
    var regionBytes: Int?
    var offsetBytes = 0
    var nsid: UInt32?
    var verify: VerifyMode?
    var path: BenchPath?
    var percentiles: [Double] = [50, 99, 99.9]
    var histogramLog: String?
    var histogramIntervalNanoseconds: UInt64 = 1_000_000_000
    var measureLatency = true
    var pointers: Bench.Pointers = .auto
    var mockMode: Bench.MockMode = .null
    var mockLatencyMicroseconds = 10
    var mockQueues: Int?
    var mockCorruptReadLBA: UInt64?
    var mockGeometry = MockGeometry()
    /// `--trace`: every command written out; nil leaves the device unwrapped (no cost).
    var trace: CommandTrace?
    /// `--no-shadow-doorbells` clears it.
    var shadowDoorbells = true
}

/// One bench run: the device opened, the controller up, the options checked against what it
/// granted, then the jobs.
struct BenchSession {
    let settings: BenchSettings
    let controller: NVMeController
    let setup: BenchSetup
    let deviceName: String
    /// The mock, when the run is on one: its MMIO doorbell write count is reported per I/O.
    let mock: MockController?

    init(device: String, settings s: BenchSettings) throws(ScsiToolError) {
        settings = s
        let target = try DeviceTarget.parse(device, geometry: s.mockGeometry)
        let opened = try target.open(trace: s.trace) { configuration in
            configuration.ioQueueCount = s.mockQueues ?? max(configuration.ioQueueCount, s.jobs)
            configuration.discardData = s.mockMode == .null
            configuration.executionMode = s.mockMode == .threaded
                ? .threaded(latency: .microseconds(s.mockLatencyMicroseconds), outOfOrder: true) : .inline
        }
        deviceName = opened.name
        // Under --trace the mock sits inside the tracing wrapper.
        mock = (opened.device as? MockController) ?? ((opened.device as? TracingDevice)?.base as? MockController)
        if let lba = s.mockCorruptReadLBA {
            guard let mock else {
                throw .usage("--mock-corrupt-reads \(lba): only the mock can corrupt reads; drop it with --device \(opened.name)")
            }
            mock.inject(.corruptReadData(.io(.read, lbaRange: lba...lba)))
        }
        var options = ControllerOptions()
        options.ioQueueCount = s.jobs
        options.ioQueueDepth = (s.iodepth ?? 32) + 1
        options.shadowDoorbells = s.shadowDoorbells
        options.prepare(for: s.trace)
        options.dataPointerMode = s.pointers == .prp ? .prp : s.pointers == .sgl ? .sgl : .automatic
        options.logger = Logger(label: "ctrlbench.bench") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        options.prepare(forMock: opened.isMock)
        do { controller = try NVMeController(device: opened.device, options: options) } catch {
            throw .device("cannot bring up the NVMe controller on \(opened.name): \(error)")
        }
        setup = try Self.check(s, controller: controller,
                               device: opened.name, mode: opened.isMock ? "mock \(s.mockMode.rawValue)" : "vfio")
    }

    /// The checks that need the controller: namespace, block size, path, region, queue depth.
    static func check(_ s: BenchSettings, controller: NVMeController, device: String,
                      mode: String) throws(ScsiToolError) -> BenchSetup {
        let active = controller.namespaces.map { String($0.id) }.joined(separator: ", ")
        guard let namespace = s.nsid.map({ controller.namespace($0) }) ?? controller.namespaces.first else {
            throw .usage(s.nsid.map { "--namespace \($0): no such active namespace; active: \(active.isEmpty ? "none" : active)" }
                         ?? "the controller has no active namespace")
        }
        let blockSize = namespace.blockSize
        guard s.ioBytes % blockSize == 0 else {
            throw .usage("--bs \(s.ioBytes): must be a multiple of namespace \(namespace.id)'s block size (\(blockSize) bytes)")
        }
        let oneCommand = controller.maximumCommandBytes
        let path = s.path ?? (s.ioBytes <= oneCommand ? .raw : .block)
        let depth = s.iodepth ?? (path == .raw ? 32 : 1)
        switch path {
        case .raw where s.ioBytes > oneCommand:
            throw .usage("--bs \(s.ioBytes) with --path raw: one command carries 512 to \(oneCommand) bytes on this "
                         + "controller (MDTS); --path block lets the request breaker split larger I/Os")
        case .block, .scsi:
            let largest = min(controller.constraints.largestTransfer(write: false), controller.constraints.largestTransfer(write: true))
            guard s.ioBytes <= largest else {
                throw .usage("--bs \(s.ioBytes) with --path \(path.rawValue): allowed 512 to \(largest) bytes, the HBA "
                             + "constraints' largest transfer (maxTransferSize)")
            }
            guard depth == 1 else {
                throw .usage("--iodepth \(depth) with --path \(path.rawValue): allowed 1; the block and SCSI paths keep one "
                             + "request in flight per job (the breaker keeps its pieces in flight); use --numjobs for more")
            }
        default: break
        }
        let namespaceBytes = Int(namespace.blockCount) * blockSize
        guard s.offsetBytes % blockSize == 0, s.offsetBytes < namespaceBytes else {
            throw .usage("--offset \(s.offsetBytes): allowed 0 to \(namespaceBytes - blockSize) bytes in steps of "
                         + "\(blockSize) (namespace \(namespace.id) holds \(namespaceBytes) bytes)")
        }
        let available = namespaceBytes - s.offsetBytes
        let region = s.regionBytes ?? available
        guard region >= s.ioBytes, region <= available else {
            throw .usage("--size \(region): allowed \(s.ioBytes) (one --bs) to \(available) bytes (namespace \(namespace.id) "
                         + "from --offset \(s.offsetBytes))")
        }
        let units = UInt64(region / s.ioBytes)
        if units > RawTag.maximumUnits {
            throw .usage("--size \(region): \(units) I/Os of --bs \(s.ioBytes) is above the \(RawTag.maximumUnits) "
                         + "a run can address; give a smaller --size or a larger --bs")
        }
        if s.verify != nil, units > Verifier.maximumUnits {
            throw .usage("--verify remembers every I/O unit written: \(units) units of --bs in the region is above "
                         + "\(Verifier.maximumUnits); give a smaller --size or a larger --bs")
        }
        let granted = controller.ioQueues.first?.queuePair.capacity ?? 0
        return BenchSetup(device: device, mode: mode, path: path, workload: s.workload, readPercent: s.readPercent,
                          ioBytes: s.ioBytes, iodepthRequested: depth, iodepthGranted: min(depth, granted),
                          jobsRequested: s.jobs, queuePairsGranted: controller.ioQueues.count,
                          dataPointers: controller.usesSGL ? "SGL" : "PRP", shadowDoorbells: controller.usesShadowDoorbells,
                          nsid: namespace.id, blockSize: blockSize,
                          regionOffset: s.offsetBytes, regionBytes: Int(units) * s.ioBytes, verify: s.verify,
                          percentiles: s.percentiles, measureLatency: s.measureLatency)
    }

    /// The plan for job `index`.
    func plan(_ index: Int, epoch: UInt64) -> JobPlan {
        JobPlan(index: index, nsid: setup.nsid, blockSize: setup.blockSize,
                firstLBA: UInt64(setup.regionOffset / setup.blockSize), units: UInt64(setup.regionBytes / setup.ioBytes),
                ioBytes: setup.ioBytes, depth: setup.iodepthGranted, workload: setup.workload, readPercent: setup.readPercent,
                measureLatency: settings.measureLatency, ioLimit: settings.ioLimit, runtimeNanoseconds: settings.runtimeNanoseconds,
                verify: settings.verify, seed: UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15,
                histogramEpoch: epoch, histogramInterval: settings.histogramLog == nil ? 0 : settings.histogramIntervalNanoseconds)
    }
}
