import DMAMapper
import NVMe

/// One I/O queue pair with the request breaker above it. Owned by one thread: every method
/// runs on the owner's thread, polls on it, and returns when the request is complete. A second
/// thread calling in while a request runs is refused (`requestRefused`), not let loose on the rings.
public final class IOQueue: @unchecked Sendable {
    /// The raw queue pair, for callers that batch their own commands (benchmarks, async layers).
    /// Keep the `IOQueue` (or its controller) alive while using it: they keep the controller up.
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
    /// Doorbell register writes made on this queue (see `QueuePair.mmioDoorbellWrites`).
    public var mmioDoorbellWrites: Int { queuePair.mmioDoorbellWrites }
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

/// A block-level request the breaker splits by the HBA constraints: consecutive NVMe commands
/// of at most `maxBlocksPerCommand` blocks each.
struct BreakerPlan: CommandPlan {
    var name: String
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

    var count: Int { (blocks + maxBlocksPerCommand - 1) / maxBlocksPerCommand }

    func blocks(of index: Int) -> Int { min(maxBlocksPerCommand, blocks - index * maxBlocksPerCommand) }

    func command(_ index: Int) -> PlannedCommand {
        let first = index * maxBlocksPerCommand
        let pieceBlocks = blocks(of: index)
        var entry = SubmissionQueueEntry.io(opcode, nsid: nsid, lba: lba + UInt64(first), blocks: pieceBlocks, fua: fua)
        entry.cdw12 |= cdw12Extra
        guard hasData else { return PlannedCommand(entry: entry) }
        return PlannedCommand(entry: entry, dataIOVA: dataIOVA + UInt64(first * blockSize), dataLength: pieceBlocks * blockSize)
    }

    func failure(_ index: Int, status: CompletionStatus) -> ControllerError {
        .ioCommandFailed(command: name, lba: lba + UInt64(index * maxBlocksPerCommand), blocks: blocks(of: index), status: status)
    }
}

/// One command, waited for like any request (Flush, Dataset Management).
struct SingleCommandPlan: CommandPlan {
    var name: String
    var command: PlannedCommand
    /// The LBA a failure names (0 when the command addresses none).
    var lba: UInt64 = 0

    var count: Int { 1 }
    func command(_ index: Int) -> PlannedCommand { command }
    func failure(_ index: Int, status: CompletionStatus) -> ControllerError {
        .ioCommandFailed(command: name, lba: lba, blocks: 0, status: status)
    }
}

extension IOQueue {
    /// Runs a breaker plan through the one request loop. The first failing piece (in LBA order)
    /// decides the error; bytes before it count as transferred.
    func run(_ plan: BreakerPlan) -> BlockOutcome {
        var outcome = BlockOutcome(requestedBytes: plan.hasData ? plan.blocks * plan.blockSize : 0,
                                   bytesTransferred: 0, commands: plan.count)
        let result = core.drive(plan, on: queuePair)
        outcome.error = result.error
        outcome.status = result.status
        if plan.hasData {
            let goodPieces = max(0, result.firstFailed ?? plan.count)
            outcome.bytesTransferred = min(goodPieces * plan.maxBlocksPerCommand, plan.blocks) * plan.blockSize
        }
        return outcome
    }

    /// Runs one command through the request loop.
    func single(_ plan: SingleCommandPlan) -> BlockOutcome {
        let result = core.drive(plan, on: queuePair)
        return BlockOutcome(requestedBytes: 0, bytesTransferred: 0, commands: 1, error: result.error, status: result.status)
    }

    func refused(_ reason: String, bytes: Int) -> BlockOutcome {
        BlockOutcome(requestedBytes: bytes, bytesTransferred: 0, commands: 0, error: .requestRefused(reason: reason))
    }
}
