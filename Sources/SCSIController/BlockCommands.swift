import DMAMapper
import HexFormat
import NVMe

/// Block requests of one command each, which the breaker (Breaker.swift) does not cut: Flush, Dataset Management
/// (deallocate), and the fused Compare and Write pair. They run on the same request loop as
/// every other request (RequestLoop.swift).
extension IOQueue {
    /// Persists the namespace's volatile write cache (NVM Flush).
    public func flush(nsid: UInt32) -> BlockOutcome {
        guard let ns = limits.namespace(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        return single(SingleCommandPlan(name: "Flush", command: PlannedCommand(entry: .flush(nsid: ns.id))))
    }

    /// Deallocates (trims) the given ranges with Dataset Management, up to 256 ranges per call.
    public func deallocate(nsid: UInt32, ranges: [DatasetManagementRange]) -> BlockOutcome {
        guard let ns = limits.namespace(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        let rangeLimit = CommandLimits.datasetManagementRanges
        guard rangeLimit.contains(ranges.count) else {
            return refused("Dataset Management takes \(rangeLimit.lowerBound) to \(rangeLimit.upperBound) ranges, not \(ranges.count)", bytes: 0)
        }
        guard core.identify.oncs.contains(.datasetManagement) else {
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

    /// Fused Compare + Write (NVMe Base 2.0, "Fused Operations"): the write happens only if the
    /// compare matches, atomically with respect to other commands. Both commands go into adjacent
    /// SQ slots with one doorbell write. The range must fit in one command.
    public func compareAndWrite(nsid: UInt32, lba: UInt64, blocks: Int, compareIOVA: UInt64, writeIOVA: UInt64,
                                fua: Bool = false) -> BlockOutcome {
        guard let ns = limits.namespace(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        guard core.identify.supportsCompareAndWrite else {
            return refused("the controller does not support fused Compare and Write (FUSES bit 0 is 0)", bytes: 0)
        }
        func check(_ iova: UInt64) -> BlockOutcome? {
            limits.refusal(ns, lba: lba, blocks: blocks, write: true, iova: iova, available: .max).map {
                refused($0, ns, lba: lba, blocks: blocks, write: true, iova: iova, available: .max)
            }
        }
        if let refusal = check(compareIOVA) ?? check(writeIOVA) { return refusal }
        let bytes = blocks * ns.blockSize
        guard bytes <= core.maximumCommandBytes, blocks <= CommandLimits.blocksPerCommand.upperBound else {
            return refused("Compare and Write of \(bytes) bytes exceeds one command (\(core.maximumCommandBytes) bytes); fused commands cannot be split", bytes: bytes)
        }
        let result = queuePair.run(FusedCompareAndWritePlan(nsid: nsid, lba: lba, blocks: blocks, bytes: bytes,
                                                            compareIOVA: compareIOVA, writeIOVA: writeIOVA, fua: fua),
                                   watchedBy: core)
        return BlockOutcome(requestedBytes: bytes, bytesTransferred: result.error == nil ? bytes : 0, commands: 2,
                            error: result.error, status: result.status)
    }

    /// Runs one command through the request loop.
    func single(_ plan: SingleCommandPlan) -> BlockOutcome {
        let result = queuePair.run(plan, watchedBy: core)
        return BlockOutcome(requestedBytes: 0, bytesTransferred: 0, commands: 1, error: result.error, status: result.status)
    }

    /// A request refused before anything was submitted.
    func refused(_ reason: String, bytes: Int) -> BlockOutcome {
        BlockOutcome(requestedBytes: bytes, bytesTransferred: 0, commands: 0, error: .requestRefused(reason: reason))
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
