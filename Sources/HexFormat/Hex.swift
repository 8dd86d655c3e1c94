// Hexadecimal for messages, reports and names: written once here, below every module that
// prints a register, an address, a code or an identifier.

/// `value`'s hexadecimal digits, zero-padded on the left to at least `width` digits:
/// `hexDigits(0x1F, width: 4)` is `001f`, `hexDigits(0x0A, width: 2, uppercase: true)` is `0A`
/// (the SCSI and NVMe specifications' `0Ah`, with the `h` left to the caller).
/// - Precondition: `value` is not negative (a negative value would print its minus sign inside
///   the padding).
public func hexDigits<T: BinaryInteger>(_ value: T, width: Int = 1, uppercase: Bool = false) -> String {
    let digits = String(value, radix: 16, uppercase: uppercase)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

/// `0x` and `value`'s hexadecimal digits (as `hexDigits`), the way addresses, registers and raw
/// values appear in messages: `hex(0x200000)` is `0x200000`, `hex(0x85, width: 4)` is `0x0085`.
public func hex<T: BinaryInteger>(_ value: T, width: Int = 1, uppercase: Bool = false) -> String {
    "0x" + hexDigits(value, width: width, uppercase: uppercase)
}

/// A code as the SCSI and NVMe specifications write it: upper-case hexadecimal digits,
/// zero-padded to at least `width`, and an `h`: `hexCode(0x24)` is `24h`, `hexCode(0x85, width: 4)`
/// is `0085h`, `hexCode(5, width: 1)` is `5h`.
public func hexCode<T: BinaryInteger>(_ value: T, width: Int = 2) -> String {
    hexDigits(value, width: width, uppercase: true) + "h"
}

/// `bytes` as two hexadecimal digits each, joined by `separator`: `hexBytes([0x12, 0xAB],
/// separator: " ")` is `12 ab` (a CDB, sense data, an NGUID or EUI-64).
public func hexBytes(_ bytes: some Sequence<UInt8>, separator: String = "", uppercase: Bool = false) -> String {
    bytes.map { hexDigits($0, width: 2, uppercase: uppercase) }.joined(separator: separator)
}
