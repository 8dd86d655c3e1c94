import Logging
import MockNVMe
import SCSIController
import TCMUExport

/// What `ctrlbench export` exports: the device opened with the queues the workers need, and one
/// backstore per LUN sized from the namespace and the adapter's largest transfer.
struct ExportPlan {
    var device: String
    var backing: String?
    var workers: Int
    /// Commands each worker keeps in flight (its I/O queue holds at least this many).
    var queueDepth = 1
    var lunPerNamespace: Bool
    /// Whether the I/O queues of a controller through VFIO get an MSI-X vector each, for the
    /// workers to sleep on (`ControllerOptions.completionInterrupts`); the mock is polled.
    var completionInterrupts = false

    /// "mock" or the PCI address as given.
    var deviceName: String { device.lowercased() == "mock" ? "mock" : device }
    /// The name of the export's configfs items.
    var exportName: String { ExportLayout.exportName(ofBackstore: Backstore.name(device: deviceName, lun: 0)) }

    /// Opens the device (the mock file-backed when --backing is given) and brings the engine up
    /// with `workers` I/O queues per namespace that may be exported.
    func bringUp(_ geometry: MockGeometry, logger: Logger) throws(ScsiToolError) -> (NVMeController, SCSIHostAdapter) {
        let target = try DeviceTarget.parse(device, geometry: geometry)
        let backing = backing
        let opened = try target.open { configuration in
            if let backing {
                for index in configuration.namespaces.indices {
                    configuration.namespaces[index].backingFile = index == 0 ? backing : "\(backing).\(index + 1)"
                }
            }
            // 1 MiB commands (MDTS 8 of 4 KiB pages), the size the block layer sends at most.
            configuration.mdts = 8
        }
        var options = ControllerOptions()
        options.logger = logger
        options.ioQueueCount = workers * (lunPerNamespace ? max(1, geometry.namespaces) : 1)
        options.ioQueueDepth = max(64, queueDepth + 1)
        options.prepare(forMock: opened.isMock)
        options.completionInterrupts = completionInterrupts && !opened.isMock
        let controller: NVMeController
        do { controller = try NVMeController(device: opened.device, options: options) } catch {
            throw .device("cannot bring up the NVMe controller on \(opened.name): \(error)")
        }
        guard controller.ioQueues.count >= options.ioQueueCount else {
            throw .device("\(opened.name) granted \(controller.ioQueues.count) I/O queues; the export needs \(options.ioQueueCount) (lower --workers)")
        }
        // VPD B0h's MAXIMUM TRANSFER LENGTH: what the engine and the ring carry; a worker runs a
        // READ or WRITE larger than its buffer in pieces.
        return (controller, SCSIHostAdapter(controller: controller, transferLimit: Self.maximumCommandBytes))
    }

    /// The largest command the export takes: TCMU's default data area (max_data_area_mb 1024),
    /// which no command's data can exceed, unless the engine carries less.
    static let maximumCommandBytes = 1 << 30

    /// Each command in flight holds a DMA buffer this big (pinned, on a real controller); larger
    /// READs and WRITEs run through it in pieces. The block layer sends at most VPD B0h's optimal
    /// transfer length (1 MiB here), so only initiators that ignore it (SG_IO, iSCSI tools) pay.
    static let bufferBytes = 8 << 20

    /// One backstore per exported namespace (LUN n = the n-th active namespace).
    func backstores(adapter: SCSIHostAdapter, pid: Int32) -> [Backstore] {
        let namespaces = adapter.controller.namespaces
        let count = lunPerNamespace ? namespaces.count : min(1, namespaces.count)
        return (0..<count).map { index in
            let namespace = namespaces[index]
            return Backstore(name: Backstore.name(device: deviceName, lun: UInt64(index)), lun: UInt64(index),
                             sizeBytes: namespace.capacityBytes, blockSize: namespace.blockSize,
                             maximumSectors: max(1, min(adapter.facts.maximumTransferBytes, Self.bufferBytes) / namespace.blockSize),
                             pid: pid, device: deviceName)
        }
    }

    /// Why `portal` is not ADDR:PORT, or nil.
    static func portalProblem(_ portal: String) -> String? {
        guard let colon = portal.lastIndex(of: ":"), let port = Int(portal[portal.index(after: colon)...]),
              (1...65535).contains(port), colon != portal.startIndex else {
            return "--iscsi \(portal): expected ADDR:PORT, e.g. 127.0.0.1:3260 or [::1]:3260"
        }
        let address = portal[..<colon]
        if address.contains(":"), !(address.hasPrefix("[") && address.hasSuffix("]")) {
            return "--iscsi \(portal): write an IPv6 address in brackets, e.g. [::1]:3260"
        }
        return nil
    }
}
