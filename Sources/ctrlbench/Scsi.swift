import ArgumentParser
import Foundation
import HexFormat

/// `ctrlbench scsi CDB...`: send one raw SCSI command through the SCSI host adapter (translation
/// included) and show what came back, like sg3_utils' sg_raw.
struct Scsi: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send one raw SCSI command (CDB in hex) through the SCSI layer and show the result.",
        discussion: """
            The CDB is hex, spaced or joined, any case, with an optional 0x on each word: \
            `12 00 00 00 24 00`, `12000000 2400` and `0x12 0x00 0x00 0x00 0x24 0x00` are the same \
            INQUIRY. Each byte is two digits; at most 16 bytes.

            By default the command goes to a software NVMe controller made for this run (--device \
            mock); --device 0000:01:00.0 opens a controller bound to vfio-pci (ctrlbench bind) and \
            brings the driver up on it. The mock lives for one run, so what one run writes \
            the next does not see. A freshly attached logical unit reports UNIT ATTENTION \
            (POWER ON, RESET) on its first command, as a real disk does after power on; because every \
            run attaches afresh, the tool first sends one TEST UNIT READY to the LUN to clear it. \
            --keep-unit-attention skips that, so the command itself sees the unit attention.

            The report shows the SCSI status, the service response, the bytes transferred and the \
            residual, the sense data decoded (response code, sense key, ASC/ASCQ, INFORMATION, field \
            pointer) and raw, and the data-in as a hex dump.

            The data buffer is bounded before anything is allocated: --request/--send may not exceed \
            the HBA's largest transfer (maxTransferSize) nor what the CDB's own length field asks for.

            Several commands can share one session (one controller, one logical unit state): --cdb \
            "HEX [-r N|-s N --data HEX] [--lun N]" (repeatable) and --script FILE (one such line per \
            command, # comments), after the CDB given as arguments if any. A line without data options \
            on a command that returns data receives as much as its CDB asks for. --trace FILE|- writes \
            each CDB, the NVMe commands it became and their completions, with timestamps.

            Exit status: 0 when the status is GOOD; 2 for CHECK CONDITION or any other \
            status; 1 for a usage error (bad hex, a CDB over 16 bytes, --request with --send...) or \
            a device error (the device cannot be opened or brought up, or the task was not \
            delivered). Options the argument parser itself rejects (an unknown option, a length \
            that is not a number) exit 64, as in every ctrlbench subcommand.

            Examples:
              # INQUIRY, 36 bytes of data-in
              ctrlbench scsi 12 00 00 00 24 00 --request 36
              # an opcode the SCSI layer does not support: CHECK CONDITION, exit 2
              ctrlbench scsi a1000000 00000000 00000000
              # on a bound controller: WRITE(10) of LBA 0 from a file, READ(10) it back
              ctrlbench scsi --device 0000:01:00.0 2a00 00000000 00 0001 00 --send 512 -i block.bin
              ctrlbench scsi --device 0000:01:00.0 28 00 00000000 00 0001 00 -r 512 -o copy.bin
              # descriptor sense on (MODE SELECT of the Control page), then an unsupported opcode: 72h sense
              ctrlbench scsi --cdb "15 10 00 00 10 00 --data 00000000 0a0a0610 00000000 ffff0000" \\
                --cdb "a1 00 00 00 00 00 00 00 00 00 00 00"
            """)

    @Argument(help: "The CDB in hex (spaced or joined; optional 0x).")
    var cdb: [String] = []

    @Option(name: .customLong("cdb"), help: ArgumentHelp(
        "Another command for the same session, in quotes: the CDB in hex, then its own -r/-s/--data/--lun (repeatable).",
        valueName: "\"hex [options]\""))
    var moreCDBs: [String] = []

    @Option(help: ArgumentHelp("Commands for the same session from a file, one per line as --cdb takes them (# comments).",
                               valueName: "file"))
    var script: String?

    @Option(help: "Logical unit: the n-th active namespace.")
    var lun = 0

    @Option(help: ArgumentHelp("Where to send it: `mock`, or the PCI address of a controller bound to vfio-pci.",
                               valueName: "mock|address"))
    var device = "mock"

    @Option(name: [.customShort("r"), .long], help: "Data-in length in bytes (like sg_raw -r).")
    var request: Int?

    @Option(name: [.customShort("s"), .long],
            help: "Data-out length in bytes (like sg_raw -s); the data comes from --infile or --data, zeros without either.")
    var send: Int?

    @Option(name: [.customShort("i"), .long], help: "File holding the data-out (its first --send bytes are sent).")
    var infile: String?

    @Option(help: "Data-out in hex (sets --send when that is omitted).")
    var data: String?

    @Option(name: [.customShort("o"), .long], help: "Write the data-in to this file instead of showing it in hex.")
    var outfile: String?

    @Flag(help: "Do not clear the unit attention a freshly attached LUN reports; let the command see it.")
    var keepUnitAttention = false

    @Flag(help: "Print one JSON object instead of the report.")
    var json = false

    @Option(help: "Data pointers: auto (SGL when the controller has them), prp or sgl.")
    var pointers: PointerChoice = .auto

    @OptionGroup var trace: TraceOptions

    @OptionGroup(title: "Mock geometry") var mock: MockOptions

    func run() throws {
        let specs = try commands()
        let target = try DeviceTarget.parse(device, geometry: try mock.geometry())
        guard specs.count == 1 else {
            let outcomes = try Self.sendAll(specs, to: target, clearUnitAttention: !keepUnitAttention, pointers: pointers,
                                            trace: try trace.open())
            print(json ? "[\n" + outcomes.map { ScsiReport.json($0) }.joined(separator: ",\n") + "\n]"
                : outcomes.enumerated().map { index, outcome in
                    "command \(index + 1) of \(outcomes.count): CDB \(hexBytes(outcome.spec.cdb, separator: " "))\n"
                        + ScsiReport.text(outcome)
                }.joined(separator: "\n\n"))
            let worst = outcomes.map(\.exitCode).contains(1) ? 1 : outcomes.map(\.exitCode).max() ?? 0
            if worst != 0 { throw ExitCode(worst) }
            return
        }
        let spec = specs[0]
        if outfile != nil, spec.direction != .fromDevice {
            throw ScsiToolError.usage("--outfile receives data-in: give --request N as well")
        }
        let outcome = try Self.send(spec, to: target, clearUnitAttention: !keepUnitAttention, pointers: pointers,
                                    trace: try trace.open())
        if let outfile {
            do { try Data(outcome.dataIn).write(to: URL(fileURLWithPath: outfile)) } catch {
                throw ScsiToolError.device("cannot write --outfile \(outfile): \(error.localizedDescription)")
            }
        }
        print(json ? ScsiReport.json(outcome, outfile: outfile) : ScsiReport.text(outcome, outfile: outfile))
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    /// What `run` does between parsing and printing: open the target, bring the engine up, clear
    /// the power-on unit attention unless asked not to, and run the task. Tests call this.
    static func send(_ spec: ScsiCommandSpec, to target: DeviceTarget, clearUnitAttention: Bool,
                     pointers: PointerChoice = .auto, trace: CommandTrace? = nil) throws(ScsiToolError) -> ScsiOutcome {
        let session = try ScsiSession(target, trace: trace) { $0.dataPointerMode = pointers.mode }
        let cleared = clearUnitAttention ? session.clearUnitAttention(lun: spec.lun) : nil
        var outcome = try session.execute(spec)
        outcome.clearedUnitAttention = cleared
        return outcome
    }

    /// The commands of this run, in order: the positional CDB (with the top-level data options),
    /// then each --cdb, then the script's lines.
    func commands() throws(ScsiToolError) -> [ScsiCommandSpec] {
        // Data-in of block commands without -r is sized in the mock's blocks (512 on a device).
        let blockSize = device.lowercased() == "mock" ? mock.mockBlockSize : 512
        var specs: [ScsiCommandSpec] = []
        if !cdb.isEmpty || (moreCDBs.isEmpty && script == nil) {
            let infileBytes = try infile.map { path throws(ScsiToolError) in try Self.read(path) }
            specs.append(try ScsiCommandSpec.make(cdbWords: cdb, lun: lun, request: request, send: send,
                                                  dataHex: data, infileBytes: infileBytes))
        } else if request != nil || send != nil || data != nil || infile != nil {
            throw .usage("--request, --send, --data and --infile go with the CDB given as arguments; "
                + "give a --cdb or script line its own, e.g. --cdb \"12 00 00 00 24 00 -r 36\"")
        }
        for text in moreCDBs {
            do { specs.append(try ScsiScript.command(text, lun: lun, blockSize: blockSize)) } catch {
                throw .usage("--cdb \"\(text)\": \(error)")
            }
        }
        if let script { specs += try ScsiScript.commands(inFile: script, lun: lun, blockSize: blockSize) }
        if specs.count > 1, outfile != nil { throw .usage("--outfile takes the data-in of a single command") }
        return specs
    }

    /// Runs `specs` in order on one session (one controller, one logical unit state), so a
    /// command sees what earlier ones changed; the unit attention is cleared once, first.
    static func sendAll(_ specs: [ScsiCommandSpec], to target: DeviceTarget, clearUnitAttention: Bool,
                        pointers: PointerChoice = .auto, trace: CommandTrace? = nil) throws(ScsiToolError) -> [ScsiOutcome] {
        let session = try ScsiSession(target, trace: trace) { $0.dataPointerMode = pointers.mode }
        var cleared = clearUnitAttention ? specs.first.flatMap { session.clearUnitAttention(lun: $0.lun) } : nil
        var outcomes: [ScsiOutcome] = []
        for spec in specs {
            var outcome = try session.execute(spec)
            outcome.clearedUnitAttention = cleared
            cleared = nil
            outcomes.append(outcome)
        }
        return outcomes
    }

    static func read(_ path: String) throws(ScsiToolError) -> [UInt8] {
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw .usage("cannot read --infile \(path) (missing or not readable)")
        }
        return [UInt8](contents)
    }
}
