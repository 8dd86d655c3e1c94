import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How the binder writes sysfs attributes, and checks it may before it starts. The seam exists for
/// tests: a fake sysfs tree in a temporary folder does not react to writes the way the kernel does,
/// so a test wraps `kernel` and then plays the kernel's part (creating or removing the `driver`
/// link, refusing a bind with EBUSY), or fails a write or a check to exercise error paths.
public struct SysfsWriter: Sendable {
    /// Writes `value` to the file at `path`; must throw `PCIDeviceError` with the path named.
    public let write: @Sendable (_ path: String, _ value: String) throws(PCIDeviceError) -> Void
    /// Throws the error a write to `path` would meet for lack of permission (or a missing file),
    /// without writing: `permissionDenied(path)` when the caller may not write it.
    public let checkWritable: @Sendable (_ path: String) throws(PCIDeviceError) -> Void

    /// A writer from its two operations; the check defaults to the kernel's `access(2)`.
    public init(write: @escaping @Sendable (_ path: String, _ value: String) throws(PCIDeviceError) -> Void,
                checkWritable: @escaping @Sendable (_ path: String) throws(PCIDeviceError) -> Void = SysfsWriter.accessCheck) {
        self.write = write
        self.checkWritable = checkWritable
    }

    /// Opens the attribute write-only and writes the value in one `write(2)`, as the kernel expects
    /// (sysfs stores take a whole value per write); checks with `access(W_OK)`.
    public static let kernel = SysfsWriter(write: { path, value throws(PCIDeviceError) in
        do {
            let fd = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.truncate])
            defer { try? fd.close() }
            _ = try fd.writeAll(Array(value.utf8))
        } catch let error as Errno {
            throw SysfsWriter.failure(for: error.rawValue, path: path)
        } catch {
            throw .sysfsIOFailed(path: path, errno: EIO)
        }
    })

    /// `access(path, W_OK)`: what the kernel would say to a writer with this process's credentials.
    public static let accessCheck: @Sendable (_ path: String) throws(PCIDeviceError) -> Void = { path throws(PCIDeviceError) in
        guard access(path, W_OK) == 0 else { throw SysfsWriter.failure(for: errno, path: path) }
    }

    /// The error for a failed open, write or access of `path`: EACCES and EPERM are a missing
    /// permission (named with the file, so the fix is clear); anything else is an I/O failure.
    public static func failure(for code: Int32, path: String) -> PCIDeviceError {
        code == EACCES || code == EPERM ? .permissionDenied(path: path) : .sysfsIOFailed(path: path, errno: code)
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

    /// The first line of a small attribute, trimmed; nil when it cannot be read.
    static func readLine(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 128)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingASCIIWhitespace()
    }

    /// A small decimal attribute (`numa_node`), nil when missing or not a number.
    static func readInt(_ path: String) -> Int? {
        readLine(path).flatMap { Int($0) }
    }

    /// A `0x`-prefixed hexadecimal attribute (`class`, `vendor`), nil when missing or malformed.
    static func readHex(_ path: String) -> UInt32? {
        guard let text = readLine(path), text.hasPrefix("0x") else { return nil }
        return UInt32(text.dropFirst(2), radix: 16)
    }

    /// The byte at `offset` of a binary attribute (`config`), nil when it cannot be read.
    static func readByte(_ path: String, at offset: Int) -> UInt8? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var byte: UInt8 = 0
        return pread(fd, &byte, 1, off_t(offset)) == 1 ? byte : nil
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
