import FakeSysfs
import Foundation
import Testing
@testable import PCIDevice

/// Bind's two checks on what it takes: the function must be an NVMe controller (class 01 08 02,
/// PCI Code and ID Assignment) unless forced, and its driver must not have it in use (a disk below
/// it mounted, used as swap or held by another block device). Each refusal changes nothing.
@Suite struct SysfsBinderUsageTests {
    static let nic = "0000:00:03.0"
    let nvme = BinderFixture.nvme

    /// A virtio NIC on virtio-pci, alone in group 9: every other check passes.
    func treeWithNIC() throws -> FakeSysfs {
        let fake = try BinderFixture.readyTree()
        try fake.addDevice(Self.nic, vendor: 0x1af4, device: 0x1000, classCode: 0x020000, driver: "virtio-pci", group: 9)
        return fake
    }

    func binder(_ fake: FakeSysfs, log: WriteLog? = nil) -> SysfsBinder {
        SysfsBinder(sysfsRoot: fake.root,
                    writer: fake.kernelWriter(nativeDrivers: [nvme: "nvme", Self.nic: "virtio-pci"], log: log),
                    procRoot: fake.procRoot)
    }

    @Test func refusesANetworkControllerNamingItsClass() throws {
        let fake = try treeWithNIC()
        let log = WriteLog()
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake, log: log).bindToVFIO(Self.nic) }
        #expect(error == .notNVMe(try PCIAddress(parsing: Self.nic), classCode: 0x020000, driver: "virtio-pci"))
        let text = error?.description ?? ""
        #expect(text.contains("020000 (network controller)") && text.contains("not 010802"))
        #expect(text.contains("virtio-pci") && text.contains("--force"))
        #expect(log.writes.isEmpty)
        #expect(fake.driver(of: Self.nic) == "virtio-pci")
    }

    @Test func forceBindsANonNVMeFunction() throws {
        let fake = try treeWithNIC()
        let record = try binder(fake).bindToVFIO(Self.nic, force: true)
        #expect(record.previousDriver == "virtio-pci")
        #expect(fake.driver(of: Self.nic) == "vfio-pci")
    }

    @Test func otherNonVolatileMemoryInterfacesAreNotNVMe() throws {
        // 01 08 01 is NVMHCI and 01 08 03 an NVMe administrative controller: same subclass, other
        // programming interface, neither an NVM Express I/O controller.
        let fake = try BinderFixture.readyTree()
        try fake.addDevice("0000:02:00.0", classCode: 0x010801, driver: "nvmhci", group: 11)
        #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO("0000:02:00.0") }
        #expect(fake.driver(of: "0000:02:00.0") == "nvmhci")
    }

    @Test func refusesAControllerWithAMountedPartitionNamingIt() throws {
        let fake = try BinderFixture.readyTree()
        try fake.addBlockDevice("nvme0n1", under: nvme, at: "nvme/nvme0/nvme0n1", number: "259:0")
        try fake.addBlockDevice("nvme0n1p1", under: nvme, at: "nvme/nvme0/nvme0n1/nvme0n1p1", number: "259:1")
        try fake.writeMounts([(number: "8:1", mountPoint: "/"), (number: "259:1", mountPoint: "/srv/data")])
        let log = WriteLog()
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake, log: log).bindToVFIO(nvme) }
        guard case let .functionInUse(_, driver, users) = error else {
            Issue.record("expected functionInUse, got \(String(describing: error))")
            return
        }
        #expect(driver == "nvme")
        #expect(users == ["nvme0n1p1 (259:1) is mounted on /srv/data"])
        #expect(error?.description.contains("Unmount the file systems") == true)
        #expect(log.writes.isEmpty)
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test func refusesEvenWithForceWhenHeldOrSwappedOn() throws {
        let fake = try BinderFixture.readyTree()
        try fake.addBlockDevice("nvme0n1", under: nvme, at: "nvme/nvme0/nvme0n1", number: "259:0", holders: ["dm-0"])
        try fake.addBlockDevice("nvme0n1p2", under: nvme, at: "nvme/nvme0/nvme0n1/nvme0n1p2", number: "259:2")
        try fake.writeSwaps(["/dev/nvme0n1p2"])
        let error = #expect(throws: PCIDeviceError.self) { try binder(fake).bindToVFIO(nvme, force: true) }
        guard case let .functionInUse(_, _, users) = error else {
            Issue.record("expected functionInUse, got \(String(describing: error))")
            return
        }
        #expect(Set(users) == ["nvme0n1 is held by dm-0", "nvme0n1p2 is in use as swap"])
        #expect(fake.driver(of: nvme) == "nvme")
    }

    @Test func bindsAControllerWhoseDisksNobodyUses() throws {
        let fake = try BinderFixture.readyTree()
        try fake.addBlockDevice("nvme0n1", under: nvme, at: "nvme/nvme0/nvme0n1", number: "259:0")
        // Another controller's mounted disk is no reason to refuse this one.
        try fake.addDevice("0000:04:00.0", driver: "nvme", group: 12)
        try fake.addBlockDevice("nvme1n1", under: "0000:04:00.0", at: "nvme/nvme1/nvme1n1", number: "259:5")
        try fake.writeMounts([(number: "259:5", mountPoint: "/")])
        let record = try binder(fake).bindToVFIO(nvme)
        #expect(record.previousDriver == "nvme")
        #expect(fake.driver(of: nvme) == "vfio-pci")
    }
}
