import HexFormat
import DMAMapper
import NVMe

/// Every way the engine can fail, each naming what failed, what was seen, and where it applies,
/// what to do about it. Nothing the engine refuses or loses is silent.
public enum ControllerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// CSTS.RDY did not reach `expected` within CAP.TO.
    case readyTimeout(expected: Bool, milliseconds: Int, cap: UInt64, cc: UInt32, csts: UInt32)
    /// CSTS.CFS is set: the controller hit a fatal error.
    case controllerFatal(during: String, csts: UInt32)
    /// A register read returned all ones: the device was removed or its link is down.
    case deviceGone(during: String)
    /// CSTS.RDY dropped while the driver had the controller enabled: it was reset or lost power.
    case controllerNotReady(during: String, csts: UInt32)
    /// The controller lacks something this driver requires.
    case unsupported(String)
    /// An admin command completed with an error status.
    case adminCommandFailed(command: String, status: CompletionStatus)
    /// An I/O command completed with an error status.
    case ioCommandFailed(command: String, lba: UInt64, blocks: Int, status: CompletionStatus)
    /// A command did not complete before its deadline; `recovery` says what was done about it.
    case commandTimedOut(command: String, queueID: UInt16, commandID: UInt16, milliseconds: Int, recovery: String)
    /// The controller was reset while the command was outstanding; it did not complete.
    case abortedByReset(command: String)
    /// The controller posted a completion that cannot be matched to a command.
    case hostileCompletion(queueID: UInt16, detail: String)
    /// CSTS.SHST did not report complete within the bound.
    case shutdownTimeout(milliseconds: Int, csts: UInt32)
    /// A request the constraints cannot serve.
    case requestRefused(reason: String)
    /// The controller has been stopped; no further work is accepted.
    case stopped
    /// DMA memory could not be set up `during` a step of bring-up or recovery (for example
    /// "allocating queue 1 (depth 64)"); the mapper's error says why, and can be matched on.
    /// Indirect, like `unusableValue`: a cold case kept out of the inline size every request's
    /// outcome copies.
    indirect case dma(DMAMapperError, during: String)
    /// A value the driver cannot work with, refused before it is used: an HBA constraint that
    /// makes the configuration incomplete or inconsistent, an option, a register or Identify
    /// field the device reported, or a count a command field cannot carry. `key` names it,
    /// `rule` says what it must satisfy.
    indirect case unusableValue(key: ValueKey, value: String, rule: String)
    /// A request saw neither a submission nor a completion for longer than the command timeout,
    /// with no command past its deadline to abort (a queue the device keeps looking full).
    case noProgress(command: String, queueID: UInt16, milliseconds: Int, detail: String)

    /// One line for a log or a user: what failed, the values seen (registers in hex) and, where
    /// there is one, what to do next.
    public var description: String {
        switch self {
        case let .readyTimeout(expected, ms, cap, cc, csts):
            return "controller did not set CSTS.RDY=\(expected ? 1 : 0) within CAP.TO (\(ms) ms); registers seen: "
                + "CAP=\(hex(cap, uppercase: true)) CC=\(hex(cc, uppercase: true)) CSTS=\(hex(csts, uppercase: true)). Check the device is an NVMe controller and not held in reset."
        case let .controllerFatal(during, csts):
            return "controller fatal status (CSTS.CFS=1, CSTS=\(hex(csts, uppercase: true))) during \(during); the controller needs a reset"
        case let .deviceGone(during):
            return "device returned all ones during \(during): it was removed or its PCIe link is down"
        case let .controllerNotReady(during, csts):
            return "controller stopped being ready (CSTS.RDY=0, CSTS=\(hex(csts, uppercase: true))) during \(during): it was reset or lost power; bring it up again"
        case let .unsupported(what):
            return "controller not supported: \(what)"
        case let .adminCommandFailed(command, status):
            return "admin command \(command) failed: \(status)"
        case let .ioCommandFailed(command, lba, blocks, status):
            return "\(command) of \(blocks) block(s) at LBA \(lba) failed: \(status)"
        case let .commandTimedOut(command, qid, cid, ms, recovery):
            return "\(command) (queue \(qid), command id \(cid)) did not complete within \(ms) ms; \(recovery)"
        case let .abortedByReset(command):
            return "\(command) was outstanding when the controller was reset; it did not complete"
        case let .hostileCompletion(qid, detail):
            return "queue \(qid): controller posted an invalid completion: \(detail)"
        case let .shutdownTimeout(ms, csts):
            return "shutdown did not complete within \(ms) ms (CSTS=\(hex(csts, uppercase: true)))"
        case let .requestRefused(reason):
            return "request refused: \(reason)"
        case .stopped:
            return "controller is stopped; start a new one to issue I/O"
        case let .dma(error, during):
            return "DMA: \(during): \(error)"
        case let .unusableValue(key, value, rule):
            return "\(key) = \(value) refused: \(rule)"
        case let .noProgress(command, qid, ms, detail):
            return "\(command) on queue \(qid) made no progress for \(ms) ms: \(detail); the controller was reset"
        }
    }
}

extension ControllerError {
    /// What an unusable value is, for matching and for messages.
    public enum ValueKey: Sendable, Equatable, CustomStringConvertible {
        /// One of the HBA constraint keys (`ControllerOptions.constraints`): the caller's
        /// configuration, so a tool can report it as a usage error.
        case constraint(HBAConstraintKey)
        /// Any other value by name: an option (`ControllerOptions.pageSize`), a register or
        /// Identify field (`CAP.MQES`, `Identify Namespace 2 FLBAS`) or a command field.
        case field(String)

        /// `HBA constraint ` and DriverKit's key name, or the field's name.
        public var description: String {
            switch self {
            case let .constraint(key): "HBA constraint \(key.rawValue)"
            case let .field(name): name
            }
        }
    }

    /// Builds a command with one of NVMe's throwing builders, reporting a count its field cannot
    /// carry the way every other unusable value is reported: the field, the value and the rule.
    static func encoding<Command>(_ build: () throws(CommandFieldError) -> Command) throws(ControllerError) -> Command {
        do {
            return try build()
        } catch {
            switch error {
            case let .outOfRange(field, value, valid):
                throw .unusableValue(key: .field(field), value: "\(value)", rule: "must be \(valid.lowerBound)...\(valid.upperBound)")
            case let .notAMultiple(field, value, multiple):
                throw .unusableValue(key: .field(field), value: "\(value)", rule: "must be a multiple of \(multiple)")
            }
        }
    }
}
