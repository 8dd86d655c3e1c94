import NVMe

/// Asynchronous event completion fields (NVMe Base 2.0, "Asynchronous Event Request - Completion Queue Entry Dword 0").
enum AsyncEventInfo {
    /// Asynchronous Event Type: Error status.
    static let errorStatus: UInt8 = 0
    /// Error status information: Write to Invalid Doorbell Register.
    static let invalidDoorbellRegister: UInt8 = 0x00
    /// Error status information: Invalid Doorbell Write Value.
    static let invalidDoorbellWriteValue: UInt8 = 0x01
}

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
struct HealthCounters {
    /// 512-byte units read and written by host commands (the log reports thousands, rounded up).
    var unitsRead: UInt64 = 0
    var unitsWritten: UInt64 = 0
    var hostReadCommands: UInt64 = 0
    var hostWriteCommands: UInt64 = 0
    var powerCycles: UInt64 = 1
    var unsafeShutdowns: UInt64 = 0
    var mediaErrors: UInt64 = 0
    var errorLogEntries: UInt64 = 0

    /// The 512-byte page.
    func encoded() -> [UInt8] {
        var page = [UInt8](repeating: 0, count: 512)
        page.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: UInt16(273 + 25).littleEndian, toByteOffset: 1, as: UInt16.self)  // 25 C in kelvin
            bytes[3] = 100  // available spare
            bytes[4] = 10   // spare threshold
            func put(_ value: UInt64, _ offset: Int) { bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self) }
            put((unitsRead + 999) / 1000, 32)
            put((unitsWritten + 999) / 1000, 48)
            put(hostReadCommands, 64)
            put(hostWriteCommands, 80)
            put(powerCycles, 112)
            put(unsafeShutdowns, 144)
            put(mediaErrors, 160)
            put(errorLogEntries, 176)
        }
        return page
    }
}

extension ControllerState {
    /// Completes an outstanding Asynchronous Event Request with the event, or keeps the event
    /// until the host sends one (events of one type are reported once until then).
    mutating func raiseAsyncEvent(type: UInt8, info: UInt8, logPage: UInt8) {
        let dw0 = UInt32(type & 0b111) | UInt32(info) << 8 | UInt32(logPage) << 16
        if asyncEventRequests.isEmpty {
            if !pendingEvents.contains(dw0) { pendingEvents.append(dw0) }
            return
        }
        let commandID = asyncEventRequests.removeFirst()
        finish(PendingCompletion(sqid: 0, commandID: commandID, status: .success, dw0: dw0))
    }

    /// Asynchronous Event Request: held until an event; AERL + 1 may be outstanding.
    mutating func asynchronousEventRequest(_ entry: SubmissionQueueEntry) -> Disposition {
        if !pendingEvents.isEmpty {
            return .done(.success, pendingEvents.removeFirst())
        }
        guard asyncEventRequests.count < Int(configuration.aerl) + 1 else {
            return .done(CompletionStatus(.asynchronousEventRequestLimitExceeded), 0)
        }
        asyncEventRequests.append(entry.commandID)
        return .held
    }
}
