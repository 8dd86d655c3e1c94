import DMAMapper
import NVMe

/// One I/O queue pair with the request breaker above it. Owned by one thread: every method
/// runs on the owner's thread, polls on it, and returns when the request is complete.
public final class IOQueue: @unchecked Sendable {
    /// The raw queue pair, for callers that batch their own commands (benchmarks, async layers).
    public let queuePair: QueuePair
    /// One page of DMA memory for parameter data this queue builds (Dataset Management ranges).
    let scratch: DMABuffer
    /// The controller state this queue works against; held strongly, so the queue stays usable
    /// (or says the controller is stopped) whatever its owner does with the `NVMeController`.
    let core: ControllerCore

    init(queuePair: QueuePair, scratch: DMABuffer, core: ControllerCore) {
        self.queuePair = queuePair
        self.scratch = scratch
        self.core = core
    }

    /// Queue identifier.
    public var id: UInt16 { queuePair.id }
}

/// The outcome of a block request: how much moved and, on failure, the first error.
public struct BlockOutcome: Sendable {
    /// Bytes the request asked to move.
    public var requestedBytes: Int
    /// Bytes of the leading pieces that completed successfully before the first failed piece.
    public var bytesTransferred: Int
    /// NVMe commands the request was broken into.
    public var commands: Int
    /// The first error (lowest piece), or nil on success.
    public var error: ControllerError?
    /// The NVMe status of the first failed piece, when the failure was a status.
    public var status: CompletionStatus?
    /// Bytes not transferred.
    public var residual: Int { requestedBytes - bytesTransferred }
    /// Whether every piece succeeded.
    public var succeeded: Bool { error == nil }
}

/// A block-level request the breaker splits by the HBA constraints.
struct BlockRequest {
    var opcode: NVMOpcode
    var nsid: UInt32
    var lba: UInt64
    var blocks: Int
    var blockSize: Int
    var dataIOVA: UInt64
    var hasData: Bool
    var fua: Bool
    var cdw12Extra: UInt32 = 0
    var maxBlocksPerCommand: Int
}

extension IOQueue {
    /// Runs `request` as consecutive NVMe commands of at most `maxBlocksPerCommand` blocks,
    /// several in flight, and waits for all of them. The first failing piece (in LBA order)
    /// decides the error; bytes before it count as transferred.
    func run(_ request: BlockRequest, name: String) -> BlockOutcome {
        let pieces = (request.blocks + request.maxBlocksPerCommand - 1) / request.maxBlocksPerCommand
        var outcome = BlockOutcome(requestedBytes: request.hasData ? request.blocks * request.blockSize : 0,
                                   bytesTransferred: 0, commands: pieces)
        let controller = core
        guard !controller.isStopped else {
            outcome.error = .stopped
            return outcome
        }
        let generation = controller.resetGeneration
        let qp = queuePair
        var next = 0
        var completed = 0
        var firstFailed = Int.max
        var stopSubmitting = false
        var idleSpins = 0
        let hostileAtStart = qp.hostileCompletionCount

        func fail(_ piece: Int, _ error: ControllerError, _ status: CompletionStatus?) {
            if piece < firstFailed {
                firstFailed = piece
                outcome.error = error
                outcome.status = status
            }
            stopSubmitting = true
        }

        while completed < next || (next < pieces && !stopSubmitting) {
            while next < pieces, !stopSubmitting, qp.hasFreeSlot {
                let first = next * request.maxBlocksPerCommand
                let blocks = min(request.maxBlocksPerCommand, request.blocks - first)
                var command = SubmissionQueueEntry.io(request.opcode, nsid: request.nsid, lba: request.lba + UInt64(first),
                                                      blocks: blocks, fua: request.fua)
                command.cdw12 |= request.cdw12Extra
                let offset = UInt64(first * request.blockSize)
                qp.submit(command, dataIOVA: request.hasData ? request.dataIOVA + offset : 0,
                          dataLength: request.hasData ? blocks * request.blockSize : 0, tag: UInt64(next))
                next += 1
            }
            qp.ringDoorbell()
            let handled = qp.poll { completion in
                completed += 1
                if !completion.status.isSuccess {
                    let piece = Int(completion.tag)
                    let first = piece * request.maxBlocksPerCommand
                    let error: ControllerError = completion.status.matches(.abortRequested)
                        ? .commandTimedOut(command: name, queueID: qp.id, commandID: completion.commandID,
                                           milliseconds: controller.options.commandTimeoutMilliseconds,
                                           recovery: "it was aborted with NVMe Abort")
                        : .ioCommandFailed(command: name, lba: request.lba + UInt64(first),
                                           blocks: min(request.maxBlocksPerCommand, request.blocks - first),
                                           status: completion.status)
                    fail(piece, error, completion.status)
                }
            }
            if qp.hostileCompletionCount != hostileAtStart, outcome.error == nil, let anomaly = qp.anomalies.last {
                fail(-1, anomaly, nil)
            }
            if handled > 0 { idleSpins = 0; continue }
            idleSpins += 1
            if idleSpins % 256 == 0 {
                if let error = watchdog(controller: controller, generation: generation, name: name) {
                    fail(-1, error, nil)
                    break
                }
                if idleSpins > 4096 { RegisterWaits.pause() }
            }
        }
        let goodPieces = firstFailed == Int.max ? pieces : max(0, firstFailed)
        if request.hasData {
            outcome.bytesTransferred = min(goodPieces * request.maxBlocksPerCommand, request.blocks) * request.blockSize
        }
        return outcome
    }

    /// Checked while a request waits: device gone, controller fatal, a reset from elsewhere, and
    /// command deadlines (Abort first, then a controller reset). Returns the error that ends the request.
    private func watchdog(controller: ControllerCore, generation: Int, name: String) -> ControllerError? {
        if controller.resetGeneration != generation { return .abortedByReset(command: name) }
        do {
            try RegisterWaits.checkAlive(device: controller.device, during: name)
        } catch {
            if case .controllerFatal = error { controller.recover(reason: "\(error)") }
            return error
        }
        let timeoutNs = UInt64(controller.options.commandTimeoutMilliseconds) * 1_000_000
        let now = MonotonicClock.nanoseconds()
        guard now > timeoutNs else { return nil }
        for stuck in queuePair.expired(before: now - timeoutNs) {
            if stuck.aborted {
                controller.recover(reason: "command \(stuck.commandID) on queue \(id) ignored Abort")
                return .commandTimedOut(command: name, queueID: id, commandID: stuck.commandID,
                                        milliseconds: controller.options.commandTimeoutMilliseconds,
                                        recovery: "NVMe Abort did not complete it, so the controller was reset and its queues re-created")
            }
            queuePair.markAborted(commandID: stuck.commandID, at: now)
            let abort = try? controller.adminCommand(.abort(queueID: id, commandID: stuck.commandID), name: "Abort")
            if abort == nil || abort!.dw0 & 1 == 1 {
                // Abort refused or not performed: go straight to a reset.
                controller.recover(reason: "Abort of command \(stuck.commandID) on queue \(id) was not performed")
                return .commandTimedOut(command: name, queueID: id, commandID: stuck.commandID,
                                        milliseconds: controller.options.commandTimeoutMilliseconds,
                                        recovery: "NVMe Abort was not performed, so the controller was reset and its queues re-created")
            }
        }
        return nil
    }
}
