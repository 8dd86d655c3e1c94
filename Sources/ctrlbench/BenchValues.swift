import Foundation

/// Parses bench's numeric options the way fio reads them (sizes with k/m/g, times with s/m/h),
/// and refuses anything out of range with the option, the value and the allowed range, so no
/// value can reach arithmetic that traps or a loop that ignores it.
enum BenchValues {
    /// A byte count: digits with an optional k, m, g or t suffix (powers of 1024, as fio's
    /// default kb_base), optionally followed by `b`, `ib` or `iB` ("4k", "4KiB", "1g", "65536").
    static func bytes(_ text: String, option: String, range: ClosedRange<Int>) throws(ScsiToolError) -> Int {
        var body = Substring(text.trimmingCharacters(in: .whitespaces)).lowercased()[...]
        for unit in ["ib", "b"] where body.hasSuffix(unit) && body.count > unit.count {
            body = body.dropLast(unit.count)
            break
        }
        var shift = 0
        if let last = body.last, let power = ["k": 10, "m": 20, "g": 30, "t": 40][String(last)] {
            shift = power
            body = body.dropLast()
        }
        guard !body.isEmpty, body.allSatisfy(\.isASCII), body.allSatisfy(\.isNumber), let count = Int(body) else {
            throw .usage("\(option) \(text): expected a byte count such as 4096, 4k, 1m or 1g "
                         + "(allowed \(describe(range, unit: "bytes")))")
        }
        let value = count.multipliedReportingOverflow(by: 1 << shift)
        guard !value.overflow, range.contains(value.partialValue) else {
            throw .usage("\(option) \(text): out of range; allowed \(describe(range, unit: "bytes"))")
        }
        return value.partialValue
    }

    /// A duration in nanoseconds: a number of seconds, or a number with `ms`, `s`, `m` or `h`
    /// ("5", "5s", "1m", "0.5s"). Anything not finite, not positive or above `maximumSeconds`
    /// is refused.
    static func duration(_ text: String, option: String, maximumSeconds: Double) throws(ScsiToolError) -> UInt64 {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(trimmed)
        var scale = 1.0
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = factor
            break
        }
        let allowed = "more than 0 and at most \(Int(maximumSeconds)) s, written as 5, 5s, 500ms, 2m or 1h"
        guard number.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(number), value.isFinite else {
            throw .usage("\(option) \(text): expected a duration; allowed \(allowed)")
        }
        let seconds = value * scale
        guard seconds > 0, seconds <= maximumSeconds else {
            throw .usage("\(option) \(text): out of range; allowed \(allowed)")
        }
        return UInt64((seconds * 1e9).rounded())
    }

    /// A whole number within `range`.
    static func integer(_ text: String, option: String, range: ClosedRange<Int>) throws(ScsiToolError) -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw .usage("\(option) \(text): expected a whole number; allowed \(describe(range, unit: nil))")
        }
        guard range.contains(value) else {
            throw .usage("\(option) \(text): out of range; allowed \(describe(range, unit: nil))")
        }
        return value
    }

    /// fio's percentile list: percentages in (0, 100] separated by colons ("50:99:99.9").
    static func percentiles(_ text: String) throws(ScsiToolError) -> [Double] {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var values: [Double] = []
        for part in parts {
            guard let value = Double(part), value.isFinite, value > 0, value <= 100 else {
                throw .usage("--percentile_list \(text): each entry must be a percentage above 0 and at most 100, "
                             + "separated by colons (for example 50:99:99.9)")
            }
            values.append(value)
        }
        guard !values.isEmpty, values.count <= 64 else {
            throw .usage("--percentile_list \(text): give 1 to 64 percentages")
        }
        return Array(Set(values)).sorted()
    }

    /// fio's CPU list ("0-3,6"): the CPUs the jobs are pinned to, each below `available`.
    static func cpuList(_ text: String, available: Int) throws(ScsiToolError) -> [Int] {
        var cpus: [Int] = []
        let allowed = "CPU numbers 0 to \(available - 1), as a list such as 0-3,6"
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(bounds.count), let low = bounds.first ?? nil, let high = bounds.last ?? nil,
                  low >= 0, low <= high, high < available else {
                throw .usage("--cpus_allowed \(text): \(part) is not allowed; allowed \(allowed)")
            }
            cpus.append(contentsOf: low...high)
        }
        guard !cpus.isEmpty else { throw .usage("--cpus_allowed \(text): no CPU given; allowed \(allowed)") }
        return cpus
    }

    static func describe(_ range: ClosedRange<Int>, unit: String?) -> String {
        let suffix = unit.map { " \($0)" } ?? ""
        if range.upperBound == .max { return "at least \(range.lowerBound)\(suffix)" }
        return "\(range.lowerBound) to \(range.upperBound)\(suffix)"
    }
}
