import Translation

/// The response a command gets in the ring.
public struct RingResponse: Sendable {
    /// SCSI status.
    public var status: SCSIStatus
    /// Bytes of data-in actually moved, when fewer than the command asked for (the residual
    /// travels as read_len where the kernel supports it); nil when all moved or data was out.
    public var readLength: Int?

    public init(status: SCSIStatus, readLength: Int? = nil) {
        self.status = status
        self.readLength = readLength
    }
}

/// The completion side of the ring: the entries between cmd_tail and the parse cursor, with the
/// lengths checked when they were parsed (the kernel may rewrite the shared entries meanwhile, so
/// they are never read again), and the tail. Used under the server's lock.
///
/// With out-of-order completion (the kernel's TCMU_MAILBOX_FLAG_CAP_OOOC) a response goes into
/// the first command entry at the tail, whatever command it belongs to: the kernel completes by
/// the cmd_id it finds there, and every entry behind the parse cursor has been copied out already.
public struct RingCompleter: ~Copyable {
    let map: SharedMap
    let geometry: RingGeometry
    /// Ring position of cmd_tail.
    public private(set) var tail = 0
    /// Parsed entries not yet behind the tail, in ring order: length, and whether it is a command.
    private let lengths: UnsafeMutablePointer<Int32>
    private let isCommand: UnsafeMutablePointer<Bool>
    private let capacity: Int
    private var first = 0
    /// Entries recorded and not yet passed.
    public private(set) var count = 0

    /// A completer for `capacity` outstanding entries, starting at the mailbox's cmd_tail.
    init(map: SharedMap, geometry: RingGeometry, capacity: Int) {
        self.map = map
        self.geometry = geometry
        self.capacity = capacity
        lengths = .allocate(capacity: capacity)
        isCommand = .allocate(capacity: capacity)
    }

    deinit {
        lengths.deallocate()
        isCommand.deallocate()
    }

    /// Whether another entry can be recorded.
    var hasRoom: Bool { count < capacity }

    /// Starts at ring position `position` (the kernel's cmd_tail when serving begins).
    mutating func start(at position: Int) {
        tail = position
        first = 0
        count = 0
    }

    /// Records the next parsed entry (in ring order). Skipped entries at the tail are passed at once.
    mutating func record(length: Int, command: Bool) {
        precondition(hasRoom, "RingCompleter.record beyond capacity: the server checks hasRoom first")
        let index = (first + count) % capacity
        lengths[index] = Int32(length)
        isCommand[index] = command
        count += 1
        passSkipped()
    }

    /// Writes the response for `id` into the first command entry at the tail and moves the tail
    /// past it (not yet published: `publish()`). `sense` is copied up to 96 bytes.
    mutating func complete(id: UInt16, response: RingResponse, sense: [UInt8]) {
        passSkipped()
        precondition(count > 0, "RingCompleter.complete with no command outstanding")
        let base = geometry.commandRingOffset + tail
        map.store(id, at: base + RingLayout.commandIDOffset)
        var flags: UInt8 = 0
        if let readLength = response.readLength, geometry.capabilities.contains(.readLength) {
            flags |= RingLayout.userFlagReadLength
            map.store(UInt32(clamping: readLength), at: base + RingLayout.readLengthOffset)
        } else {
            map.store(UInt32(0), at: base + RingLayout.readLengthOffset)
        }
        map.store(flags, at: base + RingLayout.userFlagsOffset)
        map.store(response.status.rawValue, at: base + RingLayout.statusOffset)
        map.store(UInt8(0), at: base + RingLayout.statusOffset + 1)
        map.store(UInt16(0), at: base + RingLayout.statusOffset + 2)
        let senseArea = UnsafeMutableRawBufferPointer(rebasing: map.bytes[(base + RingLayout.senseOffset)...].prefix(RingLayout.senseCapacity))
        let copied = min(sense.count, RingLayout.senseCapacity)
        if copied > 0 { sense.withUnsafeBytes { senseArea.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: copied) } }
        if copied < RingLayout.senseCapacity {
            (senseArea.baseAddress! + copied).initializeMemory(as: UInt8.self, repeating: 0, count: RingLayout.senseCapacity - copied)
        }
        pass()
        passSkipped()
    }

    /// Makes the tail visible to the kernel.
    func publish() { map.publishTail(tail) }

    private mutating func pass() {
        tail = (tail + Int(lengths[first])) % geometry.commandRingSize
        first = (first + 1) % capacity
        count -= 1
    }

    private mutating func passSkipped() {
        while count > 0, !isCommand[first] { pass() }
    }
}
