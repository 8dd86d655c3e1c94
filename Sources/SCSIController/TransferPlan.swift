import HexFormat
import NVMe

/// How a request of some size is carried out under a set of HBA constraints: the tasks it must be
/// sent as (none may exceed the largest transfer), the pieces the breaker cuts each task into (one
/// NVMe Read or Write each), and each command's data pointer - PRP entries and list pages, or SGL
/// descriptors. Computed by the engine's own code: the breaker's `BreakerPlan` cuts the pieces and
/// `DataPointerEncoder` writes each command's pointer into scratch list pages, which are then
/// read back and counted. `ctrlbench explain` prints it.
public struct TransferPlan: Sendable, Equatable {
    /// Bytes asked for.
    public let bytes: Int
    /// Write (true) or read.
    public let write: Bool
    /// Logical block size the commands count in.
    public let blockSize: Int
    /// Memory page size (CC.MPS) the PRP entries are cut by.
    public let pageSize: Int
    /// Whether commands carry an SGL rather than PRPs.
    public let usesSGL: Bool
    /// Largest task: `HBAConstraints.largestTransfer(write:)`.
    public let largestTask: Int
    /// Largest piece (one command): the segment byte count, and at most 65536 blocks (NLB).
    public let largestPiece: Int
    /// The tasks in order, each with its pieces grouped into runs of identical commands.
    public let tasks: [Task]

    /// One task (one SCSI command, one engine request) and its pieces.
    public struct Task: Sendable, Equatable {
        /// Offset of the task's data in the whole request.
        public let offset: Int
        /// Bytes the task carries.
        public let bytes: Int
        /// Its pieces, consecutive identical ones grouped.
        public let runs: [Run]
        /// Pieces (NVMe commands) in the task.
        public var commands: Int { runs.reduce(0) { $0 + $1.count } }
    }

    /// `count` consecutive pieces alike: each one NVMe command of `bytes` bytes with the same pointer.
    public struct Run: Sendable, Equatable {
        /// Index of the first piece of the run within its task.
        public let first: Int
        /// Pieces in the run.
        public let count: Int
        /// Bytes each piece carries.
        public let bytes: Int
        /// Logical blocks each piece carries (NLB + 1).
        public let blocks: Int
        /// The data pointer each piece's command carries.
        public let pointer: DataPointerShape
    }

    /// What one command's data pointer consists of.
    public enum DataPointerShape: Sendable, Equatable, CustomStringConvertible {
        /// PRP1 (and PRP2, or a PRP list of `listPages` pages): `entries` page addresses in all.
        case prp(entries: Int, listPages: Int)
        /// `descriptors` SGL descriptors (a single Data Block descriptor in SGL1 today).
        case sgl(descriptors: Int)

        /// "PRP1 + a PRP list of 127 entries in 1 list page", "PRP1 + PRP2", "1 SGL Data Block descriptor".
        public var description: String {
            switch self {
            case .prp(1, _): "PRP1 only (1 entry)"
            case .prp(2, 0): "PRP1 + PRP2 (2 entries)"
            case let .prp(entries, pages):
                "PRP1 + a PRP list of \(entries - 1) entries in \(pages) list page\(pages == 1 ? "" : "s") (\(entries) pages in all)"
            case let .sgl(count): "\(count) SGL Data Block descriptor\(count == 1 ? "" : "s") in SGL1"
            }
        }
    }

    /// Pieces (NVMe commands) in all.
    public var commands: Int { tasks.reduce(0) { $0 + $1.commands } }

    /// Why a plan cannot be made.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// The size is not a positive multiple of the block size.
        case notWholeBlocks(bytes: Int, blockSize: Int)
        /// The buffer IOVA breaks the constraints' alignment.
        case misaligned(iova: UInt64, alignment: Int)

