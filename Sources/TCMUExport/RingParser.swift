/// What the entry at the parse cursor is.
public enum RingEntry: Sendable, Equatable {
    /// PAD or TMR: nothing to serve, walk past `length` bytes.
    case skip(length: Int)
    /// A command copied into the `ParsedCommand`.
    case command(length: Int)
    /// A command whose entry is unusable: fail it (its id is in the `ParsedCommand`) with sense.
    case malformed(length: Int, defect: EntryDefect)

    /// Bytes the entry takes in the ring.
    public var length: Int {
        switch self {
        case let .skip(length), let .command(length), let .malformed(length, _): length
        }
    }
}

/// Reads entries of the command ring into `ParsedCommand`s. The kernel writes the ring, so every
/// field is read once into a local and checked before use: offsets and lengths against the
/// command ring, the data area and the entry, counts against the preallocated capacity.
public struct RingParser: Sendable {
    /// The checked mailbox facts.
    public let geometry: RingGeometry
    let map: SharedMap

    /// A parser over `map`, whose mailbox is read and checked now.
    public init(map: SharedMap) throws(RingError) {
        geometry = try RingGeometry(map: UnsafeRawBufferPointer(map.bytes))
        self.map = map
    }

    /// cmd_head now, checked.
    public func head() throws(RingError) -> Int { try geometry.checkedHead(map.loadHead()) }

    /// Parses the entry at ring `position` (8-aligned, before `head`) into `command`.
    /// - Throws: `brokenEntry` when the entry's length cannot be trusted to find the next one.
    public func entry(at position: Int, head: Int, into command: ParsedCommand) throws(RingError) -> RingEntry {
        let available = geometry.distance(from: position, to: head)
        let base = geometry.commandRingOffset + position
        guard available >= 8 else { throw .brokenEntry(position: position, reason: "cmd_head leaves \(available) bytes, less than a header") }
        let lengthAndOpcode: UInt32 = map.load(base, as: UInt32.self)
        let length = Int(lengthAndOpcode & ~RingLayout.opcodeMask)
        guard length > 0, length <= available, length <= geometry.commandRingSize - position else {
            throw .brokenEntry(position: position, reason: "entry length \(length) is 0 or runs past cmd_head or the ring's end")
        }
        switch RingLayout.Opcode(rawValue: lengthAndOpcode & RingLayout.opcodeMask) {
        case .pad, .taskManagement: return .skip(length: length)
        case .command: break
        case nil: throw .brokenEntry(position: position, reason: "unknown entry opcode \(lengthAndOpcode & RingLayout.opcodeMask)")
        }
        guard length >= RingLayout.entrySize else {
            throw .brokenEntry(position: position, reason: "a \(length)-byte command entry has no room for its response")
        }
        command.id = map.load(base + RingLayout.commandIDOffset, as: UInt16.self)
        command.iovecCount = 0
        command.transferLength = 0
        command.cdb.removeAll(keepingCapacity: true)
        if let defect = fill(command, entryBase: base, entryLength: length) {
            command.iovecCount = 0
            command.transferLength = 0
            return .malformed(length: length, defect: defect)
        }
        return .command(length: length)
    }

    /// Copies the CDB and iovecs of the command entry at map offset `base`; returns the first defect.
    func fill(_ command: ParsedCommand, entryBase base: Int, entryLength: Int) -> EntryDefect? {
        let count: UInt32 = map.load(base + RingLayout.iovecCountOffset, as: UInt32.self)
        let bidirectional: UInt32 = map.load(base + RingLayout.bidirectionalIovecCountOffset, as: UInt32.self)
        let integrity: UInt32 = map.load(base + RingLayout.integrityIovecCountOffset, as: UInt32.self)
        let cdbOffset: UInt64 = map.load(base + RingLayout.cdbOffsetOffset, as: UInt64.self)
        guard bidirectional == 0 else { return .bidirectional(count: bidirectional) }
        guard integrity == 0 else { return .protectionInformation(count: integrity) }
        guard Int(count) <= command.iovecCapacity else { return .tooManyIovecs(count: count, capacity: command.iovecCapacity) }
        guard RingLayout.iovecArrayOffset + Int(count) * RingLayout.iovecSize <= entryLength else {
            return .iovecsOverrunEntry(count: count, entryLength: entryLength)
        }
        if let defect = copyCDB(at: cdbOffset, into: command) { return defect }
        let dataStart = UInt64(geometry.dataAreaOffset), mapEnd = UInt64(geometry.mapSize)
        var total = 0
        for index in 0..<Int(count) {
            let slot = base + RingLayout.iovecArrayOffset + index * RingLayout.iovecSize
            let offset: UInt64 = map.load(slot, as: UInt64.self)
            let length: UInt64 = map.load(slot + 8, as: UInt64.self)
            guard offset >= dataStart, offset <= mapEnd, length <= mapEnd - offset else {
                return .iovecOutsideDataArea(index: index, offset: offset, length: length)
            }
            // Each length is at most the map's size and the count is bounded, so the sum cannot overflow.
            total += Int(length)
            command.iovecStorage[index] = IOVector(offset: Int(offset), length: Int(length))
        }
        guard total <= command.transferLimit else { return .transferTooLarge(bytes: total, limit: command.transferLimit) }
        command.iovecCount = Int(count)
        command.transferLength = total
        return nil
    }

    /// Copies the CDB at map offset `offset`, whose length its own first byte gives (SAM-5 group
    /// codes; 7Fh carries its additional length in byte 7), all inside the command ring.
    func copyCDB(at offset: UInt64, into command: ParsedCommand) -> EntryDefect? {
        let ringStart = UInt64(geometry.commandRingOffset), ringEnd = UInt64(geometry.dataAreaOffset)
        guard offset >= ringStart, offset < ringEnd else { return .cdbOutsideRing(offset: offset) }
        let start = Int(offset)
        let opcode: UInt8 = map.load(start, as: UInt8.self)
        var length = Self.cdbLengthByGroup[Int(opcode >> 5)]
        if opcode == 0x7F {
            guard ringEnd - offset >= 8 else { return .cdbOutsideRing(offset: offset) }
            length = Int(map.load(start + 7, as: UInt8.self)) + 8
        }
        guard length <= RingLayout.maximumCDBLength else { return .cdbTooLong(length: length) }
        guard UInt64(length) <= ringEnd - offset else { return .cdbOutsideRing(offset: offset) }
        for index in 0..<length { command.cdb.append(map.load(start + index, as: UInt8.self)) }
        return nil
    }

    /// CDB length by group code (opcode bits 7-5), as Linux's scsi_command_size_tbl has it.
    static let cdbLengthByGroup = [6, 10, 10, 12, 16, 12, 10, 10]
}
