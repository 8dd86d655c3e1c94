import HexFormat
import NVMe

/// A data or queue pointer the mock refused because it broke a PRP or SGL rule (NVMe Base 2.0,
/// 4.1.1 and 4.1.2), as opposed to an address the IOMMU refused (those are `DMAFault`s). The
/// command completed with `status`; this says which address was wrong and why.
public struct DataPointerFault: Sendable, Hashable, CustomStringConvertible {
    /// The rule an address broke.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// PRP1 or a PRP list pointer with bits 1:0 set (entries are dword aligned).
        case prpNotDwordAligned
        /// PRP2 used as a page, a PRP list entry or a chained list pointer with a page offset.
        case prpEntryHasOffset
        /// A PRP list pointer too close to the end of its page to hold one 8-byte entry.
        case prpListCrossesPage
        /// A queue base (PC=1), a queue's PRP list pointer or one of its entries (PC=0) that is
        /// not aligned to the memory page size.
        case queueNotPageAligned
        /// An SGL descriptor of a reserved or unsupported type (the raw type is given).
        case sglDescriptorType(UInt8)
        /// An SGL descriptor with a subtype other than 0h (Address).
        case sglSubtype(UInt8)
        /// An SGL Segment or Last Segment whose length is 0 or not a multiple of 16.
        case sglSegmentLength(UInt32)
        /// A Segment descriptor where none may be: inside a Last Segment, not last in its
        /// segment, or a Segment that does not end with one.
        case sglSegmentMisplaced
        /// A chain of segments longer than the mock's descriptor bound (a loop, most likely).
        case sglTooManyDescriptors
        /// Data Block lengths that add up to more or less than the transfer (the sum so far).
        case sglLengthMismatch(described: Int, transfer: Int)

        /// The rule in words, for the fault's description and the mock's log.
        public var description: String {
            switch self {
            case .prpNotDwordAligned: "PRP entry not dword aligned"
            case .prpEntryHasOffset: "PRP entry with a page offset where only a page address is allowed"
            case .prpListCrossesPage: "PRP list pointer leaves no room for an entry before the page ends"
            case .queueNotPageAligned: "queue memory not aligned to the memory page size"
            case .sglDescriptorType(let type): "SGL descriptor type \(type) is reserved or unsupported"
            case .sglSubtype(let subtype): "SGL descriptor subtype \(subtype) is not Address (0h)"
            case .sglSegmentLength(let length): "SGL segment length \(length) is 0 or not a multiple of 16"
            case .sglSegmentMisplaced: "SGL segment descriptor where none may be"
            case .sglTooManyDescriptors: "SGL chain exceeds \(DataTransferWalker.sglDescriptorLimit) descriptors"
            case .sglLengthMismatch(let described, let transfer): "SGL describes \(described) bytes for a \(transfer)-byte transfer"
            }
        }
    }

    /// Submission queue of the command.
    public var queueID: UInt16
    /// Command identifier of the command.
    public var commandID: UInt16
    /// The address the offending PRP entry or SGL descriptor carried.
    public var address: UInt64
    /// Which rule it broke.
    public var reason: Reason
    /// The status the command completed with.
    public var status: CompletionStatus

    /// A fault record; the mock makes these itself, tests build expected ones.
    public init(queueID: UInt16, commandID: UInt16, address: UInt64, reason: Reason, status: CompletionStatus) {
        self.queueID = queueID
        self.commandID = commandID
        self.address = address
        self.reason = reason
        self.status = status
    }

    /// One line: queue, command, the address in hex, the rule and the completion status.
    public var description: String {
        "data pointer fault: queue \(queueID) command \(commandID) at \(hex(address)): \(reason) -> \(status)"
    }
}

/// Where a pointer broke a rule, carried by `CommandFailure` to the command's completion.
struct PointerFaultSite {
    var address: UInt64
    var reason: DataPointerFault.Reason
}

extension ControllerState {
    /// The most faults kept: a hostile host must not grow the list without bound.
    static let dataPointerFaultLimit = 4096

    /// Records the pointer fault `failure` carries, if any, for the command `entry` on `sqid`.
    mutating func recordPointerFault(_ failure: CommandFailure, _ entry: SubmissionQueueEntry, sqid: Int) {
        guard let site = failure.site else { return }
        if dataPointerFaults.count == Self.dataPointerFaultLimit { dataPointerFaults.removeFirst() }
        dataPointerFaults.append(DataPointerFault(queueID: UInt16(truncatingIfNeeded: sqid), commandID: entry.commandID,
                                                  address: site.address, reason: site.reason, status: failure.status))
        logger?.notice("mock: \(dataPointerFaults[dataPointerFaults.count - 1])")
    }
}
