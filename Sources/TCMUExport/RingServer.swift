import DMAMapper
import Dispatch
import Foundation
import Logging
import SCSIController
import Synchronization
import Translation

/// Serves one TCMU command ring with the SCSI host adapter. Every worker (one per I/O queue) is a
/// thread that claims entries from the ring itself under the server's lock and answers them at the
/// tail; no command is handed from thread to thread. With the kernel's out-of-order completion and
/// a `queueDepth` above 1 a worker keeps up to that many commands in flight on its queue
/// (`SCSITaskPipeline`, RingServer+Pipeline.swift): it claims an entry per free slot, copies
/// data-out into the slot's DMA region, starts the task, and polls; each finished command's
/// data-in is copied back and its response written as the device finishes it. Otherwise a worker
/// runs one command at a time (copy in, `SCSIHostAdapter.process`, copy out, respond), which also
/// keeps responses in ring order when the kernel cannot take them out of order (one worker then).
/// A command larger than a slot goes the one-at-a-time way in the worker's own buffer, and in
/// pieces above it (`servedInPieces`).
///
/// An idle worker (nothing in flight) is woken only when the ring has more entries than the busy
/// ones take, and one idle worker at a time waits for the kernel's kick, so no CPU the kernel's
/// side needs is burnt while nothing is in flight. Responses are kicked to the kernel once the
/// ring runs dry, or every `responsesPerKick` responses, not one by one: each kick is a system
/// call in which the kernel completes every response published so far, and the engine's polling
/// already shares the CPU with the kernel's side (measured in a 2-vCPU TCG guest, fio QD32, one
/// command in flight: a kick per response 499 IOPS, per 8 705, per 32 905). Malformed entries
/// are failed with sense.
public final class RingServer: Sendable {
    /// The logical unit every command of this ring goes to.
    public let lun: UInt64
    let parser: RingParser
    let map: SharedMap
    let doorbell: any RingDoorbell
    let adapter: SCSIHostAdapter
    let workers: [RingWorker]
    let state: Mutex<RingState>
    let responsesPerKick: Int
    let stopRequested = Atomic<Bool>(false)
    let served = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    let kicks = Atomic<Int>(0)
    let kernelKicks = Atomic<Int>(0)
    let helperWakeups = Atomic<Int>(0)
    let overlapped = Atomic<Int>(0)
    let sleeps = Atomic<Int>(0)
    let lostWakeups = Atomic<Int>(0)
    /// Polls of a worker's pipeline that find nothing before it sleeps on its completion interrupt.
    let pollsBeforeSleep: Int
    let logger: Logger
    /// Sense prepared once: ring defects, oversized requests, delivery failures.
    let ringDefectSense = SenseData.build(SenseCondition(.hardwareError, .internalTargetFailure), descriptorFormat: false)
    let illegalRequestSense = SenseData.build(SenseCondition(.illegalRequest, .invalidFieldInCDB), descriptorFormat: false)
    let deliveryFailureSense = SenseData.build(SenseCondition(.hardwareError, .logicalUnitCommunicationFailure), descriptorFormat: false)

