import ArgumentParser
import Foundation
import SCSIController
import Synchronization

/// `--trace FILE|-`: the one definition of the option, shared by bench, scsi and explain.
struct TraceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Trace every command: SCSI CDB, the NVMe commands it became (opcode, NSID, SLBA, NLB, "
                               + "PRP/SGL) and each completion, with timestamps, to FILE or - (standard output).",
                               valueName: "file|-"))
    var trace: String?

    /// The trace to write, or nil when tracing is off (the device is then not wrapped at all).
    func open() throws(ScsiToolError) -> CommandTrace? {
        guard let trace else { return nil }
        if trace == "-" { return CommandTrace(handle: .standardOutput) }
        guard FileManager.default.createFile(atPath: trace, contents: nil),
              let handle = FileHandle(forWritingAtPath: trace) else {
            throw .usage("--trace \(trace): cannot create the file (check the folder exists and is writable)")
        }
        return CommandTrace(handle: handle)
    }
}

/// Where trace lines go: each stamped with the seconds since the trace began (monotonic clock),
/// written whole under a lock, since queue threads and the SCSI layer write to it concurrently.
final class CommandTrace: Sendable {
    private let output: Mutex<Output>
    private let start: UInt64

    private struct Output: ~Copyable {
        /// Nil for a trace kept in memory.
        let handle: FileHandle?
        /// The lines of a trace kept in memory (a file's are not kept: a bench run writes millions).
        var lines: [String] = []
    }

    init(handle: FileHandle?) {
        output = Mutex(Output(handle: handle))
        start = Self.now()
    }

    /// A trace kept in memory (tests).
    convenience init() { self.init(handle: nil) }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Writes `text` as one line stamped `[seconds.microseconds]`.
    func note(_ text: String) {
        let elapsed = Self.now() - start
        let stamp = String(format: "[%4llu.%06llu] ", elapsed / 1_000_000_000, elapsed / 1000 % 1_000_000)
        let line = stamp + text
        output.withLock { output in
            if let handle = output.handle { handle.write(Data((line + "\n").utf8)) } else { output.lines.append(line) }
        }
    }

    /// Every line written so far, stamps included, for a trace kept in memory.
    var lines: [String] { output.withLock { $0.lines } }
}

extension ControllerOptions {
    /// The trace decodes the rings at each MMIO doorbell write, which shadow doorbells make rare
    /// (a command announced only in the shadow buffer would show late or never): tracing turns
    /// them off.
    mutating func prepare(for trace: CommandTrace?) {
        if trace != nil { shadowDoorbells = false }
    }
}
