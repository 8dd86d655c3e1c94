import DMAMapper
import HexFormat
import NVMe

/// The plain block API, for Swift callers who do not speak SCSI. Each call breaks its request by
/// the HBA constraints, runs it on this queue, and returns when every piece has completed.
/// A request the constraints cannot serve is refused at once with the reason.
extension IOQueue {
    /// Reads `blocks` blocks at `lba` into `buffer` starting `offset` bytes in.
    public func read(nsid: UInt32, lba: UInt64, blocks: Int, into buffer: DMABuffer, offset: Int = 0) -> BlockOutcome {
        transfer(.read, nsid: nsid, lba: lba, blocks: blocks, buffer: buffer, offset: offset, fua: false, name: "Read")
    }

    /// Writes `blocks` blocks at `lba` from `buffer`; with `fua`, each command completes only
    /// once its data is on non-volatile media.
    public func write(nsid: UInt32, lba: UInt64, blocks: Int, from buffer: DMABuffer, offset: Int = 0, fua: Bool = false) -> BlockOutcome {
        transfer(.write, nsid: nsid, lba: lba, blocks: blocks, buffer: buffer, offset: offset, fua: fua, name: fua ? "Write (FUA)" : "Write")
    }

    /// Compares `blocks` blocks at `lba` with `buffer`; a mismatch fails with Compare Failure.
    public func compare(nsid: UInt32, lba: UInt64, blocks: Int, with buffer: DMABuffer, offset: Int = 0) -> BlockOutcome {
        transfer(.compare, nsid: nsid, lba: lba, blocks: blocks, buffer: buffer, offset: offset, fua: false, name: "Compare")
    }

    /// Verifies `blocks` blocks at `lba` are readable (no data moves).
    public func verify(nsid: UInt32, lba: UInt64, blocks: Int) -> BlockOutcome {
        noData(.verify, nsid: nsid, lba: lba, blocks: blocks, extra: 0, name: "Verify")
    }

    /// Writes zeros over `blocks` blocks at `lba`, deallocating them when `deallocate` is set.
    public func writeZeroes(nsid: UInt32, lba: UInt64, blocks: Int, deallocate: Bool = false) -> BlockOutcome {
        noData(.writeZeroes, nsid: nsid, lba: lba, blocks: blocks, extra: deallocate ? 1 << 25 : 0, name: "Write Zeroes")
    }

