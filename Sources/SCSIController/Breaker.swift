import DMAMapper
import NVMe

/// The breaker, with the block API calls that move data through it (read, write, compare,
/// verify, write zeroes), for Swift callers who do not speak SCSI. Each call checks its request
/// against the namespace and the HBA constraints (`RequestLimits`; a request they cannot serve
/// is refused at once, with the reason), cuts it into NVMe commands (`BreakerPlan`), runs them on
/// this queue's request loop (RequestLoop.swift) and returns when every piece has completed.
/// Requests of one command (Flush, Dataset Management, fused Compare and Write) are in
/// BlockCommands.swift; refusals and failed pieces are told in RequestLimits.swift.
extension IOQueue {
    /// Reads `blocks` blocks at `lba` into `buffer` starting `offset` bytes in.
    public func read(nsid: UInt32, lba: UInt64, blocks: Int, into buffer: DMABuffer, offset: Int = 0) -> BlockOutcome {
        transfer(.read, nsid: nsid, lba: lba, blocks: blocks, buffer: buffer, offset: offset, fua: false)
    }

    /// Writes `blocks` blocks at `lba` from `buffer`; with `fua`, each command completes only
    /// once its data is on non-volatile media.
    public func write(nsid: UInt32, lba: UInt64, blocks: Int, from buffer: DMABuffer, offset: Int = 0, fua: Bool = false) -> BlockOutcome {
        transfer(.write, nsid: nsid, lba: lba, blocks: blocks, buffer: buffer, offset: offset, fua: fua)
    }

    /// Compares `blocks` blocks at `lba` with `buffer`; a mismatch fails with Compare Failure.
    public func compare(nsid: UInt32, lba: UInt64, blocks: Int, with buffer: DMABuffer, offset: Int = 0) -> BlockOutcome {
        transfer(.compare, nsid: nsid, lba: lba, blocks: blocks, buffer: buffer, offset: offset, fua: false)
    }

    /// Verifies `blocks` blocks at `lba` are readable (no data moves).
    public func verify(nsid: UInt32, lba: UInt64, blocks: Int) -> BlockOutcome {
        noData(.verify, nsid: nsid, lba: lba, blocks: blocks, cdw12Extra: 0)
    }

    /// Writes zeros over `blocks` blocks at `lba`, deallocating them when `deallocate` is set.
    public func writeZeroes(nsid: UInt32, lba: UInt64, blocks: Int, deallocate: Bool = false) -> BlockOutcome {
        noData(.writeZeroes, nsid: nsid, lba: lba, blocks: blocks, cdw12Extra: deallocate ? 1 << 25 : 0)
    }

    /// A request that moves data between the media and `buffer` from `offset` on. Inlined, like
    /// the loop under it, so a request is one function from the check to the completion.
    @inline(__always)
    func transfer(_ opcode: NVMOpcode, nsid: UInt32, lba: UInt64, blocks: Int, buffer: DMABuffer, offset: Int,
                  fua: Bool) -> BlockOutcome {
        let write = opcode == .write
        let iova = buffer.iova &+ UInt64(truncatingIfNeeded: offset)
        guard let ns = limits.namespace(nsid), offset >= 0, offset <= buffer.length,
              limits.refusal(ns, lba: lba, blocks: blocks, write: write, iova: iova, available: buffer.length &- offset) == nil else {
            return refused(nsid: nsid, lba: lba, blocks: blocks, write: write, buffer: buffer, offset: offset)
        }
        return run(BreakerPlan(opcode, ns, lba: lba, blocks: blocks, dataIOVA: iova, fua: fua))
    }

