/// Little-endian field access over raw bytes, as every NVMe structure is laid out.
/// Unaligned loads are used because Identify fields sit at arbitrary byte offsets.
extension UnsafeRawBufferPointer {
    @inlinable func le<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "NVMe field read past the structure")
        return T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inlinable func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "NVMe field write past the structure")
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}

/// Fixed-width ASCII fields (serial number, model number, firmware revision) are space padded.
enum ASCIIField {
    static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int, length: Int) -> String {
        let slice = bytes[offset..<(offset + length)]
        let text = String(decoding: slice.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
        var end = text.endIndex
        while end > text.startIndex, text[text.index(before: end)] == " " { end = text.index(before: end) }
        return String(text[..<end])
    }

    static func encode(_ text: String, into bytes: UnsafeMutableRawBufferPointer, at offset: Int, length: Int) {
        let utf8 = Array(text.utf8.prefix(length))
        for index in 0..<length {
            bytes[offset + index] = index < utf8.count ? utf8[index] : UInt8(ascii: " ")
        }
    }
}

/// Extracts `width` bits starting at `shift`.
@inlinable @inline(__always) func bits<T: FixedWidthInteger>(_ value: T, _ shift: Int, _ width: Int) -> T {
    (value >> shift) & ((1 << width) - 1)
}

/// Returns `value` with `width` bits at `shift` replaced by `field`.
@inlinable @inline(__always) func setting<T: FixedWidthInteger>(_ value: T, _ shift: Int, _ width: Int, to field: T) -> T {
    let mask: T = ((1 << width) - 1) << shift
    return (value & ~mask) | ((field << shift) & mask)
}
