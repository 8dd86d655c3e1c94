import ArgumentParser
import Foundation
import SCSIController

/// `ctrlbench info`: what nvme-cli's id-ctrl and id-ns show, plus what the driver made of it
/// (queues, data pointers, the effective HBA constraints and where each came from).
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a controller's identity, limits, capabilities, namespaces and effective HBA constraints.",
        discussion: """
            Brings the driver up on the controller (the mock by default, or --device ADDRESS bound to \
            vfio-pci), asking for as many I/O queues as the controller grants (each only two entries \
            deep, so this costs little), and reports Identify Controller and Identify Namespace as \
            nvme-cli's id-ctrl and id-ns would: vendor, model, serial, firmware, version; MDTS in \
            bytes, queues granted and MQES, page sizes, the volatile write cache; SGL support, ONCS, \
            OACS (Doorbell Buffer Config included), power states; each namespace's size, LBA format \
            and NGUID/EUI-64; and the nine HBA constraint keys with each value's source. With the \
            constraint options (as `explain` takes them) the overridden set is validated and shown.
            """)

    @Option(help: ArgumentHelp("`mock`, or the PCI address of a controller bound to vfio-pci.", valueName: "mock|address"))
    var device = "mock"

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup(title: "HBA constraints (DriverKit's keys)") var constraints: ConstraintOptions
    @OptionGroup(title: "Mock geometry") var mock: MockOptions

    /// Queues asked for: the most Set Features Number of Queues can ask (FFFFh is invalid).
    static let queuesAsked = 65535

    func run() throws {
        let report = try collect()
        print(json ? report.json : report.text)
    }

    /// Brings the controller up and gathers the report.
    func collect() throws(ScsiToolError) -> InfoReport {
        let target = try DeviceTarget.parse(device, geometry: try mock.geometry())
        let session = try ScsiSession(target) { options in
            options.ioQueueCount = Self.queuesAsked
            options.ioQueueDepth = 2
            constraints.apply(to: &options)
        }
        return InfoReport(session.controller, device: session.deviceName, queuesAsked: Self.queuesAsked)
    }
}
