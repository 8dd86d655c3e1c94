import NVMe

/// The Error Information log (Log Page 01h): the newest `capacity` entries, 64 bytes each.
struct ErrorLog {
    struct Entry {
        var errorCount: UInt64
        var sqid: UInt16
        var commandID: UInt16
        var status: CompletionStatus
        var lba: UInt64
        var nsid: UInt32
    }
    let capacity: Int
    private(set) var entries: [Entry] = []
    private(set) var errorCount: UInt64 = 0

    init(capacity: Int) {
        self.capacity = capacity
        entries.reserveCapacity(capacity)
    }

    mutating func record(_ completion: PendingCompletion, lba: UInt64 = 0, nsid: UInt32 = 0, health: inout HealthCounters) {
        add(Entry(errorCount: 0, sqid: completion.sqid, commandID: completion.commandID, status: completion.status, lba: lba, nsid: nsid), &health)
    }

    /// Invalid doorbell writes have no command: SQID and CID are FFFFh.
    mutating func recordDoorbell(info: UInt8, health: inout HealthCounters) {
        add(Entry(errorCount: 0, sqid: 0xFFFF, commandID: 0xFFFF, status: CompletionStatus(rawValue: 0), lba: 0, nsid: 0), &health)
    }

    private mutating func add(_ entry: Entry, _ health: inout HealthCounters) {
        errorCount += 1
        health.errorLogEntries += 1
        var numbered = entry
        numbered.errorCount = errorCount
        if entries.count == capacity { entries.removeFirst() }
        entries.append(numbered)
    }

    /// The page, newest entry first, as the spec lays it out.
    func encoded() -> [UInt8] {
        var page = [UInt8](repeating: 0, count: capacity * 64)
        page.withUnsafeMutableBytes { bytes in
            for (position, entry) in entries.reversed().enumerated() {
                let base = position * 64
                bytes.storeBytes(of: entry.errorCount.littleEndian, toByteOffset: base, as: UInt64.self)
                bytes.storeBytes(of: entry.sqid.littleEndian, toByteOffset: base + 8, as: UInt16.self)
                bytes.storeBytes(of: entry.commandID.littleEndian, toByteOffset: base + 10, as: UInt16.self)
                bytes.storeBytes(of: (entry.status.rawValue << 1).littleEndian, toByteOffset: base + 12, as: UInt16.self)
                bytes.storeBytes(of: UInt16(0xFFFF).littleEndian, toByteOffset: base + 14, as: UInt16.self)
                bytes.storeBytes(of: entry.lba.littleEndian, toByteOffset: base + 16, as: UInt64.self)
                bytes.storeBytes(of: entry.nsid.littleEndian, toByteOffset: base + 24, as: UInt32.self)
            }
        }
        return page
    }
}

/// What the SMART / Health Information log (Log Page 02h) counts.
/// Host I/O is counted per queue (`QueueCounters`) and added up for the page.
struct HealthCounters {
    var powerCycles: UInt64 = 1
    var unsafeShutdowns: UInt64 = 0
    var mediaErrors: UInt64 = 0
    var errorLogEntries: UInt64 = 0

    /// The 512-byte page, with `io` the host I/O of every queue.
    func encoded(io: HostIOCounters) -> [UInt8] {
        var page = [UInt8](repeating: 0, count: 512)
        page.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: UInt16(273 + 25).littleEndian, toByteOffset: 1, as: UInt16.self)  // 25 C in kelvin
            bytes[3] = 100  // available spare
            bytes[4] = 10   // spare threshold
            func put(_ value: UInt64, _ offset: Int) { bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self) }
            put((io.unitsRead + 999) / 1000, 32)
            put((io.unitsWritten + 999) / 1000, 48)
            put(io.readCommands, 64)
            put(io.writeCommands, 80)
            put(powerCycles, 112)
            put(unsafeShutdowns, 144)
            put(mediaErrors, 160)
            put(errorLogEntries, 176)
        }
        return page
    }
}

/// Get Log Page: Error Information (01h) and SMART / Health Information (02h).
extension ControllerState {
    /// Get Log Page (NVMe Base 2.0, 5.16): NUMD from CDW10 bits 31:16 and CDW11 bits 15:0,
    /// LPO from CDW12/13 (dword aligned, inside the page); past the page's end the host gets zeros.
    mutating func getLogPage(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
        let dwords = Int((entry.cdw11 & 0xFFFF) << 16 | entry.cdw10 >> 16) + 1
        let offset = UInt64(entry.cdw13) << 32 | UInt64(entry.cdw12)
        guard offset % 4 == 0 else { throw CommandFailure(.invalidFieldInCommand) }
        let page: [UInt8]
        switch LogPageID(rawValue: UInt8(truncatingIfNeeded: entry.cdw10)) {
        case .errorInformation?:
            page = errorLog.encoded()
        case .smartHealth?:
            // Controller-wide only (LPA bit 0 clear): NSID must be 0 or FFFFFFFFh.
            guard entry.nsid == 0 || entry.nsid == 0xFFFF_FFFF else { throw CommandFailure(.invalidFieldInCommand) }
            page = health.encoded(io: hostIO)
        default:
            throw CommandFailure(.invalidLogPage)
        }
        guard offset < UInt64(page.count) else { throw CommandFailure(.invalidFieldInCommand) }
        try sendToHost(entry, page, from: Int(offset), length: dwords * 4)
        // RAE (CDW10 bit 15) clear: the host has seen the events this page explains. Waiting
        // events of those types are reported once this command's completion is posted (dispatch
        // delivers events after every admin completion).
        if entry.cdw10 & Self.retainAsynchronousEvent == 0 {
            asyncEventMask.clear(logPage: UInt8(truncatingIfNeeded: entry.cdw10))
        }
    }

    /// Get Log Page CDW10 bit 15, Retain Asynchronous Event.
    static let retainAsynchronousEvent: UInt32 = 1 << 15
}
