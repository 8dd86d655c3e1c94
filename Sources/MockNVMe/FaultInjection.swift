import NVMe

/// Which commands an injected fault applies to. Every field left nil matches anything.
public struct CommandMatch: Sendable, Hashable {
    /// Submission queue the command arrives on (0 = admin queue).
    public var queueID: UInt16?
    /// Opcode (admin or NVM, depending on the queue).
    public var opcode: UInt8?
    /// Namespace identifier.
    public var namespaceID: UInt32?
    /// Matches LBA-addressed I/O commands (Read, Write, Compare, Write Zeroes, Verify) whose
    /// blocks overlap this range; other commands never match when it is set.
    public var lbaRange: ClosedRange<UInt64>?
    /// Chance that a matching command is hit, drawn from the controller's seeded generator.
    public var probability: Double
    /// How many commands the fault hits before it retires itself; nil for no limit.
    public var count: Int?

    /// A match on the given fields; the defaults match every command, every time, forever. An
    /// `opcode` without `queueID` matches admin and NVM commands alike: use `io(_:)` or `admin(_:)`.
    public init(queueID: UInt16? = nil, opcode: UInt8? = nil, namespaceID: UInt32? = nil,
                lbaRange: ClosedRange<UInt64>? = nil, probability: Double = 1, count: Int? = nil) {
        self.queueID = queueID
        self.opcode = opcode
        self.namespaceID = namespaceID
        self.lbaRange = lbaRange
        self.probability = probability
        self.count = count
    }

    /// Every command.
    public static let any = CommandMatch()

    /// I/O commands with this NVM opcode (any I/O queue).
    public static func io(_ opcode: NVMOpcode, lbaRange: ClosedRange<UInt64>? = nil,
                          probability: Double = 1, count: Int? = nil) -> CommandMatch {
        var match = CommandMatch(opcode: opcode.rawValue, lbaRange: lbaRange, probability: probability, count: count)
        match.ioOnly = true
        return match
    }

    /// Admin commands with this opcode.
    public static func admin(_ opcode: AdminOpcode, count: Int? = nil) -> CommandMatch {
        CommandMatch(queueID: 0, opcode: opcode.rawValue, count: count)
    }

    /// Set by `io(_:)`: admin and NVM opcodes overlap (02h is Get Log Page and Read).
    var ioOnly = false
}

/// A completion entry that breaks the rules, to prove the driver survives a hostile device.
public enum HostileCompletion: Sendable, Hashable {
    /// An extra completion carrying this command identifier, posted before the real one.
    case unknownCommandID(UInt16)
    /// The real completion written with the phase tag of the previous pass (the host should not see it).
    case wrongPhase
    /// The real completion with an SQ Head Pointer outside the submission queue.
    case sqHeadOutOfRange
    /// The real completion posted twice.
    case duplicate
}

/// A scripted misbehaviour (`MockController.inject(_:)`).
public enum InjectedFault: Sendable, Hashable {
    /// Matching commands complete with `status` and have no other effect.
    case failCommands(CommandMatch, status: CompletionStatus)
    /// Matching commands are fetched but never complete (until aborted, their queue deleted or reset).
    case neverComplete(CommandMatch)
    /// Matching commands execute normally but complete in a hostile way.
    case hostileCompletion(HostileCompletion, CommandMatch)
    /// Matching Read commands complete successfully, but the data delivered to the host has the
    /// first byte of every logical block inverted (XOR FFh): a silent corruption on the way to
    /// the host, the same every time, while the media keeps the data written. Only Reads are
    /// hit (and count against `count`); with `discardData` no data moves, so nothing changes.
    case corruptReadData(CommandMatch)
    /// The controller fails now: CSTS.CFS = 1 and it stops processing until a reset.
    case controllerFatal
    /// The device leaves the bus now: every register read returns all ones, writes and DMA stop.
    case surpriseRemoval
}

/// An armed per-command fault with its remaining count.
struct FaultRule {
    enum Action {
        case fail(CompletionStatus)
        case neverComplete
        case hostile(HostileCompletion)
        case corruptReadData
    }
    var match: CommandMatch
    var action: Action
    var remaining: Int?
}

extension ControllerState {
    /// The first armed rule a command triggers, consuming one of its uses.
    /// Only called when rules exist, so the fault-free path costs one emptiness check.
    mutating func triggeredFault(for entry: SubmissionQueueEntry, sqid: Int) -> FaultRule.Action? {
        for index in faultRules.indices {
            let match = faultRules[index].match
            if let queue = match.queueID, Int(queue) != sqid { continue }
            if match.ioOnly, sqid == 0 { continue }
            if let opcode = match.opcode, opcode != entry.opcode { continue }
            if let nsid = match.namespaceID, nsid != entry.nsid { continue }
            if case .corruptReadData = faultRules[index].action, sqid == 0 || entry.opcode != NVMOpcode.read.rawValue { continue }
            if let range = match.lbaRange {
                guard sqid != 0, let first = Self.lbaAddressed(entry) else { continue }
                let last = first &+ UInt64(entry.blockCount - 1)
                if last < range.lowerBound || first > range.upperBound { continue }
            }
            if match.probability < 1, faultRandom.nextDouble() >= match.probability { continue }
            let action = faultRules[index].action
            if let remaining = faultRules[index].remaining {
                if remaining <= 1 { faultRules.remove(at: index) } else { faultRules[index].remaining = remaining - 1 }
            }
            return action
        }
        return nil
    }

    /// The starting LBA of commands that address a block range.
    static func lbaAddressed(_ entry: SubmissionQueueEntry) -> UInt64? {
        switch NVMOpcode(rawValue: entry.opcode) {
        case .read?, .write?, .compare?, .writeZeroes?, .verify?, .writeUncorrectable?: entry.startingLBA
        default: nil
        }
    }

    mutating func arm(_ fault: InjectedFault) {
        switch fault {
        case .failCommands(let match, let status):
            faultRules.append(FaultRule(match: match, action: .fail(status), remaining: match.count))
        case .neverComplete(let match):
            faultRules.append(FaultRule(match: match, action: .neverComplete, remaining: match.count))
        case .hostileCompletion(let kind, let match):
            faultRules.append(FaultRule(match: match, action: .hostile(kind), remaining: match.count))
        case .corruptReadData(let match):
            faultRules.append(FaultRule(match: match, action: .corruptReadData, remaining: match.count))
        case .controllerFatal:
            csts.cfs = true
        case .surpriseRemoval:
            removed = true
        }
    }

    /// Inverts the first byte of every block a Read just delivered (`walker.segments` still holds
    /// its host segments).
    mutating func corruptDeliveredData(_ entry: SubmissionQueueEntry) {
        guard !discardData, let index = try? activeNamespaceIndex(entry.nsid) else { return }
        let blockSize = namespaces[index].blockSize
        var offset = 0  // of the next block's first byte, from the start of the transfer
        var segmentStart = 0
        for segment in walker.segments {
            while offset < segmentStart + segment.length {
                let byte = segment.address + (offset - segmentStart)
                byte.storeBytes(of: ~byte.load(as: UInt8.self), as: UInt8.self)
                offset += blockSize
            }
            segmentStart += segment.length
        }
    }
}
