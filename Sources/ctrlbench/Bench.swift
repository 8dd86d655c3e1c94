import ArgumentParser
import Foundation

/// `ctrlbench bench`: IOPS, throughput and latency percentiles with fio's option names, on the
/// mock by default. Numbers arrive as text and are parsed by `BenchValues`, so every refusal
/// names the option, the value and the allowed range.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure IOPS, throughput and latency percentiles, fio-style (on the mock by default).",
        discussion: """
            Each job is a thread with its own queue pair. --path raw (the default when --bs fits one \
            command) keeps --iodepth commands in flight, one command per I/O, one SQ doorbell per \
            batch, one CQ doorbell per poll pass; --path block sends each I/O as one block request, \
            which the breaker splits into as many commands as needed (any --bs); --path scsi sends \
            READ(16)/WRITE(16) tasks through the SCSI host adapter. Mock modes: `null` (data \
            discarded: the cheapest device, so the figures are the driver's own cost), `inline` (data \
            kept), `threaded` (a device thread completes after --mock-latency-us, out of order). \
            Latency runs from the clock read that stamps a submission batch to the poll pass that \
            sees the completion; --no-latency drops it. Ctrl-C stops cleanly and prints what was measured.
            """)

    enum MockMode: String, ExpressibleByArgument, CaseIterable { case null, inline, threaded }
    enum Pointers: String, ExpressibleByArgument, CaseIterable { case auto, prp, sgl }
    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case normal, json }

    @Option(help: "`mock`, or the PCI address of a controller bound to vfio-pci.")
    var device = "mock"
    @Option(parsing: .unconditional, help: "read, write, randread, randwrite, rw or randrw.")
    var rw = "randread"
    @Option(parsing: .unconditional, help: "Percent of reads in rw/randrw (0-100).")
    var rwmixread = "50"
    @Option(parsing: .unconditional, help: "Bytes per I/O, with k/m/g suffixes (4k, 1m, 1g).")
    var bs = "4k"
    @Option(parsing: .unconditional, help: "I/Os in flight per job (raw path; default 32, 1 on the block and SCSI paths).")
    var iodepth: String?
    @Option(name: [.customLong("numjobs"), .customLong("queues")], parsing: .unconditional,
            help: "Jobs: a thread and an I/O queue pair each (--queues is the old name).")
    var numjobs = "1"
    @Option(name: .customLong("cpus_allowed"), help: "CPUs to pin the jobs to, one each in turn (0-3,6).")
    var cpusAllowed: String?
    @Option(parsing: .unconditional, help: "How long to run: seconds, or with ms/s/m/h (default 3s without --number_ios).")
    var runtime: String?
    @Option(name: [.customLong("number_ios"), .customLong("ios")], parsing: .unconditional,
            help: "Stop each job after this many I/Os (--ios is the old name).")
    var numberIOs: String?
    @Option(parsing: .unconditional, help: "Bytes of the region to use, from --offset (default: to the namespace's end).")
    var size: String?
    @Option(parsing: .unconditional, help: "Where the region starts, in bytes (a multiple of the block size).")
    var offset = "0"
    @Option(parsing: .unconditional, help: "Namespace ID (default: the first active namespace).")
    var namespace: String?
    @Option(help: "Check data on read-back: crc32c or pattern (a write workload reads everything back).")
    var verify: VerifyMode?
    @Option(help: "raw, block or scsi (see above).")
    var path: BenchPath?
    @Option(name: .customLong("output-format"), help: "normal or json (fio's JSON shape).")
    var outputFormat: OutputFormat = .normal
    @Flag(help: "The same as --output-format json.")
    var json = false
    @Option(name: .customLong("percentile_list"), help: "Latency percentiles, colon separated (fio's default list).")
    var percentileList = "1:5:10:20:30:40:50:60:70:80:90:95:99:99.5:99.9:99.95:99.99"
    @Option(name: .customLong("write_hist_log"), help: "Write latency intervals to this file in HdrHistogram's log format.")
    var writeHistLog: String?
    @Option(name: .customLong("log_hist_msec"), parsing: .unconditional, help: "Interval of --write_hist_log in ms.")
    var logHistMsec = "1000"
    @Option(help: "PRP, SGL, or automatic data pointers.")
    var pointers: Pointers = .auto
    @Option(help: "Mock mode: null, inline or threaded (default null; inline with --verify).")
    var mockMode: MockMode?
    @Option(parsing: .unconditional, help: "Threaded mock completion latency, microseconds.")
    var mockLatencyUs = "10"
    @Option(parsing: .unconditional, help: "I/O queue pairs the mock grants (default: as many as asked).")
    var mockQueues: String?
    @Option(parsing: .unconditional, help: "Mock namespaces.")
    var mockNamespaces = "1"
    @Option(parsing: .unconditional, help: "Blocks per mock namespace.")
    var mockBlocks = "2097152"
    @Option(parsing: .unconditional, help: "Mock block size: 512 or 4096.")
    var mockBlockSize = "512"
    @Option(parsing: .unconditional,
            help: "Mock fault: Reads that touch this LBA deliver every block with its first byte inverted (for --verify).")
    var mockCorruptReads: String?
    @OptionGroup var trace: TraceOptions
    @Flag(help: "Do not configure shadow doorbells (Doorbell Buffer Config) even where the controller offers them.")
    var noShadowDoorbells = false
    @Flag(help: "Do not time each I/O.")
    var noLatency = false

    func run() throws {
        do {
            let report = try measure(control: RunControl())
            print(json || outputFormat == .json ? report.jsonText : report.text)
            if !report.succeeded { throw ExitCode(2) }
        } catch let error as ScsiToolError {
            FileHandle.standardError.write(Data("ctrlbench bench: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// Every option, parsed and range-checked before any device is touched.
    func settings() throws(ScsiToolError) -> BenchSettings {
        guard let workload = Workload(rawValue: rw) else {
            throw .usage("--rw \(rw): choose one of \(Workload.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var s = BenchSettings(workload: workload)
        s.readPercent = workload.readPercent(mix: try BenchValues.integer(rwmixread, option: "--rwmixread", range: 0...100))
        s.ioBytes = try BenchValues.bytes(bs, option: "--bs", range: 512...(1 << 40))
        s.iodepth = try iodepth.map { v throws(ScsiToolError) in
            try BenchValues.integer(v, option: "--iodepth", range: BenchSettings.iodepthRange)
        }
        s.jobs = try BenchValues.integer(numjobs, option: "--numjobs", range: BenchSettings.jobRange)
        s.cpus = try cpusAllowed.map { v throws(ScsiToolError) in try BenchValues.cpuList(v, available: BenchJobs.onlineCPUs) }
        s.runtimeNanoseconds = try runtime.map { v throws(ScsiToolError) in
            try BenchValues.duration(v, option: "--runtime", maximumSeconds: BenchSettings.maximumRuntimeSeconds)
        }
        s.ioLimit = try numberIOs.map { v throws(ScsiToolError) in
            try BenchValues.integer(v, option: "--number_ios", range: 1...Int(Int32.max) * 1024)
        }
        if s.runtimeNanoseconds == nil, s.ioLimit == nil { s.runtimeNanoseconds = 3_000_000_000 }
        s.regionBytes = try size.map { v throws(ScsiToolError) in try BenchValues.bytes(v, option: "--size", range: 512...Int.max) }
        s.offsetBytes = try BenchValues.bytes(offset, option: "--offset", range: 0...Int.max)
        s.nsid = try namespace.map { v throws(ScsiToolError) in
            UInt32(try BenchValues.integer(v, option: "--namespace", range: 1...0xFFFF_FFFE))
        }
        s.verify = verify
        s.path = path
        s.percentiles = try BenchValues.percentiles(percentileList)
        s.histogramLog = writeHistLog
        s.histogramIntervalNanoseconds = UInt64(try BenchValues.integer(logHistMsec, option: "--log_hist_msec",
                                                                        range: 1...3_600_000)) * 1_000_000
        s.measureLatency = !noLatency
        s.shadowDoorbells = !noShadowDoorbells
        if writeHistLog != nil, noLatency { throw .usage("--write_hist_log needs latencies: drop --no-latency") }
        s.pointers = pointers
        s.mockMode = mockMode ?? (verify == nil ? .null : .inline)
        if verify != nil, s.mockMode == .null {
            throw .usage("--verify with --mock-mode null: the null mock discards data; use --mock-mode inline or threaded")
        }
        s.mockLatencyMicroseconds = try BenchValues.integer(mockLatencyUs, option: "--mock-latency-us", range: 0...10_000_000)
        s.mockQueues = try mockQueues.map { v throws(ScsiToolError) in
            try BenchValues.integer(v, option: "--mock-queues", range: 1...65535)
        }
        s.mockCorruptReadLBA = try mockCorruptReads.map { v throws(ScsiToolError) in
            UInt64(try BenchValues.integer(v, option: "--mock-corrupt-reads", range: 0...Int(Int64.max)))
        }
        s.trace = try trace.open()
        s.mockGeometry = MockGeometry(
            namespaces: try BenchValues.integer(mockNamespaces, option: "--mock-namespaces", range: 1...64),
            blocks: UInt64(try BenchValues.integer(mockBlocks, option: "--mock-blocks", range: 1...(1 << 40))),
            blockSize: try BenchValues.integer(mockBlockSize, option: "--mock-block-size", range: 512...4096))
        return s
    }

    /// Brings the controller up, runs the jobs and returns the report; the controller is
    /// flushed and shut down before it returns, also after Ctrl-C.
    func measure(control: RunControl) throws(ScsiToolError) -> BenchReport {
        let settings = try settings()
        let session = try BenchSession(device: device, settings: settings)
        return try session.run(control: control)
    }
}

extension BenchPath: ExpressibleByArgument {}