    /// A server for the ring in `map`, with one worker per queue in `queues` (each queue then
    /// belongs to its worker's thread) and one `buffers` entry per worker; with `slabs` (one per
    /// worker) and a `queueDepth` above 1, each worker keeps up to `queueDepth` commands in flight
    /// in slots of `slab.length / queueDepth` bytes (rounded down to 4 KiB). The mailbox is checked
    /// now. Without the kernel's out-of-order completion only the first queue is used, one command
    /// at a time.
    /// `responsesPerKick` bounds the responses published before the kernel is kicked while the
    /// ring still holds commands (at least 1: a kick per response). A pipelined worker whose queue
    /// has a completion interrupt polls `pollsBeforeSleep` times (at least 1: the first announces
    /// what was started) before it sleeps until a completion or a kick may be there.
    public init(map: SharedMap, doorbell: any RingDoorbell, adapter: SCSIHostAdapter, lun: UInt64,
                queues: [IOQueue], buffers: [DMABuffer], slabs: [DMABuffer] = [], queueDepth: Int = 1,
                iovecCapacity: Int = 512, responsesPerKick: Int = 32, pollsBeforeSleep: Int = 1, logger: Logger) throws(RingError) {
        precondition(pollsBeforeSleep >= 1, "RingServer: at least one poll before a sleep")
        precondition(!queues.isEmpty && queues.count == buffers.count, "RingServer: one buffer per queue, at least one")
        precondition(slabs.isEmpty || slabs.count == queues.count, "RingServer: one slab per queue, or none")
        precondition(queueDepth >= 1, "RingServer: a queue depth of at least 1")
        precondition(responsesPerKick >= 1, "RingServer: at least one response per kick")
        parser = try RingParser(map: map)
        let geometry = parser.geometry
        let tail = try geometry.checkedHead(UInt32(littleEndian: UnsafeRawBufferPointer(map.bytes)
            .loadUnaligned(fromByteOffset: RingLayout.tailOffset, as: UInt32.self)))
        // Without out-of-order completion responses go in ring order: one command at a time.
        let outOfOrder = geometry.capabilities.contains(.outOfOrderCompletion)
        let count = outOfOrder ? queues.count : 1
        let depth = outOfOrder && !slabs.isEmpty ? queueDepth : 1
        workers = (0..<count).map {
            RingWorker(index: $0, queue: queues[$0], buffer: buffers[$0], iovecCapacity: iovecCapacity, adapter: adapter,
                       slab: depth > 1 ? slabs[$0] : nil, depth: depth)
        }
        // Up to the announced transfer; above its buffer a worker runs a READ or WRITE in pieces.
        for worker in workers {
            for command in [worker.command] + worker.slotCommands {
                command.transferLimit = max(worker.buffer.length, adapter.facts.maximumTransferBytes)
            }
        }
        // Every command in flight, and as many PAD (or TMR) entries between them.
        var completer = RingCompleter(map: map, geometry: geometry, capacity: 2 * count * depth + 16)
        completer.start(at: tail)
        state = Mutex(RingState(cursor: tail, completer: completer, idle: IndexStack(capacity: count)))
        self.responsesPerKick = responsesPerKick
        self.pollsBeforeSleep = pollsBeforeSleep
        self.map = map
        self.doorbell = doorbell
        self.adapter = adapter
        self.lun = lun
        self.logger = logger
    }

    /// The most commands the workers keep at the device at once.
    public var inFlightLimit: Int { workers.reduce(0) { $0 + ($1.pipeline?.depth ?? 1) } }
    /// Commands answered so far (including refused ones).
    public var commandsServed: Int { served.load(ordering: .relaxed) }
    /// Commands refused for a malformed entry.
    public var entriesRefused: Int { refused.load(ordering: .relaxed) }
    /// Kicks sent to the kernel (one system call each).
    public var kicksSent: Int { kicks.load(ordering: .relaxed) }
    /// Waits for the kernel's kick that ended with one (two system calls and a wake-up each).
    public var kicksTaken: Int { kernelKicks.load(ordering: .relaxed) }
    /// Commands started while others of the same worker were at the device (pipelined workers).
    public var commandsOverlapped: Int { overlapped.load(ordering: .relaxed) }
    /// Idle workers woken for a backlog (a thread wake-up each).
    public var helpersWoken: Int { helperWakeups.load(ordering: .relaxed) }
    /// Sleeps of pipelined workers on their completion interrupt (a system call and a wake-up each).
    public var completionSleeps: Int { sleeps.load(ordering: .relaxed) }
    /// Sleeps that ran to their timeout although a completion was there: an interrupt the
    /// device did not raise (or that did not reach us). Each cost `sleepMilliseconds`.
    public var lostInterrupts: Int { lostWakeups.load(ordering: .relaxed) }
    /// Whether the workers sleep on completion interrupts (their queues have them, and they pipeline).
    public var sleepsOnCompletions: Bool { workers.contains { $0.sleepsOnCompletions } }

    /// Asks `run()` to return once the ring is empty and every command in flight has completed.
    public func stop() { stopRequested.store(true, ordering: .releasing) }

