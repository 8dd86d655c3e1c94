import HexFormat

/// Sense data parsed back from bytes, for logs and the CLI's `explain`.
public struct DecodedSense: Sendable, Equatable, CustomStringConvertible {
    /// Descriptor format (72h/73h) rather than fixed (70h/71h).
    public var descriptorFormat: Bool
    /// What the bytes report: key, ASC/ASCQ, deferred, and the INFORMATION and field pointer
    /// when the bytes mark them valid.
    public var condition: SenseCondition

    /// Parses fixed or descriptor format sense data; nil when the bytes are neither or too short.
    public init?(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return nil }
        let code = first & 0x7F
        switch code {
        case 0x70, 0x71:
            guard bytes.count >= 14, let key = SenseKey(rawValue: bytes[2] & 0x0F) else { return nil }
            descriptorFormat = false
            condition = SenseCondition(key, AdditionalSense(bytes[12], bytes[13]), deferred: code == 0x71)
            if first & 0x80 != 0, bytes.count >= 7 { condition.information = UInt64(bytes.be32(at: 3)) }
            if bytes.count >= 18 { condition.fieldPointer = Self.pointer(bytes[15], bytes[16], bytes[17], key: key) }
        case 0x72, 0x73:
            guard bytes.count >= 8, let key = SenseKey(rawValue: bytes[1] & 0x0F) else { return nil }
            descriptorFormat = true
            condition = SenseCondition(key, AdditionalSense(bytes[2], bytes[3]), deferred: code == 0x73)
            let end = min(bytes.count, 8 + Int(bytes[7]))
            var offset = 8
            while offset + 2 <= end {
                let type = bytes[offset], length = Int(bytes[offset + 1])
                guard offset + 2 + length <= end else { break }
                if type == 0x00, length >= 0x0A, bytes[offset + 2] & 0x80 != 0 {
                    condition.information = bytes.be64(at: offset + 4)
                } else if type == 0x02, length >= 6 {
                    condition.fieldPointer = Self.pointer(bytes[offset + 4], bytes[offset + 5], bytes[offset + 6], key: key)
                }
                offset += 2 + length
            }
        default:
            return nil
        }
    }

    /// A field pointer, only for ILLEGAL REQUEST with SKSV set (other keys use the field for
    /// progress indication or retry counts).
    private static func pointer(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, key: SenseKey) -> FieldPointer? {
        guard key == .illegalRequest, b0 & 0x80 != 0 else { return nil }
        return FieldPointer(inCDB: b0 & 0x40 != 0, byte: Int(b1) << 8 | Int(b2),
                            bit: b0 & 0x08 != 0 ? Int(b0 & 7) : nil)
    }

    /// One line, e.g. "ILLEGAL REQUEST: INVALID FIELD IN CDB (24h/00h), CDB byte 1 bit 5".
    public var description: String {
        var text = condition.deferred ? "deferred " : ""
        text += "\(condition.key): \(condition.additional) (\(hexCode(condition.additional.asc))/\(hexCode(condition.additional.ascq)))"
        if let information = condition.information { text += ", information \(information)" }
        if let pointer = condition.fieldPointer {
            text += ", \(pointer.inCDB ? "CDB" : "parameter list") byte \(pointer.byte)"
            if let bit = pointer.bit { text += " bit \(bit)" }
        }
        return text
    }
}