        /// The value and the rule it breaks.
        public var description: String {
            switch self {
            case let .notWholeBlocks(bytes, blockSize):
                "\(bytes) bytes is not a positive multiple of the \(blockSize)-byte logical block"
            case let .misaligned(iova, alignment):
                "buffer IOVA \(hex(iova)) is not aligned to \(alignment) bytes, as the alignment keys require"
            }
        }
    }

    /// Blocks one piece may carry: the segment byte count in blocks, and at most what NLB can
    /// express. The breaker (`IOQueue.transfer`) cuts by the same number.
    public static func blocksPerPiece(_ constraints: HBAConstraints, write: Bool, blockSize: Int) -> Int {
        min(constraints.segmentBytes(write: write) / blockSize, CommandLimits.blocksPerCommand.upperBound)
    }

    /// Plans `bytes` bytes read or written from a buffer at `bufferIOVA`.
    public static func plan(bytes: Int, write: Bool, constraints: HBAConstraints, blockSize: Int, pageSize: Int,
                            usesSGL: Bool, bufferIOVA: UInt64 = 1 << 30) throws(Refusal) -> TransferPlan {
        guard bytes > 0, blockSize > 0, bytes % blockSize == 0 else { throw .notWholeBlocks(bytes: bytes, blockSize: blockSize) }
        guard bufferIOVA % UInt64(constraints.requiredAlignment) == 0 else {
            throw .misaligned(iova: bufferIOVA, alignment: constraints.requiredAlignment)
        }
        let largestTask = constraints.largestTransfer(write: write)
        let perPiece = blocksPerPiece(constraints, write: write, blockSize: blockSize)
        var pointers = PointerCounter(pageSize: pageSize, usesSGL: usesSGL, largestPiece: perPiece * blockSize)
        var tasks: [Task] = []
        // Tasks alike (same length, same offset in a page) have the same pieces: plan each kind once.
        var known: [TaskKey: [Run]] = [:]
        var offset = 0
        while offset < bytes {
            let taskBytes = min(largestTask, bytes - offset)
            let iova = bufferIOVA + UInt64(offset)
            let key = TaskKey(bytes: taskBytes, pageOffset: iova % UInt64(pageSize))
            let runs = known[key] ?? pieces(of: taskBytes, at: iova, write: write, blockSize: blockSize,
                                            perPiece: perPiece, pointers: &pointers)
            known[key] = runs
            tasks.append(Task(offset: offset, bytes: taskBytes, runs: runs))
            offset += taskBytes
        }
        return TransferPlan(bytes: bytes, write: write, blockSize: blockSize, pageSize: pageSize, usesSGL: usesSGL,
                            largestTask: largestTask, largestPiece: perPiece * blockSize, tasks: tasks)
    }

    private struct TaskKey: Hashable { var bytes: Int; var pageOffset: UInt64 }

    /// The breaker's pieces of one task, as `BreakerPlan` makes them, grouped into runs.
    private static func pieces(of bytes: Int, at iova: UInt64, write: Bool, blockSize: Int, perPiece: Int,
                               pointers: inout PointerCounter) -> [Run] {
        let breaker = BreakerPlan(opcode: write ? .write : .read, nsid: 1, lba: 0,
                                  blocks: bytes / blockSize, blockSize: blockSize, dataIOVA: iova, hasData: true,
                                  fua: false, maxBlocksPerCommand: perPiece)
        var runs: [Run] = []
        for index in 0..<breaker.count {
            let command = breaker.command(index)
            let blocks = Int(command.entry.cdw12 & 0xFFFF) + 1
            let shape = pointers.shape(iova: command.dataIOVA, length: command.dataLength)
            if let last = runs.last, last.bytes == command.dataLength, last.pointer == shape {
                runs[runs.count - 1] = Run(first: last.first, count: last.count + 1, bytes: last.bytes, blocks: blocks, pointer: shape)
            } else {
                runs.append(Run(first: index, count: 1, bytes: command.dataLength, blocks: blocks, pointer: shape))
            }
        }
        return runs
    }
}

/// Encodes a command's data pointer with the engine's `DataPointerEncoder` into scratch list
/// pages and counts what it wrote. The scratch list pages sit at an IOVA no data page uses, so a
/// list entry that points into them is a chain pointer, and zero ends the list.
private struct PointerCounter {
    let encoder: DataPointerEncoder
    let pageSize: Int
    let listPages: Int
    let listIOVA: UInt64 = 0x7F00_0000_0000
    var memo: [Key: TransferPlan.DataPointerShape] = [:]

    struct Key: Hashable { var pageOffset: UInt64; var length: Int }

    init(pageSize: Int, usesSGL: Bool, largestPiece: Int) {
        encoder = DataPointerEncoder(pageSize: pageSize, useSGL: usesSGL)
        self.pageSize = pageSize
        listPages = max(1, DataPointerEncoder.listPagesNeeded(maximumBytes: largestPiece, pageSize: pageSize))
    }

    mutating func shape(iova: UInt64, length: Int) -> TransferPlan.DataPointerShape {
        let key = Key(pageOffset: iova % UInt64(pageSize), length: length)
        if let known = memo[key] { return known }
        let shape = encode(iova: iova, length: length)
        memo[key] = shape
        return shape
    }

    private func encode(iova: UInt64, length: Int) -> TransferPlan.DataPointerShape {
        let bytes = listPages * pageSize
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: pageSize)
        defer { scratch.deallocate() }
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        var entry = SubmissionQueueEntry()
        encoder.encode(into: &entry, iova: iova, length: length, listIOVA: listIOVA, listHost: scratch)
        if entry.psdt != .prp { return .sgl(descriptors: 1) }
        if entry.dptr2 == 0 { return .prp(entries: 1, listPages: 0) }
        if entry.dptr2 != listIOVA { return .prp(entries: 2, listPages: 0) }
        // PRP1 plus every data page in the list; a slot pointing into the list pages chains on.
        var entries = 1
        var pagesUsed = 1
        let slots = scratch.assumingMemoryBound(to: UInt64.self)
        let listEnd = listIOVA + UInt64(bytes)
        for slot in 0..<(bytes / 8) {
            let value = UInt64(littleEndian: slots[slot])
            if value == 0 { break }
            if value >= listIOVA, value < listEnd { pagesUsed += 1 } else { entries += 1 }
        }
        return .prp(entries: entries, listPages: pagesUsed)
    }
}
