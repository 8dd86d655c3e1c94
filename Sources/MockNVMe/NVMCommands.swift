#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NVMe
import PCIDevice

/// The NVM command set (NVM Command Set 1.0, chapter 3): Read, Write, Flush, Write Zeroes,
/// Dataset Management, Compare, Verify.
extension ControllerState {
    mutating func executeIO(_ entry: SubmissionQueueEntry, sqid: Int) -> Disposition {
        do throws(CommandFailure) {
            guard let opcode = NVMOpcode(rawValue: entry.opcode) else { throw CommandFailure(.invalidCommandOpcode) }
            // An optional command left out of ONCS is an opcode this controller does not have.
            if let bit = Self.optionalCommandBit(opcode), !identifyController.oncs.contains(bit) {
                throw CommandFailure(.invalidCommandOpcode)
            }
            try checks.checkDataPointerType(entry)
            if opcode == .flush { return try flush(entry) }
            let index = try activeNamespaceIndex(entry.nsid)
            switch opcode {
            case .read, .write, .compare, .verify, .writeZeroes:
                let bytes = try checks.transferBytes(entry, opcode, index)
                switch opcode {
                case .read: try read(entry, index, bytes, sqid: sqid)
                case .write: try write(entry, index, bytes, sqid: sqid)
                case .compare: try compare(entry, index, bytes, sqid: sqid)
                case .writeZeroes: try writeZeroes(entry, index)
                default: break  // Verify: the media is always readable, nothing moves
                }
            case .datasetManagement:
                try datasetManagement(entry, index)
            default:
                throw CommandFailure(.invalidCommandOpcode)
            }
            return .done(.success, 0)
        } catch {
            recordPointerFault(error, entry, sqid: sqid)
            return .done(error.status, 0)
        }
    }

    /// The ONCS bit that says whether `opcode` is supported, nil for the mandatory commands.
    private static func optionalCommandBit(_ opcode: NVMOpcode) -> OptionalNVMCommands? {
        switch opcode {
        case .compare: .compare
        case .datasetManagement: .datasetManagement
        case .writeZeroes: .writeZeroes
        case .verify: .verify
        case .writeUncorrectable: .writeUncorrectable
        case .copy: .copy
        default: nil
        }
    }

    /// Writes land in the cache unless FUA is set or no enabled cache exists.
    private mutating func cached(_ entry: SubmissionQueueEntry) -> Bool {
        writeCacheEnabled && !entry.fua
    }

    private mutating func read(_ entry: SubmissionQueueEntry, _ index: Int, _ bytes: Int, sqid: Int) throws(CommandFailure) {
        queueCounters[sqid]!.hostIO.countRead(bytes: bytes)
        if discardData { return }
        try walker.map(entry, length: bytes, access: .deviceWrites)
        var cursor = SegmentCursor()
        let blockSize = namespaces[index].blockSize
        for lba in entry.startingLBA..<(entry.startingLBA + UInt64(entry.blockCount)) {
            cursor.write(walker.segments, from: try namespaces[index].block(lba), count: blockSize)
        }
    }

    private mutating func write(_ entry: SubmissionQueueEntry, _ index: Int, _ bytes: Int, sqid: Int) throws(CommandFailure) {
        queueCounters[sqid]!.hostIO.countWrite(bytes: bytes)
        if discardData { return }
        try walker.map(entry, length: bytes, access: .deviceReads)
        var cursor = SegmentCursor()
        let blockSize = namespaces[index].blockSize
        let cache = cached(entry)
        for lba in entry.startingLBA..<(entry.startingLBA + UInt64(entry.blockCount)) {
            cursor.read(walker.segments, into: compareBuffer, count: blockSize)
            try namespaces[index].writeBlock(lba, from: compareBuffer, cached: cache)
        }
    }

    private mutating func compare(_ entry: SubmissionQueueEntry, _ index: Int, _ bytes: Int, sqid: Int) throws(CommandFailure) {
        queueCounters[sqid]!.hostIO.readCommands &+= 1
        if discardData { return }
        try walker.map(entry, length: bytes, access: .deviceReads)
        var cursor = SegmentCursor()
        let blockSize = namespaces[index].blockSize
        var equal = true
        for lba in entry.startingLBA..<(entry.startingLBA + UInt64(entry.blockCount)) {
            cursor.read(walker.segments, into: compareBuffer, count: blockSize)
            if let stored = try namespaces[index].block(lba) {
                if memcmp(stored, compareBuffer, blockSize) != 0 { equal = false }
            } else if !UnsafeRawBufferPointer(start: compareBuffer, count: blockSize).allSatisfy({ $0 == 0 }) {
                equal = false
            }
        }
        guard equal else { throw CommandFailure(.compareFailure) }
    }

    private mutating func writeZeroes(_ entry: SubmissionQueueEntry, _ index: Int) throws(CommandFailure) {
        // DEAC or not, the blocks read back as zeros afterwards (DLFEAT = 001b), so both are one path.
        if discardData { return }
        try namespaces[index].zero(lba: entry.startingLBA, count: UInt64(entry.blockCount), cached: cached(entry))
    }

    /// Flush (NSID FFFFFFFFh: every namespace). Without a cache it has nothing to do.
    private mutating func flush(_ entry: SubmissionQueueEntry) throws(CommandFailure) -> Disposition {
        if entry.nsid == 0xFFFF_FFFF {
            for index in namespaces.indices { try namespaces[index].persistCache() }
        } else {
            try namespaces[try activeNamespaceIndex(entry.nsid)].persistCache()
        }
        return .done(.success, 0)
    }

    /// Dataset Management: NR + 1 ranges of 16 bytes; only Deallocate (AD) acts.
    private mutating func datasetManagement(_ entry: SubmissionQueueEntry, _ index: Int) throws(CommandFailure) {
        let rangeCount = Int(entry.cdw10 & 0xFF) + 1
        let bytes = rangeCount * DatasetManagementRange.size
        try walker.map(entry, length: bytes, access: .deviceReads)
        guard entry.cdw11 & DatasetManagementAttribute.deallocate != 0, !discardData else { return }
        var raw = [UInt8](repeating: 0, count: bytes)
        var cursor = SegmentCursor()
        raw.withUnsafeMutableBytes { cursor.read(walker.segments, into: $0.baseAddress!, count: bytes) }
        var ranges: [(UInt64, UInt64)] = []
        for range in 0..<rangeCount {
            let count = raw.withUnsafeBytes { UInt64(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: range * 16 + 4, as: UInt32.self))) }
            let lba = raw.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: range * 16 + 8, as: UInt64.self)) }
            guard namespaces[index].contains(lba: lba, count: count) else { throw CommandFailure(.lbaOutOfRange) }
            ranges.append((lba, count))
        }
        // Validated first, so an out-of-range entry leaves every range allocated.
        for (lba, count) in ranges {
            try namespaces[index].zero(lba: lba, count: count, cached: writeCacheEnabled)
        }
    }
}
