import Foundation
import Testing
@testable import PCIDevice

/// The real writer and permission check, on files in a temporary folder.
@Suite struct SysfsWriterTests {
    static func scratchFile() throws -> String {
        let directory = NSTemporaryDirectory() + "sysfs-writer-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/driver_override"
        try "(null)\n".write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    @Test func writesTheWholeValueAndChecksAccess() throws {
        let path = try Self.scratchFile()
        try SysfsWriter.kernel.checkWritable(path)
        try SysfsWriter.kernel.write(path, "vfio-pci")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "vfio-pci")
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
        let directory = (try Self.scratchFile() as NSString).deletingLastPathComponent
        #expect(throws: PCIDeviceError.sysfsIOFailed(path: directory, errno: EISDIR)) {
            try SysfsWriter.kernel.write(directory, "x")
        }
    }

    /// Root passes every file-mode check, so a real EACCES can only be provoked without root.
    @Test(.enabled(if: geteuid() != 0, "root bypasses file permissions; the errno mapping is tested on its own"))
    func unwritableFilesArePermissionDenied() throws {
        let path = try Self.scratchFile()
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        #expect(throws: PCIDeviceError.permissionDenied(path: path)) { try SysfsWriter.kernel.checkWritable(path) }
        #expect(throws: PCIDeviceError.permissionDenied(path: path)) { try SysfsWriter.kernel.write(path, "x") }
    }
}
