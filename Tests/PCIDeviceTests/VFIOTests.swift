import Foundation
import SystemPackage
import Testing
@testable import PCIDevice

/// VFIO without hardware: every entry point must throw an explained error whatever the machine
/// has, so the paths are built in temporary folders rather than taken from /dev.
@Suite struct VFIOTests {
    @Test func containerWithoutItsDeviceFileExplainsTheFix() throws {
        try ScratchDirectory.use("vfio-test") { scratch in
            let path = scratch.path + "/vfio"
            let error = #expect(throws: PCIDeviceError.self) { try VFIOContainer(path: path) }
            #expect(error == .vfioUnavailable(path: path))
            let text = error?.description ?? ""
            #expect(text.contains(path) && text.contains("modprobe vfio-pci") && text.contains("IOMMU"))
            #expect(text.contains("intel_iommu=on") && text.contains("ctrlbench bind"))
        }
    }

    @Test func deviceOpenWithoutDevVFIOExplainsTheFix() throws {
        try ScratchDirectory.use("vfio-test") { scratch in
            let directory = scratch.path + "/dev-vfio"
            let error = #expect(throws: PCIDeviceError.self) {
                try VFIODevice.open(PCIAddress(parsing: "0000:00:00.0"), vfioDirectory: directory)
            }
            #expect(error == .vfioUnavailable(path: directory + "/vfio"))
        }
    }

    @Test func containerOnANonVFIOFileFailsCleanly() throws {
        try ScratchDirectory.use("vfio-test") { scratch in
            let path = try scratch.file("not-vfio")
            let error = #expect(throws: PCIDeviceError.self) { try VFIOContainer(path: path) }
            #expect(error == .vfioCallFailed(call: "VFIO_GET_API_VERSION on \(path)", errno: ENOTTY))
            #expect(error?.description.contains("VFIO_GET_API_VERSION") == true)
        }
    }

    @Test func openErrorsMapToTheirFix() {
        let path = "/dev/vfio/7"
        #expect(VFIOFile.failure(for: .permissionDenied, path: path) == .permissionDenied(path: path))
        #expect(VFIOFile.failure(for: .notPermitted, path: path) == .permissionDenied(path: path))
        #expect(VFIOFile.failure(for: .noSuchFileOrDirectory, path: path) == .vfioUnavailable(path: path))
        #expect(VFIOFile.failure(for: .resourceBusy, path: path) == .vfioCallFailed(call: "open \(path)", errno: EBUSY))
        #expect(PCIDeviceError.permissionDenied(path: path).description.contains(path))
    }

    /// Root passes every file-mode check, so a real EACCES can only be provoked without root.
    @Test(.enabled(if: geteuid() != 0, "root bypasses file permissions; the errno mapping is tested on its own"))
    func containerPermissionDeniedNamesTheFile() throws {
        try ScratchDirectory.use("vfio-test") { scratch in
            let path = try scratch.file("vfio")
            try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: path)
            let error = #expect(throws: PCIDeviceError.self) { try VFIOContainer(path: path) }
            #expect(error == .permissionDenied(path: path))
        }
    }
}
