/// Big-endian field access, as every SCSI structure is laid out. Callers check bounds first
/// (the CDB length is checked against the opcode before any field is read).
extension Array where Element == UInt8 {
    func be16(at offset: Int) -> UInt16 { UInt16(self[offset]) << 8 | UInt16(self[offset + 1]) }
    func be24(at offset: Int) -> UInt32 { UInt32(self[offset]) << 16 | UInt32(be16(at: offset + 1)) }
    func be32(at offset: Int) -> UInt32 { UInt32(be16(at: offset)) << 16 | UInt32(be16(at: offset + 2)) }
    func be64(at offset: Int) -> UInt64 { UInt64(be32(at: offset)) << 32 | UInt64(be32(at: offset + 4)) }

    mutating func storeBE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let size = MemoryLayout<T>.size
        for index in 0..<size { self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * (size - 1 - index))) }
    }

    /// The bytes of `text` as space-padded ASCII of exactly `length` bytes.
    static func ascii(_ text: String, length: Int) -> [UInt8] {
        let utf8 = text.utf8.prefix(length).map { $0 < 0x20 || $0 > 0x7E ? UInt8(ascii: " ") : $0 }
        return utf8 + [UInt8](repeating: UInt8(ascii: " "), count: length - utf8.count)
    }

    /// The first `limit` bytes (allocation length truncation, never an error).
    func truncated(to limit: Int) -> [UInt8] { count <= limit ? self : Array(self[0..<Swift.max(0, limit)]) }
}
