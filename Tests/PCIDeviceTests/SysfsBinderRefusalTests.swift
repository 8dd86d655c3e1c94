import FakeSysfs
import Foundation
import Testing
@testable import PCIDevice

/// Every refusal of bind and give-back: each names its cause and fix and changes nothing.
@Suite struct SysfsBinderRefusalTests {
    let nvme = BinderFixture.nvme
    func readyTree() throws -> FakeSysfs { try BinderFixture.readyTree() }
    func binder(_ fake: FakeSysfs, log: WriteLog? = nil) -> SysfsBinder { BinderFixture.binder(fake, log: log) }

    @Test func refusesMalformedAddress() throws {
        let fake = try readyTree()
        #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO("0000:01:00") }
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO("01:20.0") }
        #expect(error?.description.contains("dddd:bb:dd.f") == true)
        #expect(error?.description.contains("device") == true)
    }

    @Test func refusesMissingDevice() throws {
        let fake = try readyTree()
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO("0000:02:00.0") }
        #expect(error?.description.contains("No PCI function 0000:02:00.0") == true)
        #expect(error?.description.contains(fake.busPCI + "/devices") == true)
    }

    @Test func refusesWhenVFIOPCINotLoaded() throws {
        let fake = try FakeSysfs()
        try fake.addDevice(nvme, driver: "nvme", group: 7)
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO(nvme) }
        #expect(error?.description.contains("modprobe vfio-pci") == true)
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test func refusesWithoutIOMMUGroups() throws {
        let fake = try FakeSysfs()
        try fake.loadVFIO()
        try fake.addDevice(nvme, driver: "nvme")
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO(nvme) }
        #expect(error == .noIOMMUGroups(directory: fake.root + "/kernel/iommu_groups"))
        let text = error?.description ?? ""
        #expect(text.contains("intel_iommu=on") && text.contains("amd_iommu=on") && text.contains("iommu=pt"))
        #expect(text.contains("VT-d") && text.contains("AMD-Vi"))
        // The groups directory missing altogether is the same refusal.
        try FileManager.default.removeItem(atPath: fake.root + "/kernel")
        #expect(throws: PCIDeviceError.noIOMMUGroups(directory: fake.root + "/kernel/iommu_groups")) {
            try binder(fake).bindToVFIO(nvme)
        }
    }

    @Test func refusesDeviceWithoutGroupLink() throws {
        let fake = try readyTree()
        try fake.addDevice("0000:02:00.0", driver: "nvme")
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO("0000:02:00.0") }
        #expect(error == .deviceHasNoIOMMUGroup(try PCIAddress(parsing: "0000:02:00.0")))
        #expect(error?.description.contains("intel_iommu=on") == true)
    }

    @Test func refusesNonViableGroupNamingEachOffender() throws {
        let fake = try readyTree()
        try fake.addDevice("0000:01:00.1", classCode: 0x020000, driver: "e1000e", group: 7)
        try fake.addDevice("0000:01:00.2", classCode: 0x0c0330, driver: "xhci_hcd", group: 7)
        // What the kernel allows beside a VFIO device: unbound, vfio-pci, pci-stub, and bridges
        // (header type 1) whatever their driver.
        try fake.addDevice("0000:00:01.0", classCode: 0x060400, driver: "pcieport", group: 7)
        try fake.addDevice("0000:00:01.1", classCode: 0x060400, driver: "shpchp", group: 7)
        try fake.addDevice("0000:01:00.3", group: 7)
        try fake.addDevice("0000:01:00.4", driver: "vfio-pci", group: 7)
        try fake.addDevice("0000:01:00.5", classCode: 0x030000, driver: "pci-stub", group: 7)
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO(nvme) }
        guard case let .groupNotViable(group, offenders) = error else {
            Issue.record("expected groupNotViable, got \(String(describing: error))")
            return
        }
        #expect(group == 7)
        #expect(offenders == [.init(address: "0000:01:00.1", driver: "e1000e"),
                              .init(address: "0000:01:00.2", driver: "xhci_hcd")])
        let text = error?.description ?? ""
        #expect(text.contains("0000:01:00.1 (bound to e1000e)") && text.contains("0000:01:00.2 (bound to xhci_hcd)"))
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test func bridgesAreKnownByHeaderTypeAndOtherwiseByClass() throws {
        let fake = try readyTree()
        // A bridge whose config cannot be read is still known by its class 06 04 (or CardBus 06 07).
        try fake.addDevice("0000:00:1c.0", classCode: 0x060400, driver: "pcieport", group: 7)
        try FileManager.default.removeItem(atPath: fake.busPCI + "/devices/0000:00:1c.0/config")
        try fake.addDevice("0000:00:1c.1", classCode: 0x060700, driver: "yenta_cardbus", group: 7)
        try FileManager.default.removeItem(atPath: fake.busPCI + "/devices/0000:00:1c.1/config")
        // Config header type 1 makes a bridge even under another class code; header type 0 does not.
        try fake.addDevice("0000:00:1c.2", classCode: 0x068000, driver: "host-bridge", group: 7)
        var header = try Data(contentsOf: URL(fileURLWithPath: fake.busPCI + "/devices/0000:00:1c.2/config"))
        header[0x0E] = 0x81  // multi-function bit 7 set, type 1
        try header.write(to: URL(fileURLWithPath: fake.busPCI + "/devices/0000:00:1c.2/config"))
        try fake.addDevice("0000:00:1c.3", classCode: 0x060000, driver: "amd_smn", group: 7)
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).checkBindable(PCIAddress(parsing: nvme)) }
        #expect(error == .groupNotViable(group: 7, offenders: [.init(address: "0000:00:1c.3", driver: "amd_smn")]))
    }

    @Test func permissionDeniedOnAWriteNamesTheFileAndChangesNothing() throws {
        let fake = try readyTree()
        let overridePath = fake.busPCI + "/devices/\(nvme)/driver_override"
        let denying = SysfsWriter(write: { path, value throws(PCIDeviceError) in
            if path == overridePath { throw .permissionDenied(path: path) }
            try fake.kernelWriter().write(path, value)
        }, checkWritable: { _ in })
        let error = #expect(throws: PCIDeviceError.self) {
            try SysfsBinder(sysfsRoot: fake.root, writer: denying).bindToVFIO(nvme)
        }
        #expect(error == .permissionDenied(path: overridePath))
        #expect(error?.description.contains(overridePath) == true)
        #expect(error?.description.contains("root") == true)
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test(arguments: ["/devices/0000:01:00.0/driver_override", "/drivers/nvme/unbind", "/drivers_probe"])
    func eachFileBindingWritesIsCheckedFirst(denied: String) throws {
        let fake = try readyTree()
        let deniedPath = fake.busPCI + denied
        let log = WriteLog()
        let writer = fake.kernelWriter(log: log, checkWritable: { path throws(PCIDeviceError) in
            if path == deniedPath { throw .permissionDenied(path: path) }
        })
        let error = #expect(throws: PCIDeviceError.self) {
            try SysfsBinder(sysfsRoot: fake.root, writer: writer).bindToVFIO(nvme)
        }
        #expect(error == .permissionDenied(path: deniedPath))
        #expect(log.writes.isEmpty, "nothing is written before every file is known to be writable")
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test func aMissingAttributeIsFoundByTheCheckToo() throws {
        let fake = try readyTree()
        try FileManager.default.removeItem(atPath: fake.busPCI + "/drivers_probe")
        let log = WriteLog()
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake, log: log).bindToVFIO(nvme) }
        #expect(error == .sysfsIOFailed(path: fake.busPCI + "/drivers_probe", errno: ENOENT))
        #expect(log.writes.isEmpty)
    }

    @Test func giveBackRefusesAFunctionOnAHostDriver() throws {
        let fake = try readyTree()
        let log = WriteLog()
        let record = BindRecord(address: try PCIAddress(parsing: nvme), previousDriver: "nvme")
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake, log: log).giveBack(record) }
        #expect(error == .notBoundToVFIO(try PCIAddress(parsing: nvme), driver: "nvme"))
        let text = error?.description ?? ""
        #expect(text.contains("bound to nvme, not vfio-pci") && text.contains("refusing to unbind a host driver"))
        #expect(log.writes.isEmpty)
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test func giveBackRefusesAnUnboundFunction() throws {
        let fake = try readyTree()
        fake.unbind(nvme)
        let error = #expect(throws: PCIDeviceError.self) {
            try binder(fake).giveBack(BindRecord(address: try PCIAddress(parsing: nvme), previousDriver: "nvme"))
        }
        #expect(error == .notBoundToVFIO(try PCIAddress(parsing: nvme), driver: nil))
        #expect(error?.description.contains("bound to no driver") == true)
    }

    @Test func giveBackToAnUnloadedDriverRefusesAndKeepsVFIO() throws {
        let fake = try readyTree()
        let record = try binder(fake).bindToVFIO(nvme)
        try FileManager.default.removeItem(atPath: fake.busPCI + "/drivers/nvme")
        let log = WriteLog()
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake, log: log).giveBack(record) }
        #expect(error == .previousDriverNotLoaded(try PCIAddress(parsing: nvme), driver: "nvme",
                                                  directory: fake.busPCI + "/drivers/nvme"))
        #expect(error?.description.contains("modprobe nvme") == true)
        #expect(log.writes.isEmpty)
        #expect(fake.driver(of: nvme) == "vfio-pci")
        // Once the driver is back, the same record gives the device back.
        try fake.addDriver("nvme")
        try binder(fake).giveBack(record)
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test func giveBackOfMissingDeviceFails() throws {
        let fake = try readyTree()
        let record = BindRecord(address: try PCIAddress(parsing: "0000:09:00.0"), previousDriver: "nvme")
        #expect(throws: PCIDeviceError.deviceNotFound(try PCIAddress(parsing: "0000:09:00.0"),
                                                      sysfsDevices: fake.busPCI + "/devices")) {
            try binder(fake).giveBack(record)
        }
    }
}
