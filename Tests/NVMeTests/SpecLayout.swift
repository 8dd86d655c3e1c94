import Testing

/// Test-side helpers for placing and reading bytes at the offsets the specification gives,
/// written independently of the NVMe module's own little-endian accessors.
enum SpecLayout {
    /// Filler for every byte a test does not place: a decoder that reads one byte too far, or at
    /// a neighbour's offset, picks it up and gets a different value.
    static let guardByte: UInt8 = 0xEE

    /// A structure of `size` bytes, all guard bytes.
    static func guarded(_ size: Int = 4096) -> [UInt8] { [UInt8](repeating: guardByte, count: size) }

    /// A value of `width` bytes whose bytes are all distinct, non-zero and not the guard byte, so
    /// a decoder that drops, repeats or swaps a byte gets a different number. `salt` tells fields apart.
    static func distinctValue(width: Int, salt: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<width {
            let byte = UInt64(0x11 &* (index + 1) &+ salt) & 0x7F | 0x01
            value |= byte << (8 * index)
        }
        return value
    }

    /// Stores `value` little-endian in `width` bytes at `offset`.
    static func put(_ value: UInt64, width: Int, at offset: Int, in bytes: inout [UInt8]) {
        for index in 0..<width { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    /// Reads `width` bytes little-endian at `offset`.
    static func read(width: Int, at offset: Int, in bytes: [UInt8]) -> UInt64 {
        (0..<width).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }

    /// Stores ASCII `text` at `offset`, which must fill the field exactly.
    static func putText(_ text: String, at offset: Int, in bytes: inout [UInt8]) {
        for (index, byte) in text.utf8.enumerated() { bytes[offset + index] = byte }
    }
}

/// One integer field of a spec table: its name, byte offset and width, and how the decoded
/// structure exposes it.
struct SpecField<Structure> {
    let name: String
    let offset: Int
    let width: Int
    let decoded: (Structure) -> UInt64
    let set: (inout Structure, UInt64) -> Void

    init<Value: FixedWidthInteger>(_ name: String, _ offset: Int, _ width: Int,
                                   _ keyPath: WritableKeyPath<Structure, Value>) {
        self.name = name
        self.offset = offset
        self.width = width
        decoded = { UInt64($0[keyPath: keyPath]) }
        set = { $0[keyPath: keyPath] = Value(truncatingIfNeeded: $1) }
    }
}

extension Array {
    /// Fills `fields` with distinct values in a guarded structure, as a controller would.
    static func specBytes<Structure>(placing fields: [SpecField<Structure>]) -> [UInt8] where Element == UInt8 {
        var raw = SpecLayout.guarded()
        for (index, field) in fields.enumerated() {
            SpecLayout.put(SpecLayout.distinctValue(width: field.width, salt: index), width: field.width,
                           at: field.offset, in: &raw)
        }
        return raw
    }
}

/// The checks every layout test makes on its field table.
enum SpecFieldChecks {
    /// Each field decodes to the bytes at its offset and width.
    static func expectDecoded<Structure>(_ fields: [SpecField<Structure>], _ structure: Structure, from raw: [UInt8],
                                         sourceLocation: SourceLocation = #_sourceLocation) {
        for field in fields {
            #expect(field.decoded(structure) == SpecLayout.read(width: field.width, at: field.offset, in: raw),
                    "\(field.name) at byte \(field.offset), \(field.width) byte(s)", sourceLocation: sourceLocation)
        }
    }

    /// Sets each field to its distinct value in `structure`.
    static func assignDistinctValues<Structure>(_ fields: [SpecField<Structure>], to structure: inout Structure) {
        for (index, field) in fields.enumerated() {
            field.set(&structure, SpecLayout.distinctValue(width: field.width, salt: index))
        }
    }

    /// Each field's distinct value sits at its offset in the encoded bytes.
    static func expectEncoded<Structure>(_ fields: [SpecField<Structure>], in raw: [UInt8],
                                         sourceLocation: SourceLocation = #_sourceLocation) {
        for (index, field) in fields.enumerated() {
            #expect(SpecLayout.read(width: field.width, at: field.offset, in: raw)
                        == SpecLayout.distinctValue(width: field.width, salt: index), "\(field.name)",
                    sourceLocation: sourceLocation)
        }
    }
}
