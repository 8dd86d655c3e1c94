#if canImport(Glibc)
import Glibc
#endif

/// A configfs step that failed: the operation, the path and the system's error text.
public struct ConfigFSError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var reason: String

    public init(operation: String, path: String, reason: String) {
        self.operation = operation
        self.path = path
        self.reason = reason
    }

    public var description: String { "configfs: cannot \(operation) \(path): \(reason)" }
}

/// The configfs operations the export performs, on paths relative to the target tree's root
/// (/sys/kernel/config/target). `ConfigFSTree` does them on the real tree; the tests put a fake
/// behind the protocol that also plays the kernel's part (attribute files appearing on mkdir).
public protocol ConfigFS: Sendable {
    func exists(_ path: String) -> Bool
    func read(_ path: String) -> String?
    func write(_ path: String, _ value: String) throws(ConfigFSError)
    func makeDirectory(_ path: String) throws(ConfigFSError)
    func removeDirectory(_ path: String) throws(ConfigFSError)
    /// Makes `path` a symbolic link to the item at `target` (both relative to the root).
    func link(_ path: String, to target: String) throws(ConfigFSError)
    func unlink(_ path: String) throws(ConfigFSError)
    /// Names in a directory, sorted; empty when it is missing.
    func list(_ path: String) -> [String]
    /// Where the link at `path` points, relative to the root; nil for anything but a link into the tree.
    func linkTarget(_ path: String) -> String?
}

/// The real tree under `root` (normally /sys/kernel/config/target).
public struct ConfigFSTree: ConfigFS {
    public let root: String

    public init(root: String = "/sys/kernel/config/target") { self.root = root }

    func absolute(_ path: String) -> String { path.isEmpty ? root : root + "/" + path }

    public func exists(_ path: String) -> Bool { access(absolute(path), F_OK) == 0 }

    public func read(_ path: String) -> String? { readSmallFile(absolute(path)).map(\.trimmingWhitespace) }

    public func write(_ path: String, _ value: String) throws(ConfigFSError) {
        let full = absolute(path)
        let descriptor = open(full, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ConfigFSError(operation: "open", path: full, reason: errorText()) }
        defer { close(descriptor) }
        let bytes = Array(value.utf8)
        guard Glibc.write(descriptor, bytes, bytes.count) == bytes.count else {
            throw ConfigFSError(operation: "write '\(value)' to", path: full, reason: errorText())
        }
    }

    public func makeDirectory(_ path: String) throws(ConfigFSError) {
        guard mkdir(absolute(path), 0o755) == 0 else { throw ConfigFSError(operation: "mkdir", path: absolute(path), reason: errorText()) }
    }

    public func removeDirectory(_ path: String) throws(ConfigFSError) {
        guard rmdir(absolute(path)) == 0 else { throw ConfigFSError(operation: "rmdir", path: absolute(path), reason: errorText()) }
    }

    public func link(_ path: String, to target: String) throws(ConfigFSError) {
        guard symlink(absolute(target), absolute(path)) == 0 else {
            throw ConfigFSError(operation: "link to \(absolute(target))", path: absolute(path), reason: errorText())
        }
    }

    public func unlink(_ path: String) throws(ConfigFSError) {
        guard Glibc.unlink(absolute(path)) == 0 else { throw ConfigFSError(operation: "unlink", path: absolute(path), reason: errorText()) }
    }

    public func list(_ path: String) -> [String] {
        guard let directory = opendir(absolute(path)) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func linkTarget(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = readlink(absolute(path), &buffer, buffer.count)
        guard count > 0 else { return nil }
        var target = String(decoding: buffer[0..<count], as: UTF8.self)
        // configfs answers relative links (../../../core/user_0/NAME); resolve them against the link's folder.
        if !target.hasPrefix("/") { target = resolve(target, from: absolute(path)) }
        guard target.hasPrefix(root + "/") else { return nil }
        return String(target.dropFirst(root.count + 1))
    }

    func resolve(_ relative: String, from linkPath: String) -> String {
        var parts = linkPath.split(separator: "/").dropLast().map(String.init)
        for part in relative.split(separator: "/") {
            if part == ".." { if !parts.isEmpty { parts.removeLast() } } else if part != "." { parts.append(String(part)) }
        }
        return "/" + parts.joined(separator: "/")
    }
}
