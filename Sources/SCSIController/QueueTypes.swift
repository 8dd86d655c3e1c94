import NVMe

/// One finished command, as `QueuePair.poll` hands it to its caller.
public struct Completion: Sendable {
    /// The caller's tag given at submission.
    public var tag: UInt64
    /// The NVMe status. A command the driver ended itself (see `droppedBy`) reads Commands Aborted
    /// due to SQ Deletion, which is what a controller reset or stop does to the I/O queues.
    public var status: CompletionStatus
    /// Command-specific Dword 0.
    public var dw0: UInt32
    /// The command identifier the command carried: tracker index in the low bits, the tracker's
    /// reuse generation above them, so a late completion for an earlier use of the tracker is told apart.
    public var commandID: UInt16
    /// Nil when the controller posted this completion; otherwise why the driver ended the command
    /// without one (the controller was reset or stopped while it was outstanding).
    public var droppedBy: CommandDrop?
    /// When the command's batch was submitted (`MonotonicClock`, read once per batch by its first
    /// command), so a caller can time commands with one clock read per poll pass of its own.
    public var submittedAt: UInt64

    @inlinable init(tag: UInt64, status: CompletionStatus, dw0: UInt32, commandID: UInt16, submittedAt: UInt64,
                    droppedBy: CommandDrop? = nil) {
        self.tag = tag
        self.status = status
        self.dw0 = dw0
        self.commandID = commandID
        self.submittedAt = submittedAt
        self.droppedBy = droppedBy
    }
}

/// Why the driver ended a command the controller never completed.
public enum CommandDrop: Sendable, Equatable {
    /// Recovery reset the controller, which deleted the queue the command was on.
    case controllerReset
    /// The controller was stopped (or recovery could not bring it back).
    case controllerStopped
}

/// What `QueuePair.submit` did with a command.
public enum SubmitResult: Sendable, Equatable {
    /// The command is in the submission queue; the next `ringDoorbell()` announces it.
    case submitted
    /// Every tracker or SQ slot is taken: poll, then submit again. Nothing was changed.
    case queueFull
    /// The data length is negative or larger than one command may carry (`maximumDataLength`):
    /// the command was refused, since its PRP list would not fit its tracker's list pages.
    case transferTooLarge
    /// The queue is closed: the controller was stopped, or recovery could not re-create it.
    case closed
}

/// Per-slot bookkeeping, preallocated. The command identifier's low bits are the tracker's index.
@usableFromInline struct Tracker {
    /// The current (or last) command's identifier (index | generation << indexBits) in the low 16
    /// bits, with `Tracker.free` set above them while no command runs: a completion's identifier
    /// equals this word only when it names the command the tracker runs now, so `poll` checks
    /// "in use" and "this generation" with one compare.
    @usableFromInline var word: UInt32 = Tracker.free
    @usableFromInline var aborted = false
    @usableFromInline var tag: UInt64 = 0
    @usableFromInline var submittedAt: UInt64 = 0
    /// Pads a tracker to 32 bytes, so that its address is its index shifted (no multiply on the
    /// hot path). Unused.
    @usableFromInline var spare: UInt64 = 0

    /// The bit of `word` that marks a free tracker (above every 16-bit command identifier).
    @inlinable static var free: UInt32 { 0x1_0000 }
    /// The identifier of the current (or last) command.
    @inlinable var commandID: UInt16 { UInt16(truncatingIfNeeded: word) }
    /// Whether a command runs on this tracker.
    @inlinable var inUse: Bool { word & Tracker.free == 0 }
    /// Frees the tracker, keeping its last identifier (the next use counts on from it).
    @inlinable mutating func release() { word |= Tracker.free }
}

/// The mutable ring state, kept behind a pointer so the hot path touches plain memory with no
/// class-property exclusivity checks. Only the queue pair's owner thread touches it.
@usableFromInline struct RingState {
    /// Where the next command goes in the SQ: its slot's byte offset (the tail times 64), so
    /// `submit` addresses the slot and wraps with no multiply.
    @usableFromInline var sqTailOffset = 0
    /// The SQ tail: the slot the next command goes into.
    @inlinable var sqTail: UInt16 { UInt16(truncatingIfNeeded: sqTailOffset &>> 6) }
    /// Last SQ head the controller reported: entries between it and the tail are still the controller's.
    @usableFromInline var sqHead: UInt16 = 0
    @usableFromInline var cqHead: UInt16 = 0
    @usableFromInline var phase = true
    @usableFromInline var freeHead: UInt32 = 0
    @usableFromInline var freeTail: UInt32 = 0
    /// Submissions may take trackers while `freeHead` differs from this: it lies ahead of
    /// `freeHead` by the lesser of the free trackers and the free SQ slots (by the last SQ head the
    /// controller reported), so `submit` makes one check for both. Poll works it out again at the
    /// end of a pass that consumed anything (`QueuePair.acceptSQHead`), reset moves it a
    /// queue's capacity ahead, close sets it to `freeHead`.
    @usableFromInline var submitLimit: UInt32 = 0
    /// The clock read by the first command submitted since the last doorbell, stamped on the
    /// batch's commands; 0 while no batch is open (the monotonic clock never reads 0 once the
    /// system is up).
    @usableFromInline var batchTime: UInt64 = 0
    @usableFromInline var hostileCompletions = 0
    /// Doorbell register writes made (see `QueuePair.mmioDoorbellWrites`).
    @usableFromInline var mmioDoorbellWrites = 0
    /// Trackers free now.
    @inlinable var freeCount: Int { Int(freeTail &- freeHead) }
    /// Commands that may be submitted now.
    @inlinable var submitCredit: Int { Int(submitLimit &- freeHead) }
    /// The controller epoch (`ControllerEpoch.value`) the queue's rings belong to.
    @usableFromInline var epoch = 0
    /// Numbers the requests run on this queue; a command's tag carries its request's number.
    @usableFromInline var requestNumber: UInt32 = 0
    /// Why the queue is closed (stopped, or recovery could not re-create it); nil while it is open.
    @usableFromInline var closeReason: ControllerError?
}
