import HexFormat

/// A PCI function's address: domain, bus, device (slot) and function.
///
/// Parsed from `dddd:bb:dd.f` or `bb:dd.f` (domain 0000), hex, case-insensitive; printed in the
/// canonical lowercase form sysfs and VFIO use (`0000:01:00.0`), so `description` can be used
/// directly as a sysfs directory name or a VFIO device name.
public struct PCIAddress: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// PCI segment (domain); Linux allows up to 32 bits, most machines only use 0.
    public let domain: UInt32
    /// Bus number, 0x00-0xff.
    public let bus: UInt8
    /// Device (slot) number, 0x00-0x1f.
    public let device: UInt8
    /// Function number, 0-7.
    public let function: UInt8

    /// Builds an address from its parts, refusing out-of-range device and function numbers.
    public init(domain: UInt32 = 0, bus: UInt8, device: UInt8, function: UInt8) throws(PCIDeviceError) {
        let text = "\(domain):\(bus):\(device).\(function)"
        guard device <= 0x1f else {
            throw .malformedAddress(text, reason: "device \(device) is above 1f")
        }
        guard function <= 7 else {
            throw .malformedAddress(text, reason: "function \(function) is above 7")
        }
        self.domain = domain
        self.bus = bus
        self.device = device
        self.function = function
    }

    /// Parses `dddd:bb:dd.f` or `bb:dd.f`; surrounding whitespace (a trailing newline from a file) is ignored.
    public init(parsing raw: String) throws(PCIDeviceError) {
        let text = raw.trimmingASCIIWhitespace()
        func fail(_ reason: String) -> PCIDeviceError { .malformedAddress(raw, reason: reason) }
        guard !text.isEmpty else { throw fail("it is empty") }

        let dotParts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard dotParts.count == 2 else { throw fail("expected exactly one '.' before the function number") }
        let colonParts = dotParts[0].split(separator: ":", omittingEmptySubsequences: false)
        guard colonParts.count == 2 || colonParts.count == 3 else {
            throw fail("expected bus:device or domain:bus:device before the '.'")
        }
        let domainText = colonParts.count == 3 ? colonParts[0] : "0"
        let busText = colonParts[colonParts.count - 2]
        let deviceText = colonParts[colonParts.count - 1]
        let functionText = dotParts[1]

        func number(_ part: Substring, _ name: String, maxDigits: Int, max: UInt32) throws(PCIDeviceError) -> UInt32 {
            guard !part.isEmpty else { throw fail("the \(name) is missing") }
            guard part.count <= maxDigits, part.allSatisfy(\.isHexDigit), let value = UInt32(part, radix: 16) else {
                throw fail("the \(name) '\(part)' is not a hex number of at most \(maxDigits) digits")
            }
            guard value <= max else {
                throw fail("the \(name) \(part) is out of range (0-\(hexDigits(max)))")
            }
            return value
        }
        let domain = try number(domainText, "domain", maxDigits: 8, max: UInt32.max)
        let bus = try number(busText, "bus", maxDigits: 2, max: 0xff)
        let device = try number(deviceText, "device", maxDigits: 2, max: 0x1f)
        let function = try number(functionText, "function", maxDigits: 1, max: 7)
        self.domain = domain
        self.bus = UInt8(bus)
        self.device = UInt8(device)
        self.function = UInt8(function)
    }

    /// `dddd:bb:dd.f`, lowercase hex, zero-padded.
    public var description: String {
        hexDigits(domain, width: 4) + ":" + hexDigits(bus, width: 2) + ":" + hexDigits(device, width: 2)
            + "." + String(function)
    }

    /// Orders by domain, bus, device, then function: the order `lspci -D` lists functions in.
    public static func < (lhs: PCIAddress, rhs: PCIAddress) -> Bool {
        (lhs.domain, lhs.bus, lhs.device, lhs.function) < (rhs.domain, rhs.bus, rhs.device, rhs.function)
    }

    /// Decodes the canonical string form (what JSON readers, and humans, expect); a malformed
    /// string is a `PCIDeviceError.malformedAddress`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        try self.init(parsing: container.decode(String.self))
    }

    /// Encodes the canonical string form, `dddd:bb:dd.f`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines (Foundation-free).
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
