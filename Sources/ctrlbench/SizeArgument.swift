import ArgumentParser
import Foundation

/// A byte count or count on the command line: decimal (`129`), hex (`0x81`), or with a binary
/// unit (`512k`, `512KiB`, `64K`, `10m`, `1g`, `1t`; K = 1024). Used for sizes and for the HBA
/// constraint keys, whose DriverKit values are customarily written in hex.
struct SizeArgument: ExpressibleByArgument, Equatable, Sendable, CustomStringConvertible {
    var value: Int

    init(_ value: Int) { self.value = value }

    init?(argument: String) {
        guard let value = Self.parse(argument) else { return nil }
        self.value = value
    }

    var description: String { "\(value)" }

    /// The value of `text`, nil when it is not a whole non-negative number or overflows.
    static func parse(_ text: String) -> Int? {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        if digits.lowercased().hasPrefix("0x") { return Int(digits.dropFirst(2), radix: 16) }
        var shift = 0
        for (suffixes, bits) in [(["kib", "k"], 10), (["mib", "m"], 20), (["gib", "g"], 30), (["tib", "t"], 40)] {
            if let suffix = suffixes.first(where: { digits.lowercased().hasSuffix($0) }) {
                digits = digits.dropLast(suffix.count)
                shift = bits
                break
            }
        }
        guard let number = Int(digits), number >= 0 else { return nil }
        let scaled = number.multipliedReportingOverflow(by: 1 << shift)
        return scaled.overflow ? nil : scaled.partialValue
    }
}
