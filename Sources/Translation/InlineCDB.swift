/// A CDB held inline, without a heap allocation: up to 16 bytes, the longest CDB this device
/// accepts (no variable-length CDBs). A task that carries its CDB as this type instead of an
/// array is built and passed without allocating, which keeps the READ/WRITE path free of
/// allocations from the initiator's side too (DESIGN.md, "Threading and the hot path").
/// Everything that reads a CDB (`translate`, `translateBlockTransfer`, `needsDataOut`) takes
/// its bytes through `withUnsafeBytes`.
public struct InlineCDB: Sendable, Hashable, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The longest CDB that fits.
    public static let capacity = 16

    /// The bytes, in order through the two words' memory; bytes past `count` are always zero, so the
    /// synthesized equality and hashing see only the CDB.
    private var storage: (UInt64, UInt64) = (0, 0)
    /// Number of CDB bytes.
    public private(set) var count: Int = 0

    /// The CDB in `bytes`, or nil when it is longer than `capacity`.
    public init?(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            guard count < Self.capacity else { return nil }
            withUnsafeMutableBytes(of: &storage) { $0[count] = byte }
            count += 1
        }
    }

    /// A CDB written in code. More than 16 bytes is a programming error, not input, and traps.
    public init(arrayLiteral elements: UInt8...) {
        guard let cdb = InlineCDB(elements) else { preconditionFailure("a CDB has at most \(Self.capacity) bytes") }
        self = cdb
    }

    public static func == (lhs: InlineCDB, rhs: InlineCDB) -> Bool {
        lhs.count == rhs.count && lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        hasher.combine(storage.0)
        hasher.combine(storage.1)
    }

    /// Calls `body` with the CDB's bytes (exactly `count` of them).
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try Swift.withUnsafeBytes(of: storage) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    /// The bytes as an array (allocates; for logs and tools).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Hex, e.g. "28 00 00 00 00 10 00 00 08 00".
    public var description: String { bytes.map(hex2).joined(separator: " ") }
}
