import FakeSysfs
import Testing
@testable import ctrlbench

/// Opening `--device ADDRESS` (the one place every subcommand opens a controller): a function
/// that does not exist, or is not on vfio-pci, is named as such - not blamed on /dev/vfio.
@Suite struct DeviceTargetTests {
    static func open(_ address: String, sysfsRoot: String) -> ScsiToolError? {
        do {
            let target = try DeviceTarget.parse(address, geometry: MockGeometry())
            _ = try target.open(sysfsRoot: sysfsRoot)
            return nil
        } catch {
            return error
        }
    }

    @Test func aMissingFunctionIsNamedNotVFIO() throws {
        let tree = try FakeSysfs([.init(address: "0000:01:00.0", vendor: 0x144d, device: 0xa808,
                                        classCode: 0x010802, driver: "vfio-pci", group: 7)])
        let error = Self.open("0000:00:1f.7", sysfsRoot: tree.root)
        let text = error?.description ?? ""
        #expect(text.contains("No PCI function 0000:00:1f.7 under \(tree.root)/bus/pci/devices"))
        #expect(text.contains("ctrlbench list"))
        #expect(!text.contains("/dev/vfio"))
    }

    @Test func aMissingFunctionOnThisMachineIsNamedToo() {
        // Bus ff, device 1f, function 7 exists on no machine this runs on.
        let text = Self.open("0000:ff:1f.7", sysfsRoot: "/sys")?.description ?? ""
        #expect(text.contains("No PCI function 0000:ff:1f.7"))
        #expect(!text.contains("/dev/vfio"))
    }

    @Test func aFunctionOnAHostDriverSaysBindItFirst() throws {
        let tree = try FakeSysfs([.init(address: "0000:01:00.0", vendor: 0x144d, device: 0xa808,
                                        classCode: 0x010802, driver: "nvme", group: 7)])
        let text = Self.open("0000:01:00.0", sysfsRoot: tree.root)?.description ?? ""
        #expect(text.contains("0000:01:00.0 is bound to nvme, not vfio-pci"))
        #expect(text.contains("ctrlbench bind 0000:01:00.0"))
    }
}
