/// The ranges the count-carrying command fields can express, in one place, and the check that
/// turns a count outside them into a `CommandFieldError`.
///
/// NVMe stores most counts 0's based in a field of fixed width (NLB is 16 bits, so 1...65536
/// blocks). A count of 0, or one too large for the field, cannot be encoded: the throwing builders
/// refuse it here, at the API boundary, instead of trapping or silently wrapping into a different
/// command (a wrapped NLB of 0 - 1 would ask for 65536 blocks). The ranges are inlinable
/// computed constants, so the hot path's clamp folds them into immediates.
public enum CommandLimits {
    /// Logical blocks per NVM Read/Write/Compare/Verify/Write Zeroes: NLB, CDW12 bits 15:0, 0's based.
    @inlinable public static var blocksPerCommand: ClosedRange<Int> { 1...65536 }
    /// Entries of an I/O queue: QSIZE, CDW10 bits 31:16, 0's based; one entry is invalid, since a
    /// full queue is one entry short of its size.
    @inlinable public static var ioQueueEntries: ClosedRange<Int> { 2...65536 }
    /// Entries of the admin queues: AQA.ASQS and AQA.ACQS, 12 bits, 0's based (2 to 4096).
    @inlinable public static var adminQueueEntries: ClosedRange<Int> { 2...4096 }
    /// I/O queues asked for in Set Features - Number of Queues: NSQR/NCQR, 16 bits, 0's based,
    /// where FFFFh (65536 queues) is invalid.
    @inlinable public static var queueCount: ClosedRange<Int> { 1...65535 }
    /// Ranges in one Dataset Management command: NR, CDW10 bits 7:0, 0's based.
    @inlinable public static var datasetManagementRanges: ClosedRange<Int> { 1...256 }
    /// Bytes of one Get Log Page: NUMD is a 32-bit 0's based count of dwords (NUMDL and NUMDU).
    @inlinable public static var logPageBytes: ClosedRange<Int> { 4...(1 << 34) }

    /// Returns `value` when it lies in `valid`; otherwise throws the error that names `field`.
    @inlinable
    public static func check(_ value: Int, in valid: ClosedRange<Int>, field: String) throws(CommandFieldError) -> Int {
        guard valid.contains(value) else { throw .outOfRange(field: field, value: value, valid: valid) }
        return value
    }

    /// `value` moved into `valid`: the documented fallback of the non-throwing paths, which must
    /// neither trap nor wrap (two compares, no branch on the hot path).
    @inlinable @inline(__always)
    static func clamp(_ value: Int, to valid: ClosedRange<Int>) -> Int {
        Swift.min(Swift.max(value, valid.lowerBound), valid.upperBound)
    }
}

/// A command field given a value it cannot carry, named with the value and what it may be.
public enum CommandFieldError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `value` lies outside `valid` for `field`.
    case outOfRange(field: String, value: Int, valid: ClosedRange<Int>)
    /// `value` must be a multiple of `multiple` for `field`.
    case notAMultiple(field: String, value: Int, multiple: Int)

    /// The field, the value and the rule it breaks.
    public var description: String {
        switch self {
        case let .outOfRange(field, value, valid):
            return "\(field) \(value) breaks the rule: it must be between \(valid.lowerBound) and \(valid.upperBound)"
        case let .notAMultiple(field, value, multiple):
            return "\(field) \(value) breaks the rule: it must be a multiple of \(multiple)"
        }
    }
}
