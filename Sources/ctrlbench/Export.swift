import ArgumentParser
import Foundation
import Logging
import SCSIController
import TCMUExport

/// `ctrlbench export`: the SCSI layer as a Linux SCSI disk (tcm_loop) and an iSCSI target, through
/// LIO's user backstore (target_core_user).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a controller through LIO's user backstore (TCMU): a local SCSI disk, an iSCSI target.",
        discussion: """
            Creates one TCMU backstore per exported LUN (configfs core/user_0/NAME), serves its \
            command ring with the SCSI translation and the engine, and links it to the fabrics asked \
            for: --tcm-loop gives a local /dev/sdX, --iscsi ADDR:PORT a target portal (demo mode, no \
            authentication: any initiator may log in). The data area of the ring cannot be mapped for \
            DMA, so every command's data is copied between it and a DMA buffer of the engine.

            It loads no module itself: it says what is missing (target_core_mod, uio, \
            target_core_user, tcm_loop, iscsi_target_mod; configfs at /sys/kernel/config; \
            /etc/target/pr) and exits 1. Backstores left by a killed run are removed first.

            SIGINT or SIGTERM stops it: the fabrics go first (sd sends its final SYNCHRONIZE CACHE \
            then), the rings drain, each LUN gets a SYNCHRONIZE CACHE, the controller shuts down and \
            the backstores go. configfs is left as it was found.

            With --device mock the data lives in memory unless --backing FILE gives a sparse file \
            (one per namespace: FILE, FILE.2, ...), which keeps it across runs.

            Example:
              ctrlbench export --device mock --backing /var/tmp/disk.img --tcm-loop --iscsi 127.0.0.1:3260
            """)

    @Option(help: ArgumentHelp("What to export: `mock`, or the PCI address of a controller bound to vfio-pci.",
                               valueName: "mock|address"))
    var device = "mock"

    @Option(help: "Mock: a sparse file holding namespace 1's data (namespace n uses FILE.n).")
    var backing: String?

    @Flag(help: "Link the LUNs to tcm_loop: a local SCSI disk appears.")
    var tcmLoop = false

    @Option(help: ArgumentHelp("Link the LUNs to an iSCSI target with a portal on ADDR:PORT.", valueName: "ADDR:PORT"))
    var iscsi: String?

    @Flag(help: "Export every namespace as its own LUN (default: namespace 1 only).")
    var lunPerNamespace = false

    @Option(help: ArgumentHelp("Commands in flight per LUN: one I/O queue, one DMA buffer and one polling thread each (default: half the CPUs, 1 to 4).",
                               valueName: "N"))
    var workers: Int?

    @Option(help: ArgumentHelp("Commands each worker keeps in flight, like fio's iodepth: one polling thread serves them all, up to 128 KiB each (default 32; 1 serves one at a time).",
                               valueName: "N"))
    var queueDepth = Self.defaultQueueDepth

    @Option(help: ArgumentHelp("How a worker with commands in flight waits for the device on a controller through VFIO: `interrupts` sleeps until the queue's MSI-X vector fires (or the kernel kicks), leaving the CPU to the kernel's side of each command; `poll` spins on the queue, yielding now and then. Without a vector per queue the queues are polled (with a warning). The mock is always polled.",
                               valueName: "interrupts|poll"))
    var completions: CompletionWaitMode = .interrupts

    @Option(help: ArgumentHelp("With --completions interrupts: polls that find nothing before a worker sleeps (at least 1).", valueName: "N"))
    var pollsBeforeSleep = 1

    @Option(help: "Mock: number of namespaces.")
    var mockNamespaces = 1

    @Option(help: "Mock: blocks per namespace.")
    var mockBlocks: UInt64 = 1 << 21

    @Option(help: ArgumentHelp("Mock: logical block size.", valueName: "512|4096"))
    var mockBlockSize = 512

    @Flag(help: "Log each step on standard error.")
    var verbose = false

    func validate() throws {
        if let workers, !(1...16).contains(workers) { throw ValidationError("--workers \(workers): choose 1 to 16") }
        if !(1...256).contains(queueDepth) { throw ValidationError("--queue-depth \(queueDepth): choose 1 to 256") }
        if !(1...1_000_000).contains(pollsBeforeSleep) { throw ValidationError("--polls-before-sleep \(pollsBeforeSleep): choose 1 to 1000000") }
        if let iscsi, ExportPlan.portalProblem(iscsi) != nil { throw ValidationError(ExportPlan.portalProblem(iscsi)!) }
        if backing != nil, device.lowercased() != "mock" { throw ValidationError("--backing is for --device mock") }
    }

    func run() throws {
        var logger = Logger(label: "ctrlbench.export") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .info : .warning
        // SIGINT and SIGTERM are taken by sigwait on this thread only: block them before any thread
        // starts (the engine's watchdog included), so no other thread takes them and dies of them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let paths = SystemPaths()
        let missing = missingPrerequisites(paths: paths, loopback: tcmLoop, iscsi: iscsi != nil)
        guard missing.isEmpty else {
            for item in missing { FileHandle.standardError.write(Data("ctrlbench export: \(item)\n".utf8)) }
            throw ExitCode(1)
        }
        let configfs = ConfigFSTree(root: paths.configfs)
        do {
            // A dead handler's ring is answered meanwhile, so the initiators' last commands fail at once.
            let removed = try ExportLayout.removeStale(in: configfs, whileUnlinking: { path, devConfig in
                let drainer = StaleRingDrainer(backstorePath: path, devConfig: devConfig, paths: paths)
                return { if let answered = drainer?.stop(), answered > 0 { print("answered \(answered) command(s) left on \(path)'s ring") } }
            })
            for line in removed { print("removed \(line)") }
        } catch { throw ScsiToolError.device("cannot remove a stale export: \(error)") }

        let workers = workers ?? Self.defaultWorkers(processors: ProcessInfo.processInfo.activeProcessorCount)
        let plan = ExportPlan(device: device, backing: backing, workers: workers, queueDepth: queueDepth, lunPerNamespace: lunPerNamespace,
                              completionInterrupts: completions == .interrupts)
        let (controller, adapter) = try plan.bringUp(
            MockGeometry(namespaces: mockNamespaces, blocks: mockBlocks, blockSize: mockBlockSize), logger: logger)
        let backstores = plan.backstores(adapter: adapter, pid: getpid())
        var fabrics: [Fabric] = []
        if tcmLoop { fabrics.append(.loopback(for: plan.exportName)) }
        if let iscsi { fabrics.append(.iscsi(for: plan.exportName, portal: iscsi)) }

        let session = ExportSession(layout: ExportLayout(configfs: configfs, backstores: backstores, fabrics: fabrics),
                                    adapter: adapter, paths: paths, workersPerLUN: workers, queueDepth: queueDepth,
                                    pollsBeforeSleep: pollsBeforeSleep, logger: logger)
        session.onRingFailure = { kill(getpid(), SIGTERM) }
        do { try session.start() } catch {
            try? controller.stop()
            throw ScsiToolError.device("cannot start the export: \(error)")
        }
        for (backstore, uio) in zip(backstores, session.uioPaths) {
            print("exported LUN \(backstore.lun) of \(plan.deviceName) as \(configfs.root)/\(backstore.path) on \(uio)")
        }
        for fabric in fabrics { print("fabric \(configfs.root)/\(fabric.tpgPath)\(fabric.portalText)") }
        print("serving; SIGINT or SIGTERM stops")
        fflush(nil)

        var received: Int32 = 0
        sigwait(&signals, &received)
        print("signal \(received): removing the fabrics, draining, flushing")
        var problems = session.stop()
        do { try controller.stop() } catch { problems.append("controller shutdown: \(error)") }
        if let failure = session.ringFailure, !problems.contains(failure) { problems.append(failure) }
        for problem in problems { FileHandle.standardError.write(Data("ctrlbench export: \(problem)\n".utf8)) }
        print(problems.isEmpty ? "stopped cleanly" : "stopped with \(problems.count) problem(s)")
        if !problems.isEmpty { throw ExitCode(1) }
    }
}

extension Export {
    /// Workers per LUN when `--workers` is not given: half the CPUs, 1 to 4. Each worker's thread
    /// polls while its command is at the device, and the kernel's side of every command (sd, LIO,
    /// TCMU, the copy back) needs CPU too: on a 2-vCPU TCG guest, fio QD32 through tcm_loop gave
    /// 1 086 IOPS with 1 worker, 897 with 2 and 475 with 4 in one boot.
    static func defaultWorkers(processors: Int) -> Int { min(4, max(1, processors / 2)) }

    /// Commands in flight per worker when `--queue-depth` is not given: fio's QD32, which one
    /// thread keeps at the device with its pipeline (sd's own queue depth per LUN is larger).
    static let defaultQueueDepth = 32
}

/// `--completions`: how a worker waits for its commands at the device.
enum CompletionWaitMode: String, ExpressibleByArgument, CaseIterable {
    case interrupts
    case poll
}

extension Fabric {
    var portalText: String {
        if case let .iscsi(target, portal) = self { return " (\(target) on \(portal))" }
        return ""
    }
}
