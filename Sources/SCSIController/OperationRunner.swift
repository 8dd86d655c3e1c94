import DMAMapper
import NVMe
import Translation

/// Runs a plan's NVMe operations in order on one queue, stopping at the first failure, and
/// reports each as an `NVMeResult` for `Translation.complete`.
struct OperationRunner {
    let adapter: SCSIHostAdapter
    let queue: IOQueue
    let task: SCSITask

    struct Outcome {
        var results: [NVMeResult] = []
        /// The engine error behind the first failure.
        var error: ControllerError?
        /// The task never reached the device (stopped, gone).
        var deliveryFailed = false
    }

    func run(_ operations: [NVMeOperation]) -> Outcome {
        var outcome = Outcome()
        for (index, operation) in operations.enumerated() {
            var media: [UInt8]?
            let block = execute(operation, mediaData: &media)
            var result = Self.result(index: index, outcome: block, addressed: operation.addressesBlocks)
            result.mediaData = media
            outcome.results.append(result)
            if let error = block.error {
                outcome.error = error
                outcome.deliveryFailed = Self.isDeliveryFailure(error)
                break
            }
        }
        return outcome
    }

    /// The `NVMeResult` for one operation's outcome; `addressed` says whether the operation
    /// names an LBA range (a Flush's or Set Features' failure has no failing LBA).
    static func result(index: Int, outcome: BlockOutcome, addressed: Bool) -> NVMeResult {
        var result = NVMeResult(operationIndex: index, status: .success, bytesTransferred: outcome.bytesTransferred)
        guard let error = outcome.error else { return result }
        result.status = outcome.status ?? status(for: error)
        switch error {
        case .commandTimedOut, .noProgress: result.engineAbort = .timeout
        case .abortedByReset: result.engineAbort = .reset
        // A media error's sense carries the failing LBA in INFORMATION (SBC-4 4.18.1); the
        // first LBA of the failed command is the first LBA known to be in error.
        case let .ioCommandFailed(_, lba, _, status) where addressed && status.type == .mediaAndDataIntegrity:
            result.failingLBA = lba
        default: break
        }
        return result
    }

    /// Whether the task never reached the device (controller stopped, device gone).
    static func isDeliveryFailure(_ error: ControllerError) -> Bool {
        switch error {
        case .stopped, .deviceGone: true
        default: false
        }
    }

    /// An NVMe status standing for an engine failure that carried none, so the SCSI answer is
    /// the one the Translation Reference gives for the nearest NVMe condition (timeouts and
    /// resets are told apart by `NVMeResult.engineAbort`, which decides their sense).
    static func status(for error: ControllerError) -> CompletionStatus {
        switch error {
        case .commandTimedOut, .noProgress, .abortedByReset: CompletionStatus(.abortRequested)
        case .requestRefused: CompletionStatus(.invalidFieldInCommand)
        case .stopped: CompletionStatus(.namespaceNotReady)
        default: CompletionStatus(.internalError)
        }
    }

    /// The command's name in engine errors.
    static func name(write: Bool, fua: Bool) -> String { write ? (fua ? "Write (FUA)" : "Write") : "Read" }

    private var bufferIOVA: UInt64 { (task.buffer?.iova ?? 0) + UInt64(task.bufferOffset) }

    /// Runs one operation; for a compare failure, `mediaData` gets what the media holds.
    private func execute(_ operation: NVMeOperation, mediaData: inout [UInt8]?) -> BlockOutcome {
        switch operation {
        case let .read(nsid, lba, blocks, fua, offset):
            return transfer(.read, nsid: nsid, lba: lba, blocks: blocks, offset: offset, fua: fua, name: Self.name(write: false, fua: fua))
        case let .write(nsid, lba, blocks, fua, offset):
            return transfer(.write, nsid: nsid, lba: lba, blocks: blocks, offset: offset, fua: fua, name: Self.name(write: true, fua: fua))
        case let .compare(nsid, lba, blocks, offset):
            let outcome = transfer(.compare, nsid: nsid, lba: lba, blocks: blocks, offset: offset, fua: false, name: "Compare")
            if outcome.status?.matches(.compareFailure) == true {
                mediaData = readBack(nsid: nsid, lba: lba, blocks: blocks)
            }
            return outcome
        case let .verify(nsid, lba, blocks):
            return queue.verify(nsid: nsid, lba: lba, blocks: Int(blocks))
        case let .flush(nsid):
            return queue.flush(nsid: nsid)
        case let .writeZeroes(nsid, lba, blocks, deallocate):
            return queue.writeZeroes(nsid: nsid, lba: lba, blocks: Int(blocks), deallocate: deallocate)
        case let .deallocate(nsid, ranges):
            var total = BlockOutcome(requestedBytes: 0, bytesTransferred: 0, commands: 0)
            for start in stride(from: 0, to: ranges.count, by: 256) {
                let outcome = queue.deallocate(nsid: nsid, ranges: Array(ranges[start..<min(start + 256, ranges.count)]))
                total.commands += outcome.commands
                if outcome.error != nil { return outcome }
            }
            return total
        case let .writeRepeatingBlock(nsid, lba, blocks, sourceOffset):
            return writeRepeating(nsid: nsid, lba: lba, blocks: Int(blocks), sourceOffset: sourceOffset)
        case let .compareAndWrite(nsid, lba, blocks, compareOffset, writeOffset, fua):
            var outcome = queue.compareAndWrite(nsid: nsid, lba: lba, blocks: Int(blocks),
                                                compareIOVA: bufferIOVA + UInt64(compareOffset),
                                                writeIOVA: bufferIOVA + UInt64(writeOffset), fua: fua)
            // The task's data-out holds the verify half and the write half; both were consumed.
            if outcome.succeeded { outcome.bytesTransferred *= 2 }
            if outcome.status?.matches(.compareFailure) == true {
                mediaData = readBack(nsid: nsid, lba: lba, blocks: blocks)
            }
            return outcome
        case let .setVolatileWriteCache(enabled):
            return admin { () throws(ControllerError) in try adapter.controller.setVolatileWriteCache(enabled: enabled) }
        case let .setPowerState(state):
            return admin { () throws(ControllerError) in
                try adapter.controller.adminCommand(.setFeatures(.powerManagement, value: UInt32(state & 0x1F)),
                                                    name: "Set Features (Power Management)")
            }
        }
    }

