import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How the binder writes a sysfs attribute. The seam exists for tests: a fake sysfs tree in a temporary
/// folder does not react to writes the way the kernel does, so a test wraps `kernel` and then plays the
/// kernel's part (creating or removing the `driver` link), or fails a write to exercise error paths.
public struct SysfsWriter: Sendable {
    /// Writes `value` to the file at `path`; must throw `PCIDeviceError` with the path named.
    public let write: @Sendable (_ path: String, _ value: String) throws(PCIDeviceError) -> Void

    public init(write: @escaping @Sendable (_ path: String, _ value: String) throws(PCIDeviceError) -> Void) {
        self.write = write
    }

    /// Opens the attribute write-only and writes the value in one `write(2)`, as the kernel expects
    /// (sysfs stores take a whole value per write). EACCES/EPERM become `permissionDenied(path)`.
    public static let kernel = SysfsWriter { path, value throws(PCIDeviceError) in
        do {
            let fd = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.truncate])
            defer { try? fd.close() }
            _ = try fd.writeAll(Array(value.utf8))
        } catch let error as Errno {
            if error == .permissionDenied || error == .notPermitted {
                throw .permissionDenied(path: path)
            }
            throw .sysfsIOFailed(path: path, errno: error.rawValue)
        } catch {
            throw .sysfsIOFailed(path: path, errno: EIO)
        }
    }
}

/// Small read-side helpers over sysfs (or a fake tree laid out like it).
enum Sysfs {
    /// The last path component a symlink points to (`driver -> ../../drivers/nvme` gives "nvme"),
    /// or nil when there is no such link.
    static func linkTargetName(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let target = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return target.split(separator: "/").last.map(String.init)
    }

    /// Whether anything (file, directory or link, even dangling) exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Whether `path` is a directory (following links, as sysfs device entries are links).
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// A small decimal attribute (`numa_node`), nil when missing or not a number.
    static func readInt(_ path: String) -> Int? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Int(text.trimmingASCIIWhitespace())
    }

    /// Names in a directory, without "." and "..", sorted; nil if it cannot be opened.
    static func entries(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
