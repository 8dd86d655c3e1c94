import Logging
import TCMUExport
import Testing
@testable import ctrlbench

/// `ctrlbench export`'s plan: which namespaces become LUNs, and what each backstore tells LIO.
@Suite struct ExportPlanTests {
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    func backstores(lunPerNamespace: Bool, geometry: MockGeometry) throws -> [Backstore] {
        let plan = ExportPlan(device: "mock", backing: nil, workers: 2, lunPerNamespace: lunPerNamespace)
        let (controller, adapter) = try plan.bringUp(geometry, logger: logger)
        defer { try? controller.stop() }
        // Two workers per exported namespace, each with its own I/O queue.
        #expect(controller.ioQueues.count >= 2 * (lunPerNamespace ? geometry.namespaces : 1))
        return plan.backstores(adapter: adapter, pid: 4242)
    }

    @Test func lunPerNamespaceExportsEveryNamespaceWithItsOwnSize() throws {
        var geometry = MockGeometry()
        geometry.namespaces = 3
        geometry.blocks = 5000
        geometry.blockSize = 4096
        let all = try backstores(lunPerNamespace: true, geometry: geometry)
        // LUN n is the n-th namespace: one backstore each, named and configured for its LUN, with
        // the namespace's capacity and block size, and the export's 8 MiB buffer per command as hw_max_sectors.
        #expect(all.map(\.lun) == [0, 1, 2])
        #expect(all.map(\.name) == ["ctrlbench_mock_lun0", "ctrlbench_mock_lun1", "ctrlbench_mock_lun2"])
        for backstore in all {
            #expect(backstore.control == "dev_config=ctrlbench/pid-4242/mock/lun\(backstore.lun),dev_size=\(5000 * 4096),"
                + "hw_max_sectors=\((8 << 20) / 4096),hw_block_size=4096")
        }
        // Without the flag, namespace 1 alone.
        let first = try backstores(lunPerNamespace: false, geometry: geometry)
        #expect(first.map(\.name) == ["ctrlbench_mock_lun0"])
    }
}
