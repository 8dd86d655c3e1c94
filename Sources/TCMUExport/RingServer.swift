import DMAMapper
import Dispatch
import Foundation
import Logging
import SCSIController
import Synchronization
import Translation

/// Serves one TCMU command ring with the SCSI host adapter: the calling thread walks the ring
/// from cmd_tail to cmd_head and hands each command to an idle worker (one per I/O queue, so as
/// many commands are in flight on the engine as there are workers); a worker copies data-out from
/// the iovecs into its DMA buffer, runs the task, copies data-in back and writes the response at
/// the tail. Malformed entries are failed with sense by the ring thread itself.
public final class RingServer: Sendable {
    /// The logical unit every command of this ring goes to.
    public let lun: UInt64
    let parser: RingParser
    let map: SharedMap
    let doorbell: any RingDoorbell
    let adapter: SCSIHostAdapter
    let workers: [RingWorker]
    let completer: Mutex<RingCompleter>
    let idle: Mutex<IdleWorkers>
    let idleCount: DispatchSemaphore
    let stopRequested = Atomic<Bool>(false)
    let served = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    let logger: Logger
    /// Sense prepared once: ring defects, oversized requests, delivery failures.
    let ringDefectSense = SenseData.build(SenseCondition(.hardwareError, .internalTargetFailure), descriptorFormat: false)
    let illegalRequestSense = SenseData.build(SenseCondition(.illegalRequest, .invalidFieldInCDB), descriptorFormat: false)
    let deliveryFailureSense = SenseData.build(SenseCondition(.hardwareError, .logicalUnitCommunicationFailure), descriptorFormat: false)

    /// A server for the ring in `map`, with one worker per queue in `queues` (each queue then
    /// belongs to its worker's thread) and one `buffers` entry per worker. The mailbox is checked
    /// now. Without the kernel's out-of-order completion only the first queue is used.
    public init(map: SharedMap, doorbell: any RingDoorbell, adapter: SCSIHostAdapter, lun: UInt64,
                queues: [IOQueue], buffers: [DMABuffer], iovecCapacity: Int = 512, logger: Logger) throws(RingError) {
        precondition(!queues.isEmpty && queues.count == buffers.count, "RingServer: one buffer per queue, at least one")
        parser = try RingParser(map: map)
        let geometry = parser.geometry
        let tail = try geometry.checkedHead(UInt32(littleEndian: UnsafeRawBufferPointer(map.bytes)
            .loadUnaligned(fromByteOffset: RingLayout.tailOffset, as: UInt32.self)))
        let count = geometry.capabilities.contains(.outOfOrderCompletion) ? queues.count : 1
        workers = (0..<count).map { RingWorker(index: $0, queue: queues[$0], buffer: buffers[$0], iovecCapacity: iovecCapacity) }
        // Up to the announced transfer; above its buffer a worker runs a READ or WRITE in pieces.
        for worker in workers { worker.command.transferLimit = max(worker.buffer.length, adapter.facts.maximumTransferBytes) }
        var completer = RingCompleter(map: map, geometry: geometry, capacity: 2 * count + 16)
        completer.start(at: tail)
        self.completer = Mutex(completer)
        idle = Mutex(IdleWorkers(count: count))
        idleCount = DispatchSemaphore(value: count)
        self.map = map
        self.doorbell = doorbell
        self.adapter = adapter
        self.lun = lun
        self.logger = logger
    }

    /// Commands answered so far (including refused ones).
    public var commandsServed: Int { served.load(ordering: .relaxed) }
    /// Commands refused for a malformed entry.
    public var entriesRefused: Int { refused.load(ordering: .relaxed) }

    /// Asks `run()` to return once the ring is empty and every command in flight has completed.
    public func stop() { stopRequested.store(true, ordering: .releasing) }