    /// Serves the ring on the calling thread and one thread per further worker until `stop()`;
    /// returns when every worker is done.
    /// - Throws: `RingError` when the kernel's ring cannot be walked; commands in flight still complete.
    public func run() throws(RingError) {
        let finished = DispatchGroup()
        for worker in workers.dropFirst() {
            finished.enter()
            let thread = Thread { [self] in
                serve(worker)
                finished.leave()
            }
            thread.name = "tcmu-lun\(lun)-\(worker.index)"
            thread.start()
        }
        serve(workers[0])
        finished.wait()
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// A worker's loop, pipelined or one command at a time.
    func serve(_ worker: RingWorker) {
        if worker.pipeline != nil { servePipelined(worker) } else { serveRing(worker) }
    }

    /// A worker's loop one command at a time: claim the next command and serve it, or kick, or
    /// wait, until told to exit.
    func serveRing(_ worker: RingWorker) {
        var waitedForKick = false
        while true {
            let step = state.withLock { claim(for: worker, into: worker.command, &$0, waitedForKick: waitedForKick, busy: false) }
            waitedForKick = false
            switch step {
            case let .serve(helper):
                wakeHelper(helper)
                serve(worker.command, in: worker.buffer, on: worker.queue)
            case let .refuse(defect, helper):
                wakeHelper(helper)
                refuse(worker.command, defect)
            case .kick:
                kick()
            case .waitForKick:
                waitForKick()
                waitedForKick = true
            case .idle:
                worker.wake.wait()
            case .exit, .poll:
                exit()
                return
            }
        }
    }

    /// Fails a malformed entry with sense.
    func refuse(_ command: ParsedCommand, _ defect: EntryDefect) {
        logger.warning("TCMU LUN \(lun): refusing command \(command.id): \(defect)")
        refused.add(1, ordering: .relaxed)
        respond(command.id, RingResponse(status: .checkCondition), sense: defect.isIllegalRequest ? illegalRequestSense : ringDefectSense)
    }

    func waitForKick() {
        if doorbell.waitForKick(milliseconds: 100) { kernelKicks.add(1, ordering: .relaxed) }
    }

    /// A worker leaves: idle workers come back, find the same reason to exit and exit too.
    func exit() {
        while let index = state.withLock({ $0.idle.pop() }) { workers[index].wake.signal() }
    }

    /// What a worker does next, decided under the lock: the next command entry is parsed into
    /// `command` (PAD and TMR entries are walked past); with none, unkicked responses are kicked,
    /// then a `busy` worker (commands in flight) polls them, and any other exits (stop or a broken
    /// ring), waits for the kernel's kick (if no other worker does), or parks until there is a backlog.
    func claim(for worker: RingWorker, into command: ParsedCommand, _ state: inout RingState, waitedForKick: Bool,
               busy: Bool) -> RingStep {
        if waitedForKick { state.kickWaiter = false }
        if state.failure != nil {
            // The responses published before the ring broke still reach the kernel.
            guard state.unkicked > 0 else { return busy ? .poll : .exit }
            state.unkicked = 0
            return .kick
        }
        var ringEmpty = false
        while state.completer.hasRoom {
            let head: Int, entry: RingEntry
            do throws(RingError) {
                head = try parser.head()
                if state.cursor == head {
                    ringEmpty = true
                    break
                }
                entry = try parser.entry(at: state.cursor, head: head, into: command)
            } catch {
                state.failure = error
                return claim(for: worker, into: command, &state, waitedForKick: false, busy: busy)
            }
            state.cursor = (state.cursor + entry.length) % parser.geometry.commandRingSize
            switch entry {
            case let .skip(length):
                state.completer.record(length: length, command: false)
                continue
            case let .command(length):
                state.completer.record(length: length, command: true)
                return .serve(helper: state.cursor != head ? state.idle.pop() : nil)
            case let .malformed(length, defect):
                state.completer.record(length: length, command: true)
                return .refuse(defect, helper: state.cursor != head ? state.idle.pop() : nil)
            }
        }
        if state.unkicked > 0 {
            state.unkicked = 0
            return .kick
        }
        if busy { return .poll }
        // No room means commands are in flight (entries at the tail wait for their responses): their
        // workers come back to the ring, and one of them waits for the kick when it runs dry.
        if ringEmpty {
            if stopRequested.load(ordering: .acquiring) { return .exit }
            if !state.kickWaiter {
                state.kickWaiter = true
                return .waitForKick
            }
        }
        state.idle.push(worker.index)
        return .idle
    }

    func wakeHelper(_ helper: Int?) {
        guard let helper else { return }
        helperWakeups.add(1, ordering: .relaxed)
        workers[helper].wake.signal()
    }

    /// Copies in, runs the task, copies out, responds. The task runs in a buffer of the CDB's
    /// own length, whatever the iovecs hold (`DataPhasePlan`); a READ or WRITE larger than the
    /// buffer runs in pieces (`servedInPieces`).
    func serve(_ command: ParsedCommand, in buffer: DMABuffer, on queue: IOQueue) {
        if servedInPieces(command, in: buffer, on: queue) { return }
        guard let plan = plan(command, phase: dataPhase(cdb: command.cdb, lun: lun, facts: adapter.facts),
                              in: UnsafeMutableRawBufferPointer(buffer.bytes)) else { return }
        let outcome = adapter.process(task(command, plan, buffer: buffer, offset: 0), on: queue)
        finish(command, plan, outcome, data: UnsafeRawBufferPointer(buffer.bytes))
    }

    /// The data phase of `command` in `region` (its DMA buffer), with data-out gathered into it;
    /// nil, the command answered, when the iovecs do not fit the CDB.
    func plan(_ command: ParsedCommand, phase: DataPhase, in region: UnsafeMutableRawBufferPointer) -> DataPhasePlan? {
        let plan = DataPhasePlan(phase: phase, given: command.transferLength, capacity: region.count)
        guard !plan.refused else {
            let sense = SenseData.build(.invalidDataBuffer(cdb: command.cdb), descriptorFormat: false)
            respond(command.id, RingResponse(status: .checkCondition), sense: sense)
            return nil
        }
        if plan.gather > 0 {
            DataCopy.gather(command.iovecs, from: map, into: UnsafeMutableRawBufferPointer(rebasing: region[0..<plan.gather]))
        }
        return plan
    }

    /// The task for `command` run as `plan` says, its data at `offset` of `buffer`.
    func task(_ command: ParsedCommand, _ plan: DataPhasePlan, buffer: DMABuffer, offset: Int) -> SCSITask {
        SCSITask(lun: lun, cdb: command.cdb, buffer: plan.runLength > 0 ? buffer : nil, bufferOffset: offset,
                 transferLength: plan.runLength, direction: plan.direction, tag: UInt64(command.id))
    }

    /// Answers `command` with the task's `outcome`, its data-in copied from `data` to the iovecs.
    func finish(_ command: ParsedCommand, _ plan: DataPhasePlan, _ outcome: SCSITaskResponse, data: UnsafeRawBufferPointer) {
        guard outcome.serviceResponse == .taskComplete else {
            respondUndelivered(command, outcome, what: "command \(command.id) (opcode \(command.cdb.first ?? 0))")
            return
        }
        let given = command.transferLength
        var response = RingResponse(status: outcome.status)
        if given > 0, plan.direction != .toDevice {
            let moved = plan.scattered(transferred: outcome.bytesTransferred, given: given)
            DataCopy.scatter(moved, of: data, into: command.iovecs, of: map)
            if moved < given {
                // The kernel ignores a read_len of 0 and returns the whole data area: zeroed,
                // it holds nothing of an earlier command.
                DataCopy.zero(from: moved, of: command.iovecs, in: map)
                response.readLength = moved
            }
        }
        respond(command.id, response, sense: outcome.sense)
    }

    /// Logs why the engine did not deliver `what` (a command, or a piece of one) and fails the
    /// command with LOGICAL UNIT COMMUNICATION FAILURE.
    func respondUndelivered(_ command: ParsedCommand, _ outcome: SCSITaskResponse, what: @autoclosure () -> String) {
        logger.error("TCMU LUN \(lun): \(what()) not delivered: \(outcome.error.map { "\($0)" } ?? "no cause given")")
        respond(command.id, RingResponse(status: .checkCondition), sense: deliveryFailureSense)
    }

    /// Writes the response at the tail and publishes it; kicks the kernel when `responsesPerKick`
    /// responses are waiting for one (else the worker kicks when it finds the ring dry).
    func respond(_ id: UInt16, _ response: RingResponse, sense: [UInt8]) {
        let kickNow = state.withLock { state in
            state.completer.complete(id: id, response: response, sense: sense)
            state.completer.publish()
            state.unkicked += 1
            guard state.unkicked >= responsesPerKick else { return false }
            state.unkicked = 0
            return true
        }
        served.add(1, ordering: .relaxed)
        if kickNow { kick() }
    }

    func kick() {
        kicks.add(1, ordering: .relaxed)
        doorbell.kick()
    }
}

/// What the workers of one ring share, under the server's lock.
struct RingState: ~Copyable {
    /// Ring position of the next entry to parse.
    var cursor: Int
    /// The entries between cmd_tail and the cursor, and the tail.
    var completer: RingCompleter
    /// Workers parked until the ring has a backlog.
    var idle: IndexStack
    /// Whether a worker waits for the kernel's kick (one at a time: the uio device has one event count).
    var kickWaiter = false
    /// Responses published since the last kick.
    var unkicked = 0
    /// The ring broke: every worker exits once its command in flight is answered.
    var failure: RingError?
}

/// A worker's next step (`RingServer.claim`).
enum RingStep {
    /// Serve the command parsed into the worker's `command`; wake `helper` for the backlog.
    case serve(helper: Int?)
    /// Fail the malformed entry whose id is in the worker's `command` with sense.
    case refuse(EntryDefect, helper: Int?)
    /// Kick the kernel for the responses published, then look again.
    case kick
    /// Wait for the kernel's kick, then look again.
    case waitForKick
    /// Park until woken.
    case idle
    /// Leave the loop.
    case exit
    /// Nothing to claim while the worker's pipeline has commands in flight: poll them.
    case poll
}
