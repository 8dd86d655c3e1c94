import NVMe

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

extension IOQueue {
    /// Runs a breaker plan through the one request loop. The first failing piece (in LBA order)
    /// decides the error; bytes before it count as transferred.
    func run(_ plan: BreakerPlan) -> BlockOutcome {
        var outcome = BlockOutcome(requestedBytes: plan.hasData ? plan.blocks * plan.blockSize : 0,
                                   bytesTransferred: 0, commands: plan.count)
        let result = queuePair.run(plan, watchedBy: core)
        outcome.error = result.error
        outcome.status = result.status
        if plan.hasData {
            let goodPieces = max(0, result.firstFailed ?? plan.count)
            outcome.bytesTransferred = min(goodPieces * plan.maxBlocksPerCommand, plan.blocks) * plan.blockSize
        }
        return outcome
    }
}
