import ArgumentParser

/// Synchronous on purpose: every subcommand drives polled queues on its own threads, and an async
/// entry point would load the concurrency runtime, which valgrind (scripts/callgrind.sh) cannot run.
/// The `ctrlbench` command line: PCI discovery and binding, and raw SCSI commands (`scsi`);
/// bench, info and explain are added as further subcommands, one file each.
@main
struct CtrlBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctrlbench",
        abstract: "Find, bind and exercise NVMe controllers through the userspace driver.",
        subcommands: [Bench.self, List.self, Bind.self, Unbind.self, Scsi.self, FaultProbe.self, Export.self]
    )
}

/// Options every sysfs-touching subcommand shares.
struct SysfsOptions: ParsableArguments {
    /// Tests point this at a fake tree; real use never needs it.
    @Option(name: .long, help: .hidden)
    var sysfsRoot: String = "/sys"
}
