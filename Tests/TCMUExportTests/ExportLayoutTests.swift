import Foundation
import Synchronization
import Testing
@testable import TCMUExport

@Suite struct ExportLayoutTests {
    func backstore(pid: Int32 = 4242, lun: UInt64 = 0) -> Backstore {
        Backstore(name: Backstore.name(device: "mock", lun: lun), lun: lun, sizeBytes: 1 << 30, blockSize: 512,
                  maximumSectors: 2048, pid: pid, device: "mock")
    }

    @Test func theBackstoreIsConfiguredThroughControlThenEnabled() throws {
        let configfs = try FakeConfigFS()
        let layout = ExportLayout(configfs: configfs, backstores: [backstore()], fabrics: [])
        try layout.createBackstores()
        #expect(configfs.log == [
            "mkdir core/user_0",
            "mkdir core/user_0/ctrlbench_mock_lun0",
            "write core/user_0/ctrlbench_mock_lun0/control dev_config=ctrlbench/pid-4242/mock/lun0,dev_size=1073741824,hw_max_sectors=2048,hw_block_size=512",
            "write core/user_0/ctrlbench_mock_lun0/enable 1",
        ])
        // The kernel names the uio device tcm-user/HBA/NAME/DEV_CONFIG; the export finds it by that name.
        #expect(findUIO(named: backstore().uioName, sysfsRoot: configfs.sysfs) == "uio0")
        #expect(findUIO(named: "tcm-user/0/other/x", sysfsRoot: configfs.sysfs) == nil)
    }

    @Test func loopbackWritesTheNexusBeforeLinkingAndTearDownLeavesTheTreeAsFound() throws {
        let configfs = try FakeConfigFS()
        let before = configfs.snapshot()
        let stores = [backstore(lun: 0), backstore(lun: 1)]
        let fabric = Fabric.loopback(for: "ctrlbench_mock")
        let layout = ExportLayout(configfs: configfs, backstores: stores, fabrics: [fabric])
        try layout.createBackstores()
        try layout.createFabrics()
        let log = configfs.log
        let nexus = try #require(log.firstIndex { $0.hasPrefix("write \(fabric.tpgPath)/nexus naa.5") })
        let firstLink = try #require(log.firstIndex { $0.hasPrefix("link ") })
        #expect(nexus < firstLink, "tcm_loop scans only LUNs linked after the nexus exists")
        #expect(configfs.linkTarget("\(fabric.tpgPath)/lun/lun_1/ctrlbench_mock_lun1") == "core/user_0/ctrlbench_mock_lun1")
        #expect(configfs.snapshot() != before)

        let teardownStart = configfs.log.count
        try layout.removeFabrics()
        try layout.removeBackstores()
        let teardown = Array(configfs.log[teardownStart...])
        let lastUnlink = try #require(teardown.lastIndex { $0.hasPrefix("unlink ") })
        let firstBackstoreRemoval = try #require(teardown.firstIndex { $0.hasPrefix("rmdir core/") })
        #expect(lastUnlink < firstBackstoreRemoval, "the fabric goes before the backstore it links")
        #expect(configfs.snapshot() == before)
    }

    @Test func iscsiGetsAPortalDemoModeAndNoAuthenticationThenIsEnabled() throws {
        let configfs = try FakeConfigFS()
        let before = configfs.snapshot()
        let fabric = Fabric.iscsi(for: "ctrlbench_mock", portal: "127.0.0.1:3260")
        #expect(fabric.tpgPath == "iscsi/iqn.2026-12.org.swiftnvme:ctrlbench-mock/tpgt_1")
        let layout = ExportLayout(configfs: configfs, backstores: [backstore()], fabrics: [fabric])
        try layout.createBackstores()
        try layout.createFabrics()
        let tpg = fabric.tpgPath
        #expect(configfs.exists(tpg + "/np/127.0.0.1:3260"))
        #expect(configfs.read(tpg + "/attrib/authentication") == "0")
        #expect(configfs.read(tpg + "/attrib/generate_node_acls") == "1")
        #expect(configfs.read(tpg + "/attrib/demo_mode_write_protect") == "0")
        let log = configfs.log
        #expect(log.last == "write \(tpg)/enable 1", "the portal group is enabled once its LUN is linked")
        try layout.removeFabrics()
        try layout.removeBackstores()
        #expect(configfs.snapshot() == before)
    }

    @Test func anHBAFolderThatExistedIsKept() throws {
        let configfs = try FakeConfigFS()
        try configfs.makeDirectory("core/user_0")
        let before = configfs.snapshot()
        let layout = ExportLayout(configfs: configfs, backstores: [backstore()], fabrics: [.loopback(for: "ctrlbench_mock")])
        try layout.createBackstores()
        try layout.createFabrics()
        try layout.removeFabrics()
        try layout.removeBackstores()
        #expect(configfs.snapshot() == before)
    }

    @Test func aKilledRunsBackstoreAndFabricsAreRemovedAndOnlyThose() throws {
        let configfs = try FakeConfigFS()
        // Someone else's backstore and loopback target, which must survive.
        try configfs.makeDirectory("core/user_0")
        try configfs.makeDirectory("core/user_0/theirs")
        try configfs.write("core/user_0/theirs/control", "dev_config=tcmu-runner/file//img,dev_size=4096")
        try configfs.makeDirectory("loopback")
        try configfs.makeDirectory("loopback/naa.5001405000000001")
        try configfs.makeDirectory("loopback/naa.5001405000000001/tpgt_1")
        try configfs.makeDirectory("loopback/naa.5001405000000001/tpgt_1/lun/lun_0")
        try configfs.link("loopback/naa.5001405000000001/tpgt_1/lun/lun_0/theirs", to: "core/user_0/theirs")
        let before = configfs.snapshot()

        let stale = backstore(pid: 777)
        let layout = ExportLayout(configfs: configfs, backstores: [stale],
                                  fabrics: [.loopback(for: "ctrlbench_mock"), .iscsi(for: "ctrlbench_mock", portal: "0.0.0.0:3260")])
        try layout.createBackstores()
        try layout.createFabrics()
        // A live owner keeps it.
        #expect(try ExportLayout.removeStale(in: configfs, isAlive: { _ in true }).isEmpty)
        // Process 777 is gone: everything it made goes (the iscsi folder it made too), the rest stays.
        // (what, how many configfs calls had been made by then)
        let events = Mutex<[(String, Int)]>([])
        let removed = try ExportLayout.removeStale(in: configfs, isAlive: { $0 != 777 }, whileUnlinking: { path, devConfig in
            events.withLock { $0.append(("answer \(path) \(devConfig)", configfs.log.count)) }
            return { events.withLock { $0.append(("stop", configfs.log.count)) } }
        })
        // The dead ring is answered from before its first LUN is unlinked until its backstore is gone.
        let log = configfs.log
        let recorded = events.withLock { $0 }
        #expect(recorded.map(\.0) == ["answer core/user_0/ctrlbench_mock_lun0 ctrlbench/pid-777/mock/lun0", "stop"])
        let firstUnlink = try #require(log.firstIndex { $0.hasPrefix("unlink ") && $0.contains("ctrlbench_mock_lun0") })
        let backstoreRemoval = try #require(log.firstIndex { $0 == "rmdir core/user_0/ctrlbench_mock_lun0" })
        #expect(recorded.count == 2 && recorded[0].1 <= firstUnlink && recorded[1].1 > backstoreRemoval)
        #expect(removed.contains("stale backstore core/user_0/ctrlbench_mock_lun0 (process 777 is gone)"))
        #expect(configfs.snapshot() == before)
    }

    @Test func missingPrerequisitesAreNamedWithTheirFix() throws {
        let base = NSTemporaryDirectory() + "prereq-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: base) }
        var paths = SystemPaths()
        paths.sysfs = base + "/sys"
        paths.configfs = base + "/config/target"
        paths.mounts = base + "/mounts"
        paths.reservations = base + "/etc/target/pr"
        try FileManager.default.createDirectory(atPath: paths.sysfs + "/module/uio", withIntermediateDirectories: true)
        try "proc /proc proc rw 0 0\n".write(toFile: paths.mounts, atomically: false, encoding: .utf8)
        let missing = missingPrerequisites(paths: paths, loopback: true, iscsi: false)
        #expect(missing.map(\.fix) == [
            "modprobe target_core_mod", "modprobe target_core_user", "modprobe tcm_loop",
            "mount -t configfs none \(base)/config",
            "mkdir -p \(paths.reservations), then reload target_core_mod (it looks for the folder when it loads)",
        ])
        for module in ["target_core_mod", "target_core_user", "tcm_loop", "iscsi_target_mod"] {
            try FileManager.default.createDirectory(atPath: paths.sysfs + "/module/" + module, withIntermediateDirectories: true)
        }
        try "configfs \(base)/config configfs rw 0 0\n".write(toFile: paths.mounts, atomically: false, encoding: .utf8)
        #expect(missingPrerequisites(paths: paths, loopback: true, iscsi: true).map(\.fix).first == "modprobe target_core_mod",
                "configfs mounted without LIO's tree")
        try FileManager.default.createDirectory(atPath: paths.configfs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: paths.reservations, withIntermediateDirectories: true)
        #expect(missingPrerequisites(paths: paths, loopback: true, iscsi: true).isEmpty)
    }
}
