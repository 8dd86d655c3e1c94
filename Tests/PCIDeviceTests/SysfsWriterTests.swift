import Foundation
import Testing
@testable import PCIDevice

/// The real writer and permission check, on files in a temporary folder.
@Suite struct SysfsWriterTests {
    @Test func writesTheWholeValueAndChecksAccess() throws {
        try ScratchDirectory.use("sysfs-writer") { scratch in
            let path = try scratch.file("driver_override", "(null)\n")
            try SysfsWriter.kernel.checkWritable(path)
            try SysfsWriter.kernel.write(path, "vfio-pci")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "vfio-pci")
        }
    }

    @Test func errnoMapsToTheErrorThatNamesTheFix() {
        let path = "/sys/bus/pci/drivers_probe"
        #expect(SysfsWriter.failure(for: EACCES, path: path) == .permissionDenied(path: path))
        #expect(SysfsWriter.failure(for: EPERM, path: path) == .permissionDenied(path: path))
        #expect(SysfsWriter.failure(for: EROFS, path: path) == .sysfsIOFailed(path: path, errno: EROFS))
        #expect(SysfsWriter.failure(for: ENODEV, path: path) == .sysfsIOFailed(path: path, errno: ENODEV))
        #expect(PCIDeviceError.permissionDenied(path: path).description.contains("Run as root"))
    }

    @Test func missingFilesAreIOFailuresNamingThePath() {
        let missing = "/nonexistent-dir/driver_override"
        #expect(throws: PCIDeviceError.sysfsIOFailed(path: missing, errno: ENOENT)) { try SysfsWriter.kernel.write(missing, "x") }
        #expect(throws: PCIDeviceError.sysfsIOFailed(path: missing, errno: ENOENT)) { try SysfsWriter.kernel.checkWritable(missing) }
    }

    @Test func aDirectoryCannotBeWrittenEvenByRoot() throws {
        try ScratchDirectory.use("sysfs-writer") { scratch in
            #expect(throws: PCIDeviceError.sysfsIOFailed(path: scratch.path, errno: EISDIR)) {
                try SysfsWriter.kernel.write(scratch.path, "x")
            }
        }
    }

    /// Root passes every file-mode check, so a real EACCES can only be provoked without root.
    @Test(.enabled(if: geteuid() != 0, "root bypasses file permissions; the errno mapping is tested on its own"))
    func unwritableFilesArePermissionDenied() throws {
        try ScratchDirectory.use("sysfs-writer") { scratch in
            let path = try scratch.file("driver_override", "(null)\n")
            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
            #expect(throws: PCIDeviceError.permissionDenied(path: path)) { try SysfsWriter.kernel.checkWritable(path) }
            #expect(throws: PCIDeviceError.permissionDenied(path: path)) { try SysfsWriter.kernel.write(path, "x") }
        }
    }
}
