/// Why the shared ring cannot be served. The kernel is on the other side of the map, so each case
/// names the value that was out of bounds; the export stops with it rather than guess.
public enum RingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The map is smaller than a mailbox.
    case mapTooSmall(size: Int)
    /// The mailbox speaks another version.
    case unsupportedVersion(UInt16)
    /// cmdr_off / cmdr_size place the command ring outside the map or misaligned.
    case badCommandRing(offset: UInt32, size: UInt32, mapSize: Int)
    /// cmd_head is outside the ring or misaligned.
    case badHead(UInt32)
    /// The entry at `position` (ring-relative) cannot be walked past: the ring is broken from there on.
    case brokenEntry(position: Int, reason: String)

    public var description: String {
        switch self {
        case let .mapTooSmall(size):
            "the TCMU map is \(size) bytes, smaller than a \(RingLayout.mailboxSize)-byte mailbox"
        case let .unsupportedVersion(version):
            "the TCMU mailbox is version \(version); this handler speaks version \(RingLayout.mailboxVersion)"
        case let .badCommandRing(offset, size, mapSize):
            "the TCMU mailbox puts the command ring at \(offset)+\(size) bytes, outside the \(mapSize)-byte map or misaligned"
        case let .badHead(head):
            "the TCMU cmd_head \(head) is outside the command ring or not 8-byte aligned"
        case let .brokenEntry(position, reason):
            "the TCMU command ring is broken at offset \(position): \(reason)"
        }
    }
}

/// The mailbox's fixed facts, read once at start and checked, so that later reads of the shared
/// map can never move the ring or the data area.
public struct RingGeometry: Sendable, Equatable {
    /// Bytes in the whole map.
    public let mapSize: Int
    /// Where the command ring starts in the map.
    public let commandRingOffset: Int
    /// Bytes in the command ring.
    public let commandRingSize: Int
    /// What the kernel supports (mailbox flags).
    public let capabilities: RingLayout.Capabilities

    /// Where the data area starts: everything after the command ring.
    public var dataAreaOffset: Int { commandRingOffset + commandRingSize }

    /// Reads and checks the mailbox at the start of `map`.
    public init(map: UnsafeRawBufferPointer) throws(RingError) {
        guard map.count >= RingLayout.mailboxSize else { throw .mapTooSmall(size: map.count) }
        let version = UInt16(littleEndian: map.loadUnaligned(fromByteOffset: RingLayout.versionOffset, as: UInt16.self))
        guard version == RingLayout.mailboxVersion else { throw .unsupportedVersion(version) }
        let flags = UInt16(littleEndian: map.loadUnaligned(fromByteOffset: RingLayout.flagsOffset, as: UInt16.self))
        let offset = UInt32(littleEndian: map.loadUnaligned(fromByteOffset: RingLayout.commandRingOffsetOffset, as: UInt32.self))
        let size = UInt32(littleEndian: map.loadUnaligned(fromByteOffset: RingLayout.commandRingSizeOffset, as: UInt32.self))
        let alignment = UInt32(RingLayout.entryAlignment)
        guard Int(offset) >= RingLayout.mailboxSize, offset % alignment == 0, size % alignment == 0,
              Int(size) >= RingLayout.entrySize, UInt64(offset) + UInt64(size) <= UInt64(map.count) else {
            throw .badCommandRing(offset: offset, size: size, mapSize: map.count)
        }
        mapSize = map.count
        commandRingOffset = Int(offset)
        commandRingSize = Int(size)
        capabilities = RingLayout.Capabilities(rawValue: flags)
    }

    /// Checks a cmd_head value read from the mailbox.
    func checkedHead(_ head: UInt32) throws(RingError) -> Int {
        guard Int(head) < commandRingSize, head % UInt32(RingLayout.entryAlignment) == 0 else { throw .badHead(head) }
        return Int(head)
    }

    /// Bytes from ring position `from` forward to `to`, wrapping.
    func distance(from: Int, to: Int) -> Int {
        to >= from ? to - from : commandRingSize - from + to
    }
}
