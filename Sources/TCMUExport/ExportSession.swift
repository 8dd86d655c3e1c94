import DMAMapper
import Foundation
import Logging
import SCSIController
import Synchronization
import Translation

/// Why an export could not start or stop cleanly.
public struct ExportError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A running export: the configfs layout, one uio device and ring server per backstore, each on
/// its own thread. Start order: backstores, rings served, fabrics. Stop order: fabrics (still
/// serving: the initiators' last commands arrive then), rings drained, a SYNCHRONIZE CACHE per
/// LUN, backstores. The controller is the caller's to shut down after `stop()`.
public final class ExportSession {
    public let layout: ExportLayout
    let adapter: SCSIHostAdapter
    let paths: SystemPaths
    let workersPerLUN: Int
    let queueDepth: Int
    let pollsBeforeSleep: Int
    let logger: Logger
    private var devices: [UIODevice] = []
    private var servers: [RingServer] = []
    private let finished = DispatchGroup()
    private let failures = Failures()
    /// Called on a ring thread when its ring breaks; the export should then be stopped.
    public var onRingFailure: @Sendable () -> Void = {}

    /// An export of `adapter`'s LUNs as `layout` describes; each LUN gets `workersPerLUN` of the
    /// controller's I/O queues (the controller must have that many per backstore), each keeping up
    /// to `queueDepth` commands in flight (1: one at a time). A worker whose queue has a completion
    /// interrupt polls `pollsBeforeSleep` times before it sleeps on it (`RingServer`).
    public init(layout: ExportLayout, adapter: SCSIHostAdapter, paths: SystemPaths, workersPerLUN: Int, queueDepth: Int = 1,
                pollsBeforeSleep: Int = 1, logger: Logger) {
        self.pollsBeforeSleep = max(1, pollsBeforeSleep)
        self.layout = layout
        self.adapter = adapter
        self.paths = paths
        self.workersPerLUN = workersPerLUN
        self.queueDepth = max(1, queueDepth)
        self.logger = logger
    }

    /// The uio devices in use, one per backstore.
    public var uioPaths: [String] { devices.map(\.path) }

    /// Creates the backstores, serves their rings, creates the fabrics.
    public func start() throws(ExportError) {
        do { try layout.createBackstores() } catch { throw ExportError("\(error)") }
        do {
            for (index, backstore) in layout.backstores.enumerated() {
                let device = try openUIO(for: backstore)
                devices.append(device)
                try serve(backstore, on: device, queueBase: index * workersPerLUN)
            }
            try layout.createFabrics()
        } catch let error as ConfigFSError {
            _ = stop()
            throw ExportError("\(error)")
        } catch let error as ExportError {
            _ = stop()
            throw error
        } catch {
            _ = stop()
            throw ExportError("\(error)")
        }
    }

    /// The first ring failure, if a ring broke while serving (the export should then stop).
    public var ringFailure: String? { failures.first }

    /// Tears down in order; returns the problems met (empty when clean).
    public func stop() -> [String] {
        var problems: [String] = []
        do { try layout.removeFabrics() } catch { problems.append("\(error)") }
        for server in servers { server.stop() }
        finished.wait()
        for server in servers {
            logger.info("LUN \(server.lun): \(server.commandsServed) commands, \(server.kicksSent) kicks sent, \(server.kicksTaken) kicks taken, \(server.helpersWoken) workers woken for a backlog, \(server.commandsOverlapped) started with others in flight, \(server.completionSleeps) sleeps on completion interrupts (\(server.lostInterrupts) timed out with a completion there)")
            let sync = SCSITask(lun: server.lun, cdb: [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            let response = adapter.process(sync, on: server.workers[0].queue)
            if response.status != .good || response.serviceResponse != .taskComplete {
                problems.append("SYNCHRONIZE CACHE on LUN \(server.lun) failed: \(response.error.map { "\($0)" } ?? "status \(response.status)")")
            }
        }
        servers.removeAll()
        devices.removeAll()
        do { try layout.removeBackstores() } catch { problems.append("\(error)") }
        if let failure = failures.first { problems.append(failure) }
        return problems
    }

    func openUIO(for backstore: Backstore) throws -> UIODevice {
        var found: String?
        for _ in 0..<50 {
            found = findUIO(named: backstore.uioName, sysfsRoot: paths.sysfs)
            if found != nil { break }
            usleep(100_000)
        }
        guard let name = found else {
            throw ExportError("no uio device is named \(backstore.uioName) in \(paths.sysfs)/class/uio after enabling \(backstore.path)")
        }
        do {
            return try UIODevice(path: paths.dev + "/" + name, sizePath: "\(paths.sysfs)/class/uio/\(name)/maps/map0/size")
        } catch { throw ExportError("\(error)") }
    }

    func serve(_ backstore: Backstore, on device: UIODevice, queueBase: Int) throws {
        let queues = Array(adapter.controller.ioQueues[queueBase..<(queueBase + workersPerLUN)])
        let bytes = backstore.maximumSectors * backstore.blockSize
        let buffers = try queues.map { _ in try adapter.controller.mapper.allocate(length: bytes, access: .readWrite) }
        // A pipelined worker's slots: up to `slotBytes` each; larger commands use the buffer above.
        let slotBytes = min(bytes, Self.slotBytes)
        let slabs = queueDepth > 1
            ? try queues.map { _ in try adapter.controller.mapper.allocate(length: queueDepth * slotBytes, access: .readWrite) } : []
        let server = try RingServer(map: device.map, doorbell: device, adapter: adapter, lun: backstore.lun,
                                    queues: queues, buffers: buffers, slabs: slabs, queueDepth: queueDepth,
                                    pollsBeforeSleep: pollsBeforeSleep, logger: logger)
        servers.append(server)
        finished.enter()
        let failures = failures, finished = finished, logger = logger, onRingFailure = onRingFailure
        let thread = Thread {
            do throws(RingError) { try server.run() } catch {
                logger.error("TCMU ring of \(backstore.path) stopped: \(error)")
                failures.record("\(backstore.path): \(error)")
                onRingFailure()
            }
            finished.leave()
        }
        thread.name = "tcmu-ring-lun\(backstore.lun)"
        thread.start()
        logger.info("serving \(backstore.path) on \(device.path) (\(device.map.bytes.count) bytes mapped, \(server.workers.count) worker(s), \(server.inFlightLimit) in flight, completions \(server.sleepsOnCompletions ? "by interrupt" : "polled"))")
    }
}

extension ExportSession {
    /// The data a pipeline slot holds: 128 KiB, the block layer's usual largest request
    /// (max_sectors_kb); a larger command runs in the worker's own buffer.
    static let slotBytes = 128 << 10
}

/// Ring failures reported from the ring threads.
final class Failures: Sendable {
    private let lines = Mutex<[String]>([])
    func record(_ line: String) { lines.withLock { $0.append(line) } }
    var first: String? { lines.withLock { $0.first } }
}