    /// Serves the ring on the calling thread until `stop()`; returns when the workers are done.
    /// - Throws: `RingError` when the kernel's ring cannot be walked; commands in flight still complete.
    public func run() throws(RingError) {
        let finished = DispatchGroup()
        for worker in workers {
            finished.enter()
            let thread = Thread { [self] in
                serveCommands(worker)
                finished.leave()
            }
            thread.name = "tcmu-lun\(lun)-\(worker.index)"
            thread.start()
        }
        defer {
            for _ in workers { idleCount.wait() }
            for worker in workers {
                worker.exitRequested = true
                worker.go.signal()
            }
            finished.wait()
            // Back to the initial count: libdispatch traps on freeing a semaphore below it.
            for _ in workers { idleCount.signal() }
        }
        var cursor = completer.withLock { $0.tail }
        while true {
            let head = try parser.head()
            if cursor == head {
                if stopRequested.load(ordering: .acquiring) { return }
                _ = doorbell.waitForKick(milliseconds: 100)
                continue
            }
            idleCount.wait()
            let worker = workers[idle.withLock { $0.pop() }]
            while !completer.withLock({ $0.hasRoom }) { usleep(50) }
            let entry: RingEntry
            do { entry = try parser.entry(at: cursor, head: head, into: worker.command) } catch {
                handBack(worker)
                throw error
            }
            cursor = (cursor + entry.length) % parser.geometry.commandRingSize
            switch entry {
            case let .skip(length):
                completer.withLock { $0.record(length: length, command: false) }
                handBack(worker)
            case let .command(length):
                completer.withLock { $0.record(length: length, command: true) }
                worker.go.signal()
            case let .malformed(length, defect):
                logger.warning("TCMU LUN \(lun): refusing command \(worker.command.id): \(defect)")
                refused.add(1, ordering: .relaxed)
                let sense = defect.isIllegalRequest ? illegalRequestSense : ringDefectSense
                completer.withLock { $0.record(length: length, command: true) }
                respond(worker.command.id, RingResponse(status: .checkCondition), sense: sense)
                handBack(worker)
            }
        }
    }

    /// A worker's thread: serve each command it is handed until told to exit.
    func serveCommands(_ worker: RingWorker) {
        while true {
            worker.go.wait()
            if worker.exitRequested { return }
            serve(worker)
            handBack(worker)
        }
    }

    /// Copies in, runs the task, copies out, responds. The task runs in a buffer of the CDB's
    /// own length, whatever the iovecs hold (`DataPhasePlan`); a READ or WRITE larger than the
    /// buffer runs in pieces (`servedInPieces`).
    func serve(_ worker: RingWorker) {
        if servedInPieces(worker) { return }
        let command = worker.command
        let given = command.transferLength
        let plan = DataPhasePlan(phase: dataPhase(cdb: command.cdb, lun: lun, facts: adapter.facts),
                                 given: given, capacity: worker.buffer.length)
        guard !plan.refused else {
            let sense = SenseData.build(.invalidDataBuffer(cdb: command.cdb), descriptorFormat: false)
            respond(command.id, RingResponse(status: .checkCondition), sense: sense)
            return
        }
        if plan.gather > 0 {
            DataCopy.gather(command.iovecs, from: map, into: UnsafeMutableRawBufferPointer(rebasing: worker.buffer.bytes[0..<plan.gather]))
        }
        let task = SCSITask(lun: lun, cdb: command.cdb, buffer: plan.runLength > 0 ? worker.buffer : nil,
                            transferLength: plan.runLength, direction: plan.direction, tag: UInt64(command.id))
        let outcome = adapter.process(task, on: worker.queue)
        guard outcome.serviceResponse == .taskComplete else {
            logger.error("TCMU LUN \(lun): command \(command.id) (opcode \(command.cdb.first ?? 0)) not delivered: \(outcome.error.map { "\($0)" } ?? "no cause given")")
            respond(command.id, RingResponse(status: .checkCondition), sense: deliveryFailureSense)
            return
        }
        var response = RingResponse(status: outcome.status)
        if given > 0, plan.direction != .toDevice {
            let moved = plan.scattered(transferred: outcome.bytesTransferred, given: given)
            DataCopy.scatter(moved, of: UnsafeRawBufferPointer(worker.buffer.bytes), into: command.iovecs, of: map)
            if moved < given {
                // The kernel ignores a read_len of 0 and returns the whole data area: zeroed,
                // it holds nothing of an earlier command.
                DataCopy.zero(from: moved, of: command.iovecs, in: map)
                response.readLength = moved
            }
        }
        respond(command.id, response, sense: outcome.sense)
    }

    /// Writes the response at the tail, publishes it and kicks the kernel.
    func respond(_ id: UInt16, _ response: RingResponse, sense: [UInt8]) {
        completer.withLock {
            $0.complete(id: id, response: response, sense: sense)
            $0.publish()
        }
        served.add(1, ordering: .relaxed)
        doorbell.kick()
    }

    func handBack(_ worker: RingWorker) {
        idle.withLock { $0.push(worker.index) }
        idleCount.signal()
    }
}