    /// Persists the namespace's volatile write cache (NVM Flush).
    public func flush(nsid: UInt32) -> BlockOutcome {
        guard let ns = core.geometry(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        return single(SingleCommandPlan(name: "Flush", command: PlannedCommand(entry: .flush(nsid: ns.id))))
    }

    /// Deallocates (trims) the given ranges with Dataset Management, up to 256 ranges per call.
    public func deallocate(nsid: UInt32, ranges: [DatasetManagementRange]) -> BlockOutcome {
        let controller = core
        guard let ns = controller.geometry(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        let rangeLimit = CommandLimits.datasetManagementRanges
        guard rangeLimit.contains(ranges.count) else {
            return refused("Dataset Management takes \(rangeLimit.lowerBound) to \(rangeLimit.upperBound) ranges, not \(ranges.count)", bytes: 0)
        }
        guard controller.identify.oncs.contains(.datasetManagement) else {
            return refused("the controller does not support Dataset Management (ONCS bit 2 is 0)", bytes: 0)
        }
        for range in ranges where range.startingLBA >= ns.blockCount || UInt64(range.blockCount) > ns.blockCount - range.startingLBA {
            return refused("range at LBA \(range.startingLBA) of \(range.blockCount) blocks ends past the namespace (\(ns.blockCount) blocks)", bytes: 0)
        }
        let slots = scratch.address.bindMemory(to: DatasetManagementRange.self, capacity: rangeLimit.upperBound)
        for (index, range) in ranges.enumerated() {
            slots[index] = DatasetManagementRange(contextAttributes: range.contextAttributes.littleEndian,
                                                  blockCount: range.blockCount.littleEndian,
                                                  startingLBA: range.startingLBA.littleEndian)
        }
        let command: SubmissionQueueEntry
        do {
            command = try .datasetManagement(nsid: nsid, numberOfRanges: ranges.count,
                                             attributes: DatasetManagementAttribute.deallocate)
        } catch {
            return refused("\(error)", bytes: 0)
        }
        return single(SingleCommandPlan(name: "Dataset Management (deallocate)",
                                        command: PlannedCommand(entry: command, dataIOVA: scratch.iova,
                                                                dataLength: ranges.count * DatasetManagementRange.size),
                                        lba: ranges[0].startingLBA))
    }

    func transfer(_ opcode: NVMOpcode, nsid: UInt32, lba: UInt64, blocks: Int, buffer: DMABuffer, offset: Int,
                  fua: Bool, name: String) -> BlockOutcome {
        let controller = core
        guard let ns = controller.geometry(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        guard offset >= 0, offset <= buffer.length else {
            return refused("offset \(offset) lies outside the \(buffer.length)-byte buffer", bytes: 0)
        }
        if let reason = controller.whyRefused(ns: ns, lba: lba, blocks: blocks, write: opcode == .write,
                                              iova: buffer.iova + UInt64(offset), available: buffer.length - offset) {
            return refused(reason, bytes: max(0, blocks) * ns.blockSize)
        }
        let segmentBytes = controller.constraints.segmentBytes(write: opcode == .write)
        return run(BreakerPlan(name: name, opcode: opcode, nsid: nsid, lba: lba, blocks: blocks, blockSize: ns.blockSize,
                               dataIOVA: buffer.iova + UInt64(offset), hasData: true, fua: fua,
                               maxBlocksPerCommand: min(segmentBytes / ns.blockSize, CommandLimits.blocksPerCommand.upperBound)))
    }

    func noData(_ opcode: NVMOpcode, nsid: UInt32, lba: UInt64, blocks: Int, extra: UInt32, name: String) -> BlockOutcome {
        let controller = core
        guard let ns = controller.geometry(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        if let reason = controller.whyRefused(ns: ns, lba: lba, blocks: blocks, write: false, iova: nil, available: 0) {
            return refused(reason, bytes: 0)
        }
        return run(BreakerPlan(name: name, opcode: opcode, nsid: nsid, lba: lba, blocks: blocks, blockSize: ns.blockSize,
                               dataIOVA: 0, hasData: false, fua: false, cdw12Extra: extra,
                               maxBlocksPerCommand: CommandLimits.blocksPerCommand.upperBound))
    }
}

extension ControllerCore {
    /// Why a transfer cannot be served as asked, or nil when it can. `iova` is nil for commands
    /// that move no data; `available` is what the buffer holds from the transfer's start.
    func whyRefused(ns: NamespaceGeometry, lba: UInt64, blocks: Int, write: Bool, iova: UInt64?, available: Int) -> String? {
        if blocks <= 0 { return "a transfer of \(blocks) blocks; at least one is needed" }
        if lba >= ns.blockCount || UInt64(blocks) > ns.blockCount - lba {
            return "LBA \(lba) + \(blocks) blocks ends past namespace \(ns.id) (\(ns.blockCount) blocks)"
        }
        guard let iova else { return nil }
        let bytes = blocks * ns.blockSize  // no overflow: the namespace holds this many bytes
        if bytes > available {
            return "\(blocks) blocks of \(ns.blockSize) bytes need \(bytes) bytes but the buffer has \(available) from the offset"
        }
        if bytes > facts.constraints.largestTransfer(write: write) {
            return "a transfer of \(bytes) bytes exceeds \(facts.constraints.largestTransferRule(write: write))"
        }
        let alignment = facts.constraints.requiredAlignment
        if iova % UInt64(alignment) != 0 {
            return "buffer IOVA \(hex(iova)) is not aligned to \(alignment) bytes (\(facts.constraints.requiredAlignmentRule))"
        }
        if iova.leadingZeroBitCount < 64 - facts.constraints.maximumSegmentAddressableBitCount {
            return "buffer IOVA \(hex(iova)) is beyond \(facts.constraints.maximumSegmentAddressableBitCount) addressable bits"
        }
        return nil
    }
}

extension IOQueue {
    /// Fused Compare + Write (NVMe Base 2.0, "Fused Operations"): the write happens only if the
    /// compare matches, atomically with respect to other commands. Both commands go into adjacent
    /// SQ slots with one doorbell write. The range must fit in one command.
    public func compareAndWrite(nsid: UInt32, lba: UInt64, blocks: Int, compareIOVA: UInt64, writeIOVA: UInt64,
                                fua: Bool = false) -> BlockOutcome {
        let controller = core
        guard let ns = controller.geometry(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        guard controller.identify.supportsCompareAndWrite else {
            return refused("the controller does not support fused Compare and Write (FUSES bit 0 is 0)", bytes: 0)
        }
        if let reason = controller.whyRefused(ns: ns, lba: lba, blocks: blocks, write: true, iova: compareIOVA, available: .max)
            ?? controller.whyRefused(ns: ns, lba: lba, blocks: blocks, write: true, iova: writeIOVA, available: .max) {
            return refused(reason, bytes: max(0, blocks) * ns.blockSize)
        }
        let bytes = blocks * ns.blockSize
        guard bytes <= controller.maximumCommandBytes, blocks <= CommandLimits.blocksPerCommand.upperBound else {
            return refused("Compare and Write of \(bytes) bytes exceeds one command (\(controller.maximumCommandBytes) bytes); fused commands cannot be split", bytes: bytes)
        }
        let result = queuePair.run(FusedCompareAndWritePlan(nsid: nsid, lba: lba, blocks: blocks, bytes: bytes,
                                                            compareIOVA: compareIOVA, writeIOVA: writeIOVA, fua: fua),
                                   watchedBy: controller)
        return BlockOutcome(requestedBytes: bytes, bytesTransferred: result.error == nil ? bytes : 0, commands: 2,
                            error: result.error, status: result.status)
    }
}

/// Compare (FUSE first) and Write (FUSE second) in adjacent SQ slots under one doorbell. When the
/// compare fails the controller aborts the write, so the compare, the lower index, names the error.
struct FusedCompareAndWritePlan: CommandPlan {
    var nsid: UInt32
    var lba: UInt64
    var blocks: Int
    var bytes: Int
    var compareIOVA: UInt64
    var writeIOVA: UInt64
    var fua: Bool

    var name: String { "Compare and Write" }
    var count: Int { 2 }
    var groupSize: Int { 2 }

    func command(_ index: Int) -> PlannedCommand {
        if index == 0 {
            var compare = SubmissionQueueEntry.io(.compare, nsid: nsid, lba: lba, blocks: blocks)
            compare.fuse = .first
            return PlannedCommand(entry: compare, dataIOVA: compareIOVA, dataLength: bytes)
        }
        var write = SubmissionQueueEntry.io(.write, nsid: nsid, lba: lba, blocks: blocks, fua: fua)
        write.fuse = .second
        return PlannedCommand(entry: write, dataIOVA: writeIOVA, dataLength: bytes)
    }

    func failure(_ index: Int, status: CompletionStatus) -> ControllerError {
        .ioCommandFailed(command: index == 0 ? "Compare (fused)" : "Write (fused)", lba: lba, blocks: blocks, status: status)
    }
}
