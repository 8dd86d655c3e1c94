import Foundation

/// Several CDBs for one session: `--cdb` (repeatable) and `--script FILE` (one CDB per line),
/// each a CDB in hex optionally followed by its own data options, so that a later command sees
/// what an earlier one changed (MODE SELECT, then a command answered in descriptor sense):
///
///     15 10 00 00 10 00 --data 00000000 0a0a0400000000000000ffff
///     a1 00 00 00 00 00 00 00 00 00 00 00
///
/// Options per line: `-r`/`--request N`, `-s`/`--send N`, `--data HEX` (spaced hex allowed), `--lun N`. A line with no
/// data option on a command that returns data gets `--request` as large as its CDB asks for.
/// In a script, `#` starts a comment and blank lines are skipped.
enum ScsiScript {
    /// Opcodes whose data phase is data-in, so a line without options still receives it.
    static let dataInOpcodes: Set<UInt8> = [0x03, 0x12, 0x1A, 0x5A, 0x25, 0x9E, 0xA0, 0xA3, 0x08, 0x28, 0xA8, 0x88]

    /// One command from one line of text.
    /// - Parameters:
    ///   - lun: the LUN when the line names none (the command line's `--lun`).
    ///   - blockSize: the block size block-counted data-in is sized with when no `--request` is given.
    static func command(_ line: String, lun: Int, blockSize: Int = 512) throws(ScsiToolError) -> ScsiCommandSpec {
        let tokens = line.split(whereSeparator: \.isWhitespace).map(String.init)
        let words = tokens.prefix { !$0.hasPrefix("-") }
        var options = tokens.dropFirst(words.count)
        var request: Int?, send: Int?, data: String?, lineLUN = lun
        while let option = options.popFirst() {
            guard let value = options.popFirst() else { throw .usage("'\(option)' needs a value") }
            func number() throws(ScsiToolError) -> Int {
                guard let parsed = SizeArgument.parse(value) else { throw .usage("\(option) \(value): not a number") }
                return parsed
            }
            switch option {
            case "-r", "--request": request = try number()
            case "-s", "--send": send = try number()
            case "--data":
                // Hex may be spaced like the CDB: every word up to the next option is data.
                let more = options.prefix { !$0.hasPrefix("-") }
                options = options.dropFirst(more.count)
                data = ([value] + more).joined(separator: " ")
            case "--lun": lineLUN = try number()
            default: throw .usage("'\(option)' is not an option of a CDB line (use -r, -s, --data or --lun)")
            }
        }
        var spec = try ScsiCommandSpec.make(cdbWords: Array(words), lun: lineLUN, request: request, send: send,
                                            dataHex: data, infileBytes: nil)
        if request == nil, send == nil, data == nil, dataInOpcodes.contains(spec.cdb[0]),
           let bound = CDBDataBound.of(spec.cdb, blockSize: blockSize), bound.bytes > 0 {
            spec.direction = .fromDevice
            spec.length = bound.bytes
        }
        return spec
    }

    /// Every command of a script file, each error naming the line.
    static func commands(inFile path: String, lun: Int, blockSize: Int = 512) throws(ScsiToolError) -> [ScsiCommandSpec] {
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw .usage("cannot read --script \(path) (missing or not readable)")
        }
        var specs: [ScsiCommandSpec] = []
        for (index, raw) in String(decoding: contents, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            do { specs.append(try command(line, lun: lun, blockSize: blockSize)) } catch {
                throw .usage("--script \(path) line \(index + 1): \(error)")
            }
        }
        return specs
    }
}
