/// One data segment of a command, as an offset into the shared map (checked to lie in the data area).
public struct IOVector: Sendable, Equatable {
    /// Byte offset in the map.
    public var offset: Int
    /// Bytes.
    public var length: Int
}

/// What made a command entry unusable; the command is failed with sense, the ring goes on.
public enum EntryDefect: Sendable, Equatable, CustomStringConvertible {
    /// Bidirectional data (iov_bidi_cnt) is not served.
    case bidirectional(count: UInt32)
    /// Protection information iovecs (iov_dif_cnt) are not served.
    case protectionInformation(count: UInt32)
    /// More iovecs than a command may carry here.
    case tooManyIovecs(count: UInt32, capacity: Int)
    /// The iovec array does not fit inside the entry.
    case iovecsOverrunEntry(count: UInt32, entryLength: Int)
    /// cdb_off lies outside the command ring, or the CDB runs past it.
    case cdbOutsideRing(offset: UInt64)
    /// The CDB's own length (group code or variable-length field) exceeds LIO's 32 bytes.
    case cdbTooLong(length: Int)
    /// An iovec points outside the data area.
    case iovecOutsideDataArea(index: Int, offset: UInt64, length: UInt64)
    /// The iovecs add up to more than the largest transfer this export announced (`ParsedCommand.transferLimit`).
    case transferTooLarge(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case let .bidirectional(count): "\(count) bidirectional iovecs (not served)"
        case let .protectionInformation(count): "\(count) protection-information iovecs (not served)"
        case let .tooManyIovecs(count, capacity): "\(count) iovecs, more than \(capacity)"
        case let .iovecsOverrunEntry(count, length): "\(count) iovecs do not fit in a \(length)-byte entry"
        case let .cdbOutsideRing(offset): "cdb_off \(offset) is outside the command ring"
        case let .cdbTooLong(length): "a \(length)-byte CDB (LIO's limit is \(RingLayout.maximumCDBLength))"
        case let .iovecOutsideDataArea(index, offset, length):
            "iovec \(index) (offset \(offset), \(length) bytes) is outside the data area"
        case let .transferTooLarge(bytes, limit): "\(bytes) bytes of data, more than the \(limit) announced"
        }
    }

    /// SCSI sense for the command: a transfer larger than announced is the initiator's request
    /// (ILLEGAL REQUEST, INVALID FIELD IN CDB); the rest are defects of the ring the target received
    /// (HARDWARE ERROR, INTERNAL TARGET FAILURE).
    var isIllegalRequest: Bool {
        if case .transferTooLarge = self { return true }
        if case .cdbTooLong = self { return true }
        return false
    }
}

/// A command copied out of the ring: id, CDB and iovecs, in storage allocated once. The ring
/// entry may be overwritten (by the kernel, or by another command's response) once this is filled.
public final class ParsedCommand {
    /// cmd_id, echoed in the response.
    public internal(set) var id: UInt16 = 0
    /// The CDB. Capacity for LIO's longest is reserved once, so refilling it allocates nothing
    /// while no task holds a reference.
    public internal(set) var cdb: [UInt8]
    /// Bytes in all iovecs.
    public internal(set) var transferLength = 0
    /// The iovecs; `iovecCount` of `iovecCapacity` in use.
    let iovecStorage: UnsafeMutablePointer<IOVector>
    /// Iovecs in use.
    public internal(set) var iovecCount = 0
    /// The most iovecs a command may carry.
    public let iovecCapacity: Int
    /// The data bytes one command's DMA buffer holds; a larger READ or WRITE runs in pieces (`BlockPieces`).
    public let transferCapacity: Int
    /// The most data bytes a command may carry: the transfer the export announced (VPD B0h
    /// MAXIMUM TRANSFER LENGTH), at least `transferCapacity`; iovecs adding up to more are refused.
    public internal(set) var transferLimit: Int
    /// Storage for the CDB of one piece of a command run in pieces, reused like `cdb`.
    var pieceCDB: [UInt8]

    /// Storage for one command of at most `iovecCapacity` iovecs and `transferCapacity` bytes.
    public init(iovecCapacity: Int, transferCapacity: Int) {
        self.iovecCapacity = max(1, iovecCapacity)
        self.transferCapacity = transferCapacity
        transferLimit = transferCapacity
        pieceCDB = []
        pieceCDB.reserveCapacity(16)
        iovecStorage = .allocate(capacity: self.iovecCapacity)
        cdb = []
        cdb.reserveCapacity(RingLayout.maximumCDBLength)
    }

    deinit { iovecStorage.deallocate() }

    /// The iovecs in use.
    public var iovecs: UnsafeBufferPointer<IOVector> { UnsafeBufferPointer(start: iovecStorage, count: iovecCount) }
}
