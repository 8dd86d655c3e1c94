#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Small helpers shared by the messages and size arithmetic of this module.

/// `0x`-prefixed hexadecimal, the way addresses appear in every message of this module.
func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// `value` rounded up to a multiple of `multiple` (both positive), or nil when the result would
/// not fit an `Int` - a length near `Int.max` comes straight from a caller's request.
func roundUp(_ value: Int, _ multiple: Int) -> Int? {
    let (sum, overflow) = value.addingReportingOverflow(multiple - 1)
    return overflow ? nil : sum / multiple * multiple
}

/// strerror text with the symbolic number, for messages.
func errorText(_ code: Int32) -> String {
    String(cString: strerror(code)) + " (errno \(code))"
}
