import DMAMapper
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
        guard let ns = core.namespace(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        return run(BlockRequest(opcode: .flush, nsid: ns.id, lba: 0, blocks: 1, blockSize: ns.blockSize, dataIOVA: 0,
                                hasData: false, fua: false, maxBlocksPerCommand: 1), name: "Flush")
    }

    /// Deallocates (trims) the given ranges with Dataset Management, up to 256 ranges per call.
    public func deallocate(nsid: UInt32, ranges: [DatasetManagementRange]) -> BlockOutcome {
        let controller = core
        guard let ns = controller.namespace(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        guard !ranges.isEmpty, ranges.count <= 256 else {
            return refused("Dataset Management takes 1 to 256 ranges, not \(ranges.count)", bytes: 0)
        }
        guard controller.identify.oncs.contains(.datasetManagement) else {
            return refused("the controller does not support Dataset Management (ONCS bit 2 is 0)", bytes: 0)
        }
        for range in ranges where range.startingLBA + UInt64(range.blockCount) > ns.blockCount {
            return refused("range at LBA \(range.startingLBA) of \(range.blockCount) blocks ends past the namespace (\(ns.blockCount) blocks)", bytes: 0)
        }
        let slots = scratch.address.bindMemory(to: DatasetManagementRange.self, capacity: 256)
        for (index, range) in ranges.enumerated() {
            slots[index] = DatasetManagementRange(contextAttributes: range.contextAttributes.littleEndian,
                                                  blockCount: range.blockCount.littleEndian,
                                                  startingLBA: range.startingLBA.littleEndian)
        }
        var outcome = BlockOutcome(requestedBytes: 0, bytesTransferred: 0, commands: 1)
        let command = SubmissionQueueEntry.datasetManagement(nsid: nsid, rangeCount: ranges.count,
                                                             attributes: DatasetManagementAttribute.deallocate)
        outcome = single(command, dataIOVA: scratch.iova, dataLength: ranges.count * DatasetManagementRange.size,
                         name: "Dataset Management (deallocate)", lba: ranges[0].startingLBA)
        return outcome
    }

    func transfer(_ opcode: NVMOpcode, nsid: UInt32, lba: UInt64, blocks: Int, buffer: DMABuffer, offset: Int,
                  fua: Bool, name: String) -> BlockOutcome {
        let controller = core
        guard let ns = controller.namespace(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        let bytes = blocks * ns.blockSize
        if let reason = controller.whyRefused(ns: ns, lba: lba, blocks: blocks, iova: buffer.iova + UInt64(offset),
                                              bytes: bytes, available: buffer.length - offset) {
            return refused(reason, bytes: bytes)
        }
        let segmentBytes = controller.constraints.segmentBytes(write: opcode == .write)
        return run(BlockRequest(opcode: opcode, nsid: nsid, lba: lba, blocks: blocks, blockSize: ns.blockSize,
                                dataIOVA: buffer.iova + UInt64(offset), hasData: true, fua: fua,
                                maxBlocksPerCommand: min(segmentBytes / ns.blockSize, 65536)), name: name)
    }

    func noData(_ opcode: NVMOpcode, nsid: UInt32, lba: UInt64, blocks: Int, extra: UInt32, name: String) -> BlockOutcome {
        let controller = core
        guard let ns = controller.namespace(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        if let reason = controller.whyRefused(ns: ns, lba: lba, blocks: blocks, iova: 0, bytes: 0, available: 0) {
            return refused(reason, bytes: 0)
        }
        return run(BlockRequest(opcode: opcode, nsid: nsid, lba: lba, blocks: blocks, blockSize: ns.blockSize, dataIOVA: 0,
                                hasData: false, fua: false, cdw12Extra: extra, maxBlocksPerCommand: 65536), name: name)
    }

    /// One command with a data pointer, waited for like any request.
    func single(_ command: SubmissionQueueEntry, dataIOVA: UInt64, dataLength: Int, name: String, lba: UInt64) -> BlockOutcome {
        core.runSingle(command, on: queuePair, dataIOVA: dataIOVA, dataLength: dataLength, name: name, lba: lba)
    }

    func refused(_ reason: String, bytes: Int) -> BlockOutcome {
        BlockOutcome(requestedBytes: bytes, bytesTransferred: 0, commands: 0, error: .requestRefused(reason: reason))
    }
}

extension ControllerCore {
    /// Why a transfer cannot be served as asked, or nil when it can.
    func whyRefused(ns: Namespace, lba: UInt64, blocks: Int, iova: UInt64, bytes: Int, available: Int) -> String? {
        if blocks <= 0 { return "a transfer of \(blocks) blocks; at least one is needed" }
        if lba >= ns.blockCount || UInt64(blocks) > ns.blockCount - lba {
            return "LBA \(lba) + \(blocks) blocks ends past namespace \(ns.id) (\(ns.blockCount) blocks)"
        }
        if bytes > 0 {
            if bytes > available {
                return "\(blocks) blocks of \(ns.blockSize) bytes need \(bytes) bytes but the buffer has \(available) from the offset"
            }
            let alignment = constraints.requiredAlignment
            if iova % UInt64(alignment) != 0 {
                return "buffer IOVA \(hex(iova)) is not aligned to \(alignment) bytes (\(HBAConstraintKey.minimumHBADataAlignmentMask.rawValue) = \(hex(constraints.minimumHBADataAlignmentMask)))"
            }
            if iova.leadingZeroBitCount < 64 - constraints.maximumSegmentAddressableBitCount {
                return "buffer IOVA \(hex(iova)) is beyond \(constraints.maximumSegmentAddressableBitCount) addressable bits"
            }
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
        guard let ns = controller.namespace(nsid) else { return refused("no active namespace \(nsid)", bytes: 0) }
        let bytes = blocks * ns.blockSize
        guard controller.identify.supportsCompareAndWrite else {
            return refused("the controller does not support fused Compare and Write (FUSES bit 0 is 0)", bytes: bytes)
        }
        guard bytes <= controller.maximumCommandBytes, blocks <= 65536 else {
            return refused("Compare and Write of \(bytes) bytes exceeds one command (\(controller.maximumCommandBytes) bytes); fused commands cannot be split", bytes: bytes)
        }
        if let reason = controller.whyRefused(ns: ns, lba: lba, blocks: blocks, iova: compareIOVA, bytes: bytes, available: bytes)
            ?? controller.whyRefused(ns: ns, lba: lba, blocks: blocks, iova: writeIOVA, bytes: bytes, available: bytes) {
            return refused(reason, bytes: bytes)
        }
        var outcome = BlockOutcome(requestedBytes: bytes, bytesTransferred: 0, commands: 2)
        guard !controller.isStopped else { outcome.error = .stopped; return outcome }
        let qp = queuePair
        while qp.capacity - qp.outstanding < 2 || !qp.hasFreeSlot { qp.poll { _ in } }
        var compare = SubmissionQueueEntry.io(.compare, nsid: nsid, lba: lba, blocks: blocks)
        compare.fuse = .first
        var write = SubmissionQueueEntry.io(.write, nsid: nsid, lba: lba, blocks: blocks, fua: fua)
        write.fuse = .second
        qp.submit(compare, dataIOVA: compareIOVA, dataLength: bytes, tag: 0)
        qp.submit(write, dataIOVA: writeIOVA, dataLength: bytes, tag: 1)
        qp.ringDoorbell()
        var statuses: [CompletionStatus?] = [nil, nil]
        let deadline = MonotonicClock.nanoseconds() + UInt64(controller.options.commandTimeoutMilliseconds) * 1_000_000
        var spins = 0
        while statuses[0] == nil || statuses[1] == nil {
            qp.poll { completion in
                if completion.tag < 2 { statuses[Int(completion.tag)] = completion.status }
            }
            spins += 1
            if spins % 256 == 0 {
                if MonotonicClock.nanoseconds() > deadline {
                    controller.recover(reason: "fused Compare and Write timed out")
                    outcome.error = .commandTimedOut(command: "Compare and Write", queueID: id, commandID: 0,
                                                     milliseconds: controller.options.commandTimeoutMilliseconds,
                                                     recovery: "the controller was reset and its queues re-created")
                    return outcome
                }
                RegisterWaits.pause()
            }
        }
        if let failed = statuses[0], !failed.isSuccess {
            outcome.status = failed
            outcome.error = .ioCommandFailed(command: "Compare (fused)", lba: lba, blocks: blocks, status: failed)
        } else if let failed = statuses[1], !failed.isSuccess {
            outcome.status = failed
            outcome.error = .ioCommandFailed(command: "Write (fused)", lba: lba, blocks: blocks, status: failed)
        } else {
            outcome.bytesTransferred = bytes
        }
        return outcome
    }
}