    /// One admin command's outcome, with its NVMe status when it failed with one.
    private func admin(_ body: () throws(ControllerError) -> Void) -> BlockOutcome {
        do throws(ControllerError) {
            try body()
            return BlockOutcome(requestedBytes: 0, bytesTransferred: 0, commands: 1)
        } catch {
            var status: CompletionStatus?
            if case let .adminCommandFailed(_, failed) = error { status = failed }
            return BlockOutcome(requestedBytes: 0, bytesTransferred: 0, commands: 1, error: error, status: status)
        }
    }

    private func transfer(_ opcode: NVMOpcode, nsid: UInt32, lba: UInt64, blocks: UInt32, offset: Int,
                          fua: Bool, name: String) -> BlockOutcome {
        guard let buffer = task.buffer else {
            return queue.refused("\(name) needs a data buffer", bytes: 0)
        }
        return queue.transfer(opcode, nsid: nsid, lba: lba, blocks: Int(blocks), buffer: buffer,
                              offset: task.bufferOffset + offset, fua: fua)
    }

    /// Reads the compared range back so translation can point at the first differing byte.
    private func readBack(nsid: UInt32, lba: UInt64, blocks: UInt32) -> [UInt8]? {
        guard let ns = adapter.controller.namespace(nsid),
              let scratch = try? adapter.controller.mapper.allocate(length: Int(blocks) * ns.blockSize, access: .deviceWrites)
        else { return nil }
        let outcome = queue.read(nsid: nsid, lba: lba, blocks: Int(blocks), into: scratch)
        guard outcome.succeeded else { return nil }
        return Array(UnsafeRawBufferPointer(start: scratch.address, count: scratch.length))
    }

    /// WRITE SAME with a non-zero block: the block is replicated into a staging buffer of up to
    /// one segment, which is then written over the range as many times as it takes.
    private func writeRepeating(nsid: UInt32, lba: UInt64, blocks: Int, sourceOffset: Int) -> BlockOutcome {
        guard let buffer = task.buffer, let ns = adapter.controller.namespace(nsid) else {
            return queue.refused("WRITE SAME needs its one block in the data buffer", bytes: 0)
        }
        let segmentBlocks = max(1, adapter.controller.constraints.segmentBytes(write: true) / ns.blockSize)
        let stagingBlocks = min(blocks, segmentBlocks)
        guard let staging = try? adapter.controller.mapper.allocate(length: stagingBlocks * ns.blockSize, access: .deviceReads) else {
            return queue.refused("no DMA memory for a \(stagingBlocks)-block WRITE SAME staging buffer", bytes: 0)
        }
        let source = buffer.address + task.bufferOffset + sourceOffset
        for index in 0..<stagingBlocks {
            (staging.address + index * ns.blockSize).copyMemory(from: source, byteCount: ns.blockSize)
        }
        var written = 0
        var total = BlockOutcome(requestedBytes: 0, bytesTransferred: 0, commands: 0)
        while written < blocks {
            let count = min(stagingBlocks, blocks - written)
            let outcome = queue.write(nsid: nsid, lba: lba + UInt64(written), blocks: count, from: staging)
            total.commands += outcome.commands
            if outcome.error != nil { return outcome }
            written += count
        }
        // The task's data-out (one block) was consumed in full.
        total.requestedBytes = ns.blockSize
        total.bytesTransferred = ns.blockSize
        return total
    }
}

extension NVMeOperation {
    /// Whether the operation addresses one LBA range, so its failure can name a failing LBA.
    var addressesBlocks: Bool {
        switch self {
        case .read, .write, .compare, .verify, .writeZeroes, .writeRepeatingBlock, .compareAndWrite: true
        case .flush, .deallocate, .setVolatileWriteCache, .setPowerState: false
        }
    }
}
