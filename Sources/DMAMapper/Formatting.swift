#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Small helpers shared by the messages and size arithmetic of this module.

/// `value` rounded up to a multiple of `multiple` (both positive), or nil when the result would
/// not fit an `Int` - a length near `Int.max` comes straight from a caller's request.
func roundUp(_ value: Int, _ multiple: Int) -> Int? {
    let (sum, overflow) = value.addingReportingOverflow(multiple - 1)
    return overflow ? nil : sum / multiple * multiple
}

/// `length` rounded up to whole pages of `pageSize` bytes (both positive).
/// - Throws: `DMAMapperError.lengthTooLarge` when that would not fit an `Int`, with the largest
///   whole-page length as the maximum.
func roundUpToPages(_ length: Int, _ pageSize: Int) throws(DMAMapperError) -> Int {
    guard let rounded = roundUp(length, pageSize) else {
        throw .lengthTooLarge(length, maximum: Int.max / pageSize * pageSize)
    }
    return rounded
}

/// strerror text with the symbolic number, for messages.
func errorText(_ code: Int32) -> String {
    String(cString: strerror(code)) + " (errno \(code))"
}
