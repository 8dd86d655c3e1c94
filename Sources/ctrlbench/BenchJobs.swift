import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Starts the jobs, one thread each (pinned when `--cpus_allowed` is given), shows the progress
/// line while they run, turns Ctrl-C into a clean stop, and collects what each one measured.
enum BenchJobs {
    /// Set by the SIGINT handler; the waiting thread forwards it to the run's `RunControl`.
    static let interrupted = Atomic<Bool>(false)

    /// Runs `body(job)` for every job on its own thread and waits for all of them.
    static func run(count: Int, cpus: [Int]?, control: RunControl, progress: [JobProgress], ticker: ProgressLine?,
                    body: @escaping @Sendable (Int) -> JobResult) -> [JobResult] {
        let results = Mutex([JobResult?](repeating: nil, count: count))
        let done = DispatchGroup()
        let previous = installInterruptHandler()
        defer { restoreInterruptHandler(previous) }
        for job in 0..<count {
            done.enter()
            let cpu = cpus.map { $0[job % $0.count] }
            let thread = Thread {
                if let cpu { pin(to: cpu) }
                let result = body(job)
                results.withLock { $0[job] = result }
                done.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        while done.wait(timeout: .now() + .milliseconds(200)) == .timedOut {
            if interrupted.load(ordering: .relaxed) { control.requestStop() }
            ticker?.show(completed: progress.reduce(0) { $0 + $1.completed.load(ordering: .relaxed) })
        }
        ticker?.finish()
        return results.withLock { $0.compactMap { $0 } }
    }

    /// Pins the calling thread to one CPU (fio's cpus_allowed with cpus_allowed_policy=split).
    /// sched_setaffinity(2) is looked up at run time: Glibc's Swift module leaves the GNU
    /// extensions out. Returns false when the kernel refuses (the CPU is offline or not allowed).
    @discardableResult
    static func pin(to cpu: Int) -> Bool {
        typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_setaffinity") else { return false }
        var set = [UInt64](repeating: 0, count: 16)  // 1024 CPUs, the size of glibc's cpu_set_t
        guard cpu / 64 < set.count else { return false }
        set[cpu / 64] |= 1 << UInt64(cpu % 64)
        let setAffinity = unsafeBitCast(symbol, to: SetAffinity.self)
        return set.withUnsafeBytes { setAffinity(0, $0.count, $0.baseAddress!) } == 0
    }

    static func installInterruptHandler() -> sighandler_t? {
        interrupted.store(false, ordering: .relaxed)
        return signal(SIGINT) { _ in
            // A second Ctrl-C ends the process the usual way.
            if BenchJobs.interrupted.exchange(true, ordering: .relaxed) { signal(SIGINT, SIG_DFL); raise(SIGINT) }
        }
    }

    static func restoreInterruptHandler(_ previous: sighandler_t?) {
        signal(SIGINT, previous)
    }

    /// CPUs this process may run on now.
    static var onlineCPUs: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}

/// fio's status line, on standard error when it is a terminal:
/// `Jobs: 2: [r(2)][45.0%][r=1.2GiB/s][r=310k IOPS][eta 00m:03s]`.
final class ProgressLine: @unchecked Sendable {
    let jobs: Int
    let ioBytes: Int
    let totalIOs: Int?
    let runtimeNanoseconds: UInt64?
    let letter: String
    private let start = DispatchTime.now().uptimeNanoseconds
    private var last: (time: UInt64, completed: Int)

    /// Nil when standard error is not a terminal: output stays quiet in pipes and files.
    init?(jobs: Int, ioBytes: Int, totalIOs: Int?, runtimeNanoseconds: UInt64?, letter: String,
          forceTerminal: Bool = isatty(STDERR_FILENO) == 1) {
        guard forceTerminal else { return nil }
        self.jobs = jobs
        self.ioBytes = ioBytes
        self.totalIOs = totalIOs
        self.runtimeNanoseconds = runtimeNanoseconds
        self.letter = letter
        last = (start, 0)
    }

    func show(completed: Int) {
        FileHandle.standardError.write(Data(("\r" + line(completed: completed, now: DispatchTime.now().uptimeNanoseconds)).utf8))
    }

    func finish() { FileHandle.standardError.write(Data("\n".utf8)) }

    /// The line's text at `now` with `completed` I/Os done by all jobs.
    func line(completed: Int, now: UInt64) -> String {
        let elapsed = now - start
        let window = max(1, now - last.time)
        let rate = Double(completed - last.completed) * 1e9 / Double(window)
        last = (now, completed)
        var fraction = 0.0
        var remaining = 0.0
        if let runtime = runtimeNanoseconds {
            fraction = min(1, Double(elapsed) / Double(runtime))
            remaining = max(0, Double(runtime) - Double(elapsed)) / 1e9
        } else if let total = totalIOs, total > 0 {
            fraction = min(1, Double(completed) / Double(total))
            remaining = rate > 0 ? Double(total - completed) / rate : 0
        }
        let eta = Int(remaining.rounded(.up))
        return String(format: "Jobs: %d: [%@(%d)][%.1f%%][%@=%@][%@=%@ IOPS][elapsed %ds][eta %02dm:%02ds]",
                      jobs, letter, jobs, fraction * 100, letter, BenchReport.scaled(rate * Double(ioBytes), unit: "B/s"),
                      letter, BenchReport.scaled(rate, unit: ""), Int(elapsed / 1_000_000_000), eta / 60, eta % 60)
    }
}
