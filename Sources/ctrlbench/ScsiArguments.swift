import Translation

/// Why `ctrlbench scsi` refused to run. The description is the whole message the user sees
/// (ArgumentParser prints it after "Error: " and exits 1), so each case says what was wrong and
/// what is accepted instead.
enum ScsiToolError: Error, Equatable, CustomStringConvertible {
    /// The command line asks for something inconsistent or unparsable.
    case usage(String)
    /// The device could not be opened or brought up, or the engine refused the task.
    case device(String)

    var description: String {
        switch self {
        case let .usage(message): message
        case let .device(message): message
        }
    }
}

/// Hex text to bytes, for CDBs and `--data`.
enum HexParser {
    /// Parses hex words such as `["12", "00", "0x00", "00 24 00"]` or `["12000000", "2400"]`.
    ///
    /// Each word may carry a `0x` prefix and may hold several bytes; words are also split at
    /// whitespace so that one quoted argument works. A word with an odd digit count is refused
    /// rather than guessed at: "120" could mean 12 0 or 1 20, and a wrong guess sends a
    /// different command.
    /// - Parameter what: names the input in messages ("CDB", "--data").
    static func bytes(_ words: [String], what: String) throws(ScsiToolError) -> [UInt8] {
        var bytes: [UInt8] = []
        for word in words.flatMap({ $0.split(whereSeparator: \.isWhitespace) }) {
            var digits = Substring(word)
            if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
            guard !digits.isEmpty else { throw .usage("\(what): '\(word)' has no hex digits after 0x") }
            // Only 0-9, a-f, A-F: UInt8(_:radix:) alone would also take a sign ("+f", "-0").
            if let stray = digits.first(where: { !($0.isASCII && $0.isHexDigit) }) {
                throw .usage("\(what): '\(word)' is not hex ('\(stray)' is not a hex digit)")
            }
            guard digits.count % 2 == 0 else {
                throw .usage("\(what): '\(word)' has an odd number of hex digits (\(digits.count)); "
                    + "write each byte as two digits, e.g. 0a rather than a")
            }
            // Cannot fail from here: every character passed the ASCII hex-digit check above, so
            // hexDigitValue is 0...15 for each (the ?? 0 is never taken), and the count is even, so
            // the digits pair up into whole bytes.
            let nibbles = digits.map { UInt8(truncatingIfNeeded: $0.hexDigitValue ?? 0) }
            for high in stride(from: 0, to: nibbles.count, by: 2) {
                bytes.append(nibbles[high] << 4 | nibbles[high + 1])
            }
        }
        return bytes
    }
}

/// One validated SCSI task as the command line describes it: the CDB, the LUN and the data
/// phase. Built by `make`, which holds every rule about how the options combine.
struct ScsiCommandSpec: Equatable, Sendable {
    /// SAM allows CDBs of up to 16 bytes on this transport (no variable-length CDBs).
    static let maximumCDBLength = 16

    var cdb: [UInt8]
    var lun: UInt64
    var direction: DataDirection
    /// Bytes of the data phase (0 with no data phase).
    var length: Int
    /// The data-out bytes (exactly `length` of them) for a data-out task, else empty.
    var dataOut: [UInt8]

    /// Checks the options and combines them into one task.
    /// - Parameters:
    ///   - cdbWords: the positional hex words.
    ///   - request: `--request N`, data-in length.
    ///   - send: `--send N`, data-out length; inferred from the data when omitted.
    ///   - dataHex: `--data HEX`.
    ///   - infileBytes: the contents of `--infile` (read by the caller, so this stays pure).
    static func make(cdbWords: [String], lun: Int, request: Int?, send: Int?, dataHex: String?,
                     infileBytes: [UInt8]?) throws(ScsiToolError) -> ScsiCommandSpec {
        let cdb = try HexParser.bytes(cdbWords, what: "CDB")
        guard !cdb.isEmpty else { throw .usage("no CDB given: pass the command bytes in hex, e.g. 12 00 00 00 24 00") }
        guard cdb.count <= maximumCDBLength else {
            throw .usage("CDB is \(cdb.count) bytes; at most \(maximumCDBLength) are accepted")
        }
        guard lun >= 0 else { throw .usage("--lun \(lun): a LUN is 0 or more") }
        if let request, request < 0 { throw .usage("--request \(request): a length is 0 or more") }
        if let send, send < 0 { throw .usage("--send \(send): a length is 0 or more") }
        if dataHex != nil, infileBytes != nil { throw .usage("--data and --infile both given: choose one source of data-out") }
        let source = try dataHex.map { hex throws(ScsiToolError) in try HexParser.bytes([hex], what: "--data") } ?? infileBytes
        if request != nil, send != nil || source != nil {
            throw .usage("--request and --send (or --data/--infile) both given: a task moves data one way, "
                + "in (--request) or out (--send), not both")
        }
        if let request, request > 0 {
            return ScsiCommandSpec(cdb: cdb, lun: UInt64(lun), direction: .fromDevice, length: request, dataOut: [])
        }
        let length = send ?? source?.count ?? 0
        guard length > 0 else { return ScsiCommandSpec(cdb: cdb, lun: UInt64(lun), direction: .none, length: 0, dataOut: []) }
        // Without a source the data-out is zeros (sg_raw would read stdin; a tool that may run
        // unattended should not block on a terminal).
        var data = source ?? [UInt8](repeating: 0, count: length)
        if data.count < length {
            throw .usage("--send \(length) but only \(data.count) byte(s) of data given")
        }
        if data.count > length {
            // A file may be longer than what is sent (the first N bytes go, as sg_raw -i does);
            // extra --data digits are more likely a typo, so those are refused.
            guard dataHex == nil else { throw .usage("--send \(length) but --data holds \(data.count) bytes") }
            data = Array(data.prefix(length))
        }
        return ScsiCommandSpec(cdb: cdb, lun: UInt64(lun), direction: .toDevice, length: length, dataOut: data)
    }
}
