import FakeSysfs
import Testing
@testable import ctrlbench

/// `ctrlbench bind` on a function that is not NVMe or is in use: refused with exit status 1, the
/// class code or the user named, nothing rebound; `--force` passes the class check only.
@Suite struct BindChecksCommandTests {
    static let nic = "0000:00:03.0"
    static let nvme = "0000:01:00.0"

    static func machine() throws -> FakeSysfs {
        try FakeSysfs([
            .init(address: nic, vendor: 0x1af4, device: 0x1000, classCode: 0x020000, driver: "virtio-pci", group: 3),
            .init(address: nvme, vendor: 0x144d, device: 0xa808, classCode: 0x010802, driver: "nvme", group: 7),
        ])
    }

    @Test func aVirtioNICIsRefused() throws {
        let tree = try Self.machine()
        let run = Invocation(["bind", Self.nic, "--sysfs-root", tree.root, "--proc-root", tree.procRoot])
        #expect(run.exitCode == 1)
        #expect(run.text.contains("0000:00:03.0 is not an NVMe controller: its class code is 020000 (network controller)"))
        #expect(tree.driver(of: Self.nic) == "virtio-pci")
        #expect(tree.override(of: Self.nic) == nil)
    }

    @Test func forceGetsPastTheClassCheck() throws {
        // The fake tree does not play the kernel, so the unbind write has no effect and the binder
        // reports that: proof that the class check let it through to the writes.
        let tree = try Self.machine()
        let run = Invocation(["bind", Self.nic, "--force", "--sysfs-root", tree.root, "--proc-root", tree.procRoot])
        #expect(run.exitCode == 1)
        #expect(run.text.contains("After writing \(tree.root)/bus/pci/drivers/virtio-pci/unbind"))
        #expect(tree.driver(of: Self.nic) == "virtio-pci")
    }

    @Test func aControllerWithAMountedFileSystemIsRefused() throws {
        let tree = try Self.machine()
        try tree.addBlockDevice("nvme0n1", under: Self.nvme, at: "nvme/nvme0/nvme0n1", number: "259:0")
        try tree.writeMounts([(number: "259:0", mountPoint: "/home")])
        let run = Invocation(["bind", Self.nvme, "--force", "--sysfs-root", tree.root, "--proc-root", tree.procRoot])
        #expect(run.exitCode == 1)
        #expect(run.text.contains("0000:01:00.0 is in use through nvme: nvme0n1 (259:0) is mounted on /home"))
        #expect(tree.driver(of: Self.nvme) == "nvme")
        #expect(tree.override(of: Self.nvme) == nil)
    }
}
