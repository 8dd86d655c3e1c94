#if canImport(Glibc)
import Glibc
#endif

/// Why a uio device could not be opened or mapped.
public struct UIOError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed, with the path and the system's error text.
    public var description: String
}

/// A TCMU backstore's uio device (/dev/uioN): the shared map (map0, mailbox + command ring + data
/// area) and the kick in both directions: the kernel's as a 4-byte read, ours as a 4-byte write.
public final class UIODevice: RingDoorbell {
    /// The device node, e.g. /dev/uio0.
    public let path: String
    /// The whole map.
    public let map: SharedMap
    private let descriptor: Int32

    /// Opens `path` and maps its map 0, whose size sysfs gives at `sizePath`
    /// (/sys/class/uio/uioN/maps/map0/size, hexadecimal).
    public init(path: String, sizePath: String) throws(UIOError) {
        guard let text = readSmallFile(sizePath) else {
            throw UIOError(description: "cannot read the map size of \(path) from \(sizePath): \(errorText())")
        }
        let trimmed = text.trimmingWhitespace.lowercased()
        let digits = trimmed.hasPrefix("0x") ? String(trimmed.dropFirst(2)) : trimmed
        guard let size = Int(digits, radix: 16), size > 0 else {
            throw UIOError(description: "\(sizePath) holds '\(trimmed)', not a map size")
        }
        let descriptor = open(path, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw UIOError(description: "cannot open \(path): \(errorText()); run as root, and check that no other handler holds it")
        }
        // Map N is at offset N pages (uio's convention); the TCMU map is map 0.
        guard let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0),
              address != UnsafeMutableRawPointer(bitPattern: -1) else {
            let text = errorText()
            close(descriptor)
            throw UIOError(description: "cannot map \(size) bytes of \(path): \(text)")
        }
        self.path = path
        self.descriptor = descriptor
        map = SharedMap(UnsafeMutableRawBufferPointer(start: address, count: size))
    }

    deinit {
        munmap(map.bytes.baseAddress, map.bytes.count)
        close(descriptor)
    }

    public func waitForKick(milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, milliseconds) > 0, entry.revents & Int16(POLLIN) != 0 else { return false }
        var events: UInt32 = 0
        return read(descriptor, &events, 4) == 4
    }

    /// The uio fd: it polls readable while an event (a kick) has not been read.
    public var kickDescriptor: Int32 { descriptor }

    public func kick() {
        var value: UInt32 = 0
        _ = write(descriptor, &value, 4)
    }
}

func errorText() -> String { String(cString: strerror(errno)) }

/// The contents of a small (sysfs or configfs) file, or nil.
func readSmallFile(_ path: String) -> String? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var bytes = [UInt8](repeating: 0, count: 4096)
    let count = read(descriptor, &bytes, bytes.count)
    guard count >= 0 else { return nil }
    return String(decoding: bytes[0..<count], as: UTF8.self)
}

extension String {
    var trimmingWhitespace: String {
        var view = Substring(self)
        while let last = view.last, last.isWhitespace { view.removeLast() }
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        return String(view)
    }
}