    /// A request that moves no data (Verify, Write Zeroes): only NLB's 65536 blocks bound a command.
    func noData(_ opcode: NVMOpcode, nsid: UInt32, lba: UInt64, blocks: Int, cdw12Extra: UInt32) -> BlockOutcome {
        guard let ns = limits.namespace(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        if let refusal = limits.refusal(ns, lba: lba, blocks: blocks, write: false, iova: nil, available: 0) {
            return refused(refusal, ns, lba: lba, blocks: blocks, write: false, iova: nil, available: 0)
        }
        return run(BreakerPlan(opcode: opcode, nsid: nsid, lba: lba, blocks: blocks, blockSize: ns.blockSize,
                               dataIOVA: 0, hasData: false, fua: false, cdw12Extra: cdw12Extra,
                               maxBlocksPerCommand: CommandLimits.blocksPerCommand.upperBound))
    }

    /// Runs a breaker plan through the request loop. The first failing piece (in LBA order)
    /// decides the error; the bytes of the pieces before it count as transferred. (The failure's
    /// outcome is built here, not out of line: returned from a call, the outcome and its error
    /// are copied on the success path too.)
    @inline(__always)
    func run(_ plan: BreakerPlan) -> BlockOutcome {
        let requested = plan.hasData ? plan.blocks &* plan.blockSize : 0  // checked: it fits the buffer
        let result = queuePair.run(plan, watchedBy: core)
        guard let failed = result.firstFailed else {
            return BlockOutcome(requestedBytes: requested, bytesTransferred: requested, commands: plan.count)
        }
        let moved = plan.hasData ? min(max(0, failed) * plan.maxBlocksPerCommand, plan.blocks) * plan.blockSize : 0
        return BlockOutcome(requestedBytes: requested, bytesTransferred: moved, commands: plan.count,
                            error: result.error, status: result.status)
    }
}

/// The breaker: a block request cut into consecutive NVMe commands of at most
/// `maxBlocksPerCommand` blocks each (the HBA constraints' segment byte count, and NLB's 65536
/// blocks), each command carrying its own slice of the request's one IOVA segment. Made only for
/// a request the block API has checked: `blocks` (at least 1) lie inside the namespace and, with
/// data, inside the buffer, so the arithmetic below cannot overflow.
struct BreakerPlan: CommandPlan {
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

    var count: Int { blocks <= maxBlocksPerCommand ? 1 : (blocks &+ maxBlocksPerCommand &- 1) / maxBlocksPerCommand }

    func blocks(of index: Int) -> Int { min(maxBlocksPerCommand, blocks &- index &* maxBlocksPerCommand) }

    func command(_ index: Int) -> PlannedCommand {
        let first = index &* maxBlocksPerCommand
        let pieceBlocks = blocks(of: index)
        var entry = SubmissionQueueEntry.io(opcode, nsid: nsid, lba: lba &+ UInt64(truncatingIfNeeded: first), blocks: pieceBlocks, fua: fua)
        entry.cdw12 |= cdw12Extra
        guard hasData else { return PlannedCommand(entry: entry) }
        return PlannedCommand(entry: entry, dataIOVA: dataIOVA &+ UInt64(truncatingIfNeeded: first &* blockSize),
                              dataLength: pieceBlocks &* blockSize)
    }
}

extension BreakerPlan {
    /// The plan of a checked transfer of `blocks` blocks at `lba` of `ns`, with its data at `dataIOVA`.
    init(_ opcode: NVMOpcode, _ ns: NamespaceGeometry, lba: UInt64, blocks: Int, dataIOVA: UInt64, fua: Bool) {
        self.init(opcode: opcode, nsid: ns.id, lba: lba, blocks: blocks, blockSize: ns.blockSize, dataIOVA: dataIOVA, hasData: true,
                  fua: fua, maxBlocksPerCommand: opcode == .write ? ns.blocksPerWrite : ns.blocksPerRead)
    }
}

/// The checks of a request against `RequestLimits` (RequestLimits.swift), which the block API
/// makes before anything is submitted.
extension RequestLimits {
    /// The geometry of active namespace `nsid`.
    func namespace(_ nsid: UInt32) -> NamespaceGeometry? {
        // By index: iterating would copy every geometry it passes.
        guard let index = namespaces.firstIndex(where: { $0.id == nsid }) else { return nil }
        return namespaces[index]
    }

    /// Why a transfer cannot be served as asked, or nil when it can. `iova` is nil for commands
    /// that move no data; `available` is what the buffer holds from the transfer's start.
    func refusal(_ ns: NamespaceGeometry, lba: UInt64, blocks: Int, write: Bool, iova: UInt64?, available: Int) -> Refusal? {
        if blocks <= 0 { return .noBlocks }
        if lba >= ns.blockCount || UInt64(blocks) > ns.blockCount - lba { return .pastEnd }
        guard let iova else { return nil }
        let bytes = blocks * ns.blockSize  // no overflow: the namespace holds this many bytes
        if bytes > available { return .bufferTooSmall }
        if bytes > (write ? largestWrite : largestRead) { return .tooLarge }
        return addressRefusal(iova)
    }

    /// Why a buffer at `iova` cannot carry a transfer (the alignment and the addressable bits), or nil.
    func addressRefusal(_ iova: UInt64) -> Refusal? {
        guard iova & forbiddenBits != 0 else { return nil }
        return iova & alignmentMask != 0 ? .misaligned : .beyondAddressableBits
    }
}
