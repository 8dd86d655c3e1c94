import ArgumentParser
import PCIDevice

/// Synchronous on purpose: every subcommand drives polled queues on its own threads, and an async
/// entry point would load the concurrency runtime, which valgrind (scripts/callgrind.sh) cannot run.
/// The `ctrlbench` command line: PCI discovery and binding, and raw SCSI commands (`scsi`);
/// bench, info and explain are added as further subcommands, one file each.
@main
struct CtrlBench: ParsableCommand {
    /// What `ctrlbench --version` prints.
    static let version = "ctrlbench 0.12.0 (SwiftNVMe: userspace NVMe over VFIO with a SCSI layer)"

    static let configuration = CommandConfiguration(
        commandName: "ctrlbench",
        abstract: "Find, bind and exercise NVMe controllers through the userspace driver.",
        version: CtrlBench.version,
        subcommands: [Bench.self, List.self, Bind.self, Unbind.self, Scsi.self, Info.self, Explain.self, Export.self, FaultProbe.self]
    )
}

/// Options every sysfs-touching subcommand shares.
struct SysfsOptions: ParsableArguments {
    /// Tests point this at a fake tree; real use never needs it.
    @Option(name: .long, help: .hidden)
    var sysfsRoot: String = "/sys"

    /// Where bind reads the mount table and swap list; tests point it at a fake tree too.
    @Option(name: .long, help: .hidden)
    var procRoot: String = "/proc"

    /// The binder over these roots.
    func binder() -> SysfsBinder { SysfsBinder(sysfsRoot: sysfsRoot, procRoot: procRoot) }
}
