import MockNVMe
import PCIDevice
import SCSIController

/// Where a ctrlbench subcommand sends its work: the mock (the default) or a controller bound
/// to vfio-pci. One place opens devices, so every subcommand explains failures the same way.
enum DeviceTarget: Equatable, Sendable {
    /// A software controller made for this run.
    case mock(MockGeometry)
    /// A controller bound to vfio-pci.
    case vfio(PCIAddress)

    /// Parses `--device`: `mock` or a PCI address.
    static func parse(_ device: String, geometry: MockGeometry) throws(ScsiToolError) -> DeviceTarget {
        if device.lowercased() == "mock" { return .mock(geometry) }
        do { return .vfio(try PCIAddress(parsing: device)) } catch {
            throw .usage("--device \(device): expected `mock` or a PCI address. \(error)")
        }
    }

    /// Opens the device; `adjust` may change the mock's configuration (execution mode, data).
    /// A PCI address is first checked in sysfs (under `sysfsRoot`): a function that does not
    /// exist, or is not on vfio-pci, is named as such rather than as a VFIO failure.
    /// With `trace`, the device comes wrapped in a `TracingDevice` that writes every command to it;
    /// without, the engine gets the device itself, so tracing costs nothing when off.
    func open(sysfsRoot: String = "/sys", trace: CommandTrace? = nil,
              adjust: (inout MockConfiguration) -> Void = { _ in }) throws(ScsiToolError)
        -> (device: any DeviceInterface, name: String, isMock: Bool) {
        let opened = try openUntraced(sysfsRoot: sysfsRoot, adjust: adjust)
        guard let trace else { return opened }
        return (TracingDevice(opened.device, trace: trace), opened.name, opened.isMock)
    }

    private func openUntraced(sysfsRoot: String, adjust: (inout MockConfiguration) -> Void) throws(ScsiToolError)
        -> (device: any DeviceInterface, name: String, isMock: Bool) {
        switch self {
        case let .mock(geometry):
            var configuration = try geometry.configuration()
            adjust(&configuration)
            do { return (try MockController.open(configuration: configuration), "mock", true) } catch let error as MockConfigurationError {
                throw .usage("mock geometry refused: \(error)")
            } catch {
                throw .device("cannot open the mock: \(error)")
            }
        case let .vfio(address):
            do { try SysfsBinder(sysfsRoot: sysfsRoot).checkOpenable(address) } catch {
                throw .device("cannot open \(address): \(error)")
            }
            do { return (try VFIODevice.open(address), address.description, false) } catch {
                throw .device("cannot open \(address) through VFIO: \(error)")
            }
        }
    }
}

extension ControllerOptions {
    /// The mock's software IOMMU never needs locked pages, and locking them would only log
    /// warnings: every subcommand that brings the engine up on the mock turns pinning off.
    mutating func prepare(forMock isMock: Bool) {
        if isMock { pinning = .disabled }
    }
}
