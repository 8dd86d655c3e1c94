import Foundation
import HexFormat

/// Pure formatting of a task's outcome: the human-readable report, the hex dump and the JSON
/// object. Nothing here touches a device, so tests check the exact text.
enum ScsiReport {
    /// The full report, one item per line.
    /// - Parameter outfile: where data-in went instead of the hex dump, when `--outfile` was given.
    static func text(_ outcome: ScsiOutcome, outfile: String? = nil) -> String {
        var lines: [String] = []
        if let attention = outcome.clearedUnitAttention {
            lines.append("cleared before the command: \(attention)")
        }
        lines.append("status: \(outcome.status.name) (\(hexCode(outcome.status.rawValue)))")
        lines.append("service response: \(outcome.serviceResponse.name)")
        lines.append(transferLine(outcome))
        if let error = outcome.engineError { lines.append("engine: \(error)") }
        lines += senseLines(outcome.sense)
        if outcome.spec.direction == .fromDevice {
            if let outfile {
                lines.append("data-in: \(outcome.dataIn.count) byte(s) written to \(outfile)")
            } else {
                lines.append("data-in (\(outcome.dataIn.count) bytes):")
                lines += hexDump(outcome.dataIn)
            }
        }
        return lines.joined(separator: "\n")
    }

    static func transferLine(_ outcome: ScsiOutcome) -> String {
        switch outcome.spec.direction {
        case .none: "data: none"
        case .fromDevice:
            "data-in: requested \(outcome.spec.length), transferred \(outcome.bytesTransferred), residual \(outcome.residual)"
        case .toDevice:
            "data-out: sent \(outcome.spec.length), transferred \(outcome.bytesTransferred), residual \(outcome.residual)"
        }
    }

    /// The sense data decoded field by field, then raw. Empty sense gives one line saying so.
    static func senseLines(_ sense: [UInt8]) -> [String] {
        guard !sense.isEmpty else { return ["sense: none"] }
        let raw = "  raw (\(sense.count) bytes): " + hexBytes(sense, separator: " ")
        guard let summary = SenseSummary(sense) else {
            return ["sense: not fixed or descriptor format (response code \(hexCode(sense[0] & 0x7F)))", raw]
        }
        var lines = [
            "sense: \(summary.descriptorFormat ? "descriptor" : "fixed") format, "
                + "\(summary.deferred ? "deferred" : "current") error (response code \(hexCode(summary.responseCode)))",
            "  sense key: \(summary.senseKeyName) (\(hexCode(summary.senseKey, width: 1)))",
            "  ASC/ASCQ: \(hexCode(summary.asc))/\(hexCode(summary.ascq)) \(summary.additionalSense)",
            "  information: " + (summary.information.map { "\(hex($0, uppercase: true)) (\($0))" } ?? "none"),
        ]
        if let pointer = summary.fieldPointer {
            lines.append("  field pointer: C/D=\(pointer.inCDB ? 1 : 0) (\(pointer.inCDB ? "CDB" : "parameter data")), "
                + "byte \(pointer.byte), " + (pointer.bit.map { "bit \($0)" } ?? "whole byte (BPV=0)"))
        } else {
            lines.append("  field pointer: none")
        }
        lines.append(raw)
        return lines
    }

    /// `hexdump -C` style lines: an 8-digit hex offset, 16 bytes in two groups of 8, and the bytes
    /// as ASCII between bars (non-printable ones as '.'). A short last line is padded so that its
    /// ASCII column lines up with the others.
    static func hexDump(_ bytes: [UInt8]) -> [String] {
        stride(from: 0, to: bytes.count, by: 16).map { start in
            let line = bytes[start..<min(start + 16, bytes.count)]
            var hex = ""
            for column in 0..<16 {
                if column == 8 { hex += " " }
                hex += column < line.count ? hexDigits(line[start + column], width: 2) + " " : "   "
            }
            let ascii = String(line.map { (0x20...0x7E).contains($0) ? Character(UnicodeScalar($0)) : "." })
            return hexDigits(start, width: 8) + "  " + hex + " |" + ascii + "|"
        }
    }

    /// The outcome as one JSON object (keys sorted; data and sense as hex strings; absent values null).
    static func json(_ outcome: ScsiOutcome, outfile: String? = nil) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and numbers cannot fail.
        let data = (try? encoder.encode(JSONReport(outcome, outfile: outfile))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// The JSON object's shape.
private struct JSONReport: Encodable {
    let outcome: ScsiOutcome
    let outfile: String?
    init(_ outcome: ScsiOutcome, outfile: String?) {
        self.outcome = outcome
        self.outfile = outfile
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(outcome.device, forKey: .device)
        try container.encode(outcome.spec.lun, forKey: .lun)
        try container.encode(hexBytes(outcome.spec.cdb), forKey: .cdb)
        try container.encode(outcome.status.name, forKey: .status)
        try container.encode(outcome.status.rawValue, forKey: .statusCode)
        try container.encode(outcome.serviceResponse.name, forKey: .serviceResponse)
        try container.encode(outcome.spec.direction.name, forKey: .direction)
        try container.encode(outcome.spec.length, forKey: .requested)
        try container.encode(outcome.bytesTransferred, forKey: .transferred)
        try container.encode(outcome.residual, forKey: .residual)
        try container.encode(SenseSummary(outcome.sense), forKey: .sense)
        try container.encode(hexBytes(outcome.sense), forKey: .senseHex)
        let data = outcome.spec.direction == .fromDevice && outfile == nil ? hexBytes(outcome.dataIn) : nil
        try container.encode(data, forKey: .data)
        try container.encode(outfile, forKey: .outfile)
        try container.encode(outcome.engineError, forKey: .engineError)
        try container.encode(outcome.clearedUnitAttention, forKey: .clearedUnitAttention)
        try container.encode(outcome.exitCode, forKey: .exitCode)
    }

    enum Key: String, CodingKey {
        case device, lun, cdb, status, statusCode, serviceResponse, direction, requested, transferred, residual
        case sense, senseHex, data, outfile, engineError, clearedUnitAttention, exitCode
    }
}
