import Foundation
import Synchronization
@testable import TCMUExport

/// A LIO configfs tree in a temporary folder that plays the kernel's part the export relies on:
/// mkdir of a backstore, portal group or LUN makes its attribute files and default folders;
/// writing a backstore's control sets its attrib/dev_config; enabling it adds its uio device to a
/// fake sysfs; rmdir removes attribute files and default folders itself and refuses a folder that
/// still holds links or folders the user made (as configfs does). Every call is logged in order.
final class FakeConfigFS: ConfigFS, @unchecked Sendable {
    let root: String
    let sysfs: String
    private let state = Mutex<(log: [String], made: Set<String>, uioCount: Int)>(([], [], 0))

    init() throws {
        let base = NSTemporaryDirectory() + "fake-configfs-" + UUID().uuidString
        root = base + "/target"
        sysfs = base + "/sys"
        try FileManager.default.createDirectory(atPath: root + "/core", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: sysfs + "/class/uio", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: String(root.dropLast("/target".count))) }

    var log: [String] { state.withLock { $0.log } }
    func full(_ path: String) -> String { root + "/" + path }
    private func record(_ line: String) { state.withLock { $0.log.append(line) } }

    /// Every path in the tree (links shown with their target), for comparing before and after.
    func snapshot() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var items: [String] = []
        while let item = enumerator?.nextObject() as? String {
            let target = try? FileManager.default.destinationOfSymbolicLink(atPath: full(item))
            items.append(target.map { "\(item) -> \($0)" } ?? item)
        }
        return items.sorted()
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: full(path)) }
    func read(_ path: String) -> String? { (try? String(contentsOfFile: full(path), encoding: .utf8))?.trimmingWhitespace }

    func write(_ path: String, _ value: String) throws(ConfigFSError) {
        record("write \(path) \(value)")
        guard FileManager.default.fileExists(atPath: full(path)) else {
            throw ConfigFSError(operation: "open", path: full(path), reason: "No such file or directory")
        }
        try? value.write(toFile: full(path), atomically: false, encoding: .utf8)
        let folder = (path as NSString).deletingLastPathComponent
        if path.hasSuffix("/control"), let range = value.range(of: "dev_config=") {
            let config = value[range.upperBound...].prefix { $0 != "," }
            try? String(config).write(toFile: full(folder + "/attrib/dev_config"), atomically: false, encoding: .utf8)
        }
        if path.hasPrefix("core/"), path.hasSuffix("/enable"), value == "1" {
            let parts = folder.split(separator: "/")
            let config = read(folder + "/attrib/dev_config") ?? ""
            let index = state.withLock { state -> Int in
                defer { state.uioCount += 1 }
                return state.uioCount
            }
            let device = sysfs + "/class/uio/uio\(index)"
            try? FileManager.default.createDirectory(atPath: device + "/maps/map0", withIntermediateDirectories: true)
            try? "tcm-user/\(parts[1].dropFirst(5))/\(parts[2])/\(config)\n".write(toFile: device + "/name", atomically: false, encoding: .utf8)
            try? "0x40900000\n".write(toFile: device + "/maps/map0/size", atomically: false, encoding: .utf8)
        }
    }

    func makeDirectory(_ path: String) throws(ConfigFSError) {
        record("mkdir \(path)")
        do { try FileManager.default.createDirectory(atPath: full(path), withIntermediateDirectories: false) } catch {
            throw ConfigFSError(operation: "mkdir", path: full(path), reason: "\(error)")
        }
        state.withLock { _ = $0.made.insert(path) }
        let parts = path.split(separator: "/")
        var files: [String] = [], folders: [String] = []
        if parts.count == 1 {
            // A fabric module's folder (loopback, iscsi) comes with its own items, as on Linux.
            folders = ["discovery_auth"]
            files = ["version"]
        } else if parts.count == 2, parts[0] == "core" {
            files = ["hba_info", "hba_mode"]
        } else if parts.count == 3, parts[0] == "core" {
            files = ["control", "enable", "attrib/dev_config"]
            folders = ["attrib"]
        } else if parts.count == 3, parts[2].hasPrefix("tpgt_") {
            folders = ["lun", "np", "attrib"]
            files = parts[0] == "loopback" ? ["nexus"]
                : ["enable", "attrib/authentication", "attrib/generate_node_acls", "attrib/demo_mode_write_protect", "attrib/cache_dynamic_acls"]
        }
        for folder in folders { try? FileManager.default.createDirectory(atPath: full(path + "/" + folder), withIntermediateDirectories: true) }
        for file in files { _ = FileManager.default.createFile(atPath: full(path + "/" + file), contents: nil) }
    }

    func removeDirectory(_ path: String) throws(ConfigFSError) {
        record("rmdir \(path)")
        let made = state.withLock { $0.made }
        let refused = ConfigFSError(operation: "rmdir", path: full(path), reason: "Directory not empty")
        // Anything the user made inside (a folder or a link) keeps the folder.
        if let enumerator = FileManager.default.enumerator(atPath: full(path)) {
            while let item = enumerator.nextObject() as? String {
                let child = path + "/" + item
                if made.contains(child) || (try? FileManager.default.destinationOfSymbolicLink(atPath: full(child))) != nil { throw refused }
            }
        }
        do { try FileManager.default.removeItem(atPath: full(path)) } catch {
            throw ConfigFSError(operation: "rmdir", path: full(path), reason: "\(error)")
        }
        state.withLock { _ = $0.made.remove(path) }
    }

    func link(_ path: String, to target: String) throws(ConfigFSError) {
        record("link \(path) -> \(target)")
        do { try FileManager.default.createSymbolicLink(atPath: full(path), withDestinationPath: full(target)) } catch {
            throw ConfigFSError(operation: "link", path: full(path), reason: "\(error)")
        }
    }

    func unlink(_ path: String) throws(ConfigFSError) {
        record("unlink \(path)")
        do { try FileManager.default.removeItem(atPath: full(path)) } catch {
            throw ConfigFSError(operation: "unlink", path: full(path), reason: "\(error)")
        }
    }

    func list(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: full(path))) ?? []).sorted() }

    func linkTarget(_ path: String) -> String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: full(path)), target.hasPrefix(root + "/") else { return nil }
        return String(target.dropFirst(root.count + 1))
    }
}
