/// Host I/O the SMART / Health log counts (NVMe Base 2.0, 5.16.1.3).
struct HostIOCounters {
    /// 512-byte units read and written by host commands (the log reports thousands, rounded up).
    var unitsRead: UInt64 = 0
    var unitsWritten: UInt64 = 0
    /// Read and Compare commands, and Write commands, that passed the namespace, range and size checks.
    var readCommands: UInt64 = 0
    var writeCommands: UInt64 = 0

    mutating func countRead(bytes: Int) {
        readCommands &+= 1
        unitsRead &+= UInt64(bytes / 512)
    }

    mutating func countWrite(bytes: Int) {
        writeCommands &+= 1
        unitsWritten &+= UInt64(bytes / 512)
    }

    mutating func add(_ other: HostIOCounters) {
        unitsRead &+= other.unitsRead
        unitsWritten &+= other.unitsWritten
        readCommands &+= other.readCommands
        writeCommands &+= other.writeCommands
    }
}

/// What one queue pair counted since the controller was made (resets do not clear it): kept per
/// queue identifier in `ControllerState.queueCounters`, so each queue pair's fast path counts in
/// a slot of its own and the totals are added up when read.
struct QueueCounters {
    var hostIO = HostIOCounters()
    /// MMIO writes to SQ y's Tail doorbell and CQ y's Head doorbell.
    var submissionTailWrites: UInt64 = 0
    var completionHeadWrites: UInt64 = 0

    /// Counts an MMIO write to doorbell `index` (2y: SQ y tail, 2y + 1: CQ y head).
    mutating func countDoorbell(_ index: Int) {
        if index & 1 == 0 { submissionTailWrites &+= 1 } else { completionHeadWrites &+= 1 }
    }
}
