#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// Why a namespace's backing file could not be used (`MockController.open(configuration:iommu:)`):
/// names the namespace, the path, the step that failed and the system's error text.
public struct MockStorageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Namespace identifier (1-based) whose `backingFile` failed.
    public var namespaceID: UInt32
    /// The `backingFile` path as configured.
    public var path: String
    /// The step: "open", "stat", "resize".
    public var operation: String
    /// The errno of the failed call; nil when the file itself is unfit (larger than the namespace).
    public var errno: Int32?
    /// What was wrong when there is no errno, or extra context.
    public var detail: String?

    /// One line: namespace, step and path, then the errno's text and number and any detail.
    public var description: String {
        var text = "mock namespace \(namespaceID): cannot \(operation) backing file '\(path)'"
        if let errno { text += ": \(String(cString: strerror(errno))) (errno \(errno))" }
        if let detail { text += ": \(detail)" }
        return text
    }
}

/// The durable layer of a file-backed namespace: block `lba` lives at byte `lba * blockSize` of a
/// sparse file sized to the whole namespace, so never-written blocks are holes that cost no disk
/// and read as zeros. Only the storage layer's slow paths (read misses, persisting, zeroing) come
/// here; the in-memory namespaces never hold one.
///
/// A class so the descriptor is closed exactly once, when the last controller state using it goes.
final class BackingFile {
    let path: String
    let blockSize: Int
    private let descriptor: Int32
    private let logger: Logger?
    /// One block read from the file: `block(_:)` of the storage returns a pointer into it, valid
    /// until the next read, which every caller (Read, Compare, `mediaContents`) copies out first.
    private let scratch: UnsafeMutableRawPointer
    /// Bytes of zeros written at once by `zero`.
    private static let zeroRun = 1 << 20
    /// lseek whence values of Linux (and the BSDs) the Glibc module leaves out, being GNU extensions.
    private static let seekData: Int32 = 3
    private static let seekHole: Int32 = 4

    private init(path: String, blockSize: Int, descriptor: Int32, logger: Logger?) {
        self.path = path
        self.blockSize = blockSize
        self.descriptor = descriptor
        self.logger = logger
        scratch = UnsafeMutableRawPointer.allocate(byteCount: blockSize, alignment: 4096)
    }

    deinit {
        close(descriptor)
        scratch.deallocate()
    }

    /// Opens (creating it if missing) the file for `namespace` and sizes it to the namespace with
    /// ftruncate, which leaves holes. An existing smaller file grows (its data stays); a larger
    /// one is refused rather than cut, so a wrong configuration cannot destroy data.
    static func open(_ namespace: MockNamespace, path: String, namespaceID: UInt32, logger: Logger?) throws(MockStorageError) -> BackingFile {
        func failure(_ operation: String, _ code: Int32?, _ detail: String? = nil) -> MockStorageError {
            MockStorageError(namespaceID: namespaceID, path: path, operation: operation, errno: code, detail: detail)
        }
        let (bytes, overflow) = namespace.blockCount.multipliedReportingOverflow(by: UInt64(namespace.blockSize))
        guard !overflow, bytes <= UInt64(Int64.max) else {
            throw failure("resize", nil, "\(namespace.blockCount) blocks of \(namespace.blockSize) bytes exceed the largest file size")
        }
        let descriptor = openFile(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("open", errno) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            close(descriptor)
            throw failure("stat", code)
        }
        if UInt64(info.st_size) > bytes {
            close(descriptor)
            throw failure("resize", nil, "the file holds \(info.st_size) bytes, more than the namespace's \(bytes)")
        }
        if UInt64(info.st_size) < bytes, ftruncate(descriptor, off_t(bytes)) != 0 {
            let code = errno
            close(descriptor)
            throw failure("resize", code, "to \(bytes) bytes")
        }
        return BackingFile(path: path, blockSize: namespace.blockSize, descriptor: descriptor, logger: logger)
    }

    /// Block `lba` as the file holds it (holes read as zeros), in the scratch block.
    func read(_ lba: UInt64) throws(CommandFailure) -> UnsafeRawPointer {
        var done = 0
        while done < blockSize {
            let count = pread(descriptor, scratch + done, blockSize - done, offset(lba) + off_t(done))
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw failed("pread", lba, CommandFailure(.unrecoveredReadError)) }
            if count == 0 {
                // Past the end: only if someone shrank the file under us; what is missing reads as zeros.
                (scratch + done).initializeMemory(as: UInt8.self, repeating: 0, count: blockSize - done)
                break
            }
            done += count
        }
        return UnsafeRawPointer(scratch)
    }

    /// Writes `blocks` consecutive blocks from `source` at `lba`.
    func write(_ lba: UInt64, from source: UnsafeRawPointer, blocks: Int) throws(CommandFailure) {
        let total = blocks * blockSize
        var done = 0
        while done < total {
            let count = pwrite(descriptor, source + done, total - done, offset(lba) + off_t(done))
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw failed("pwrite", lba, CommandFailure(.writeFault)) }
            done += count
        }
    }

    /// Makes `count` blocks from `lba` read as zeros by writing zeros over the file's data extents
    /// in the range only: holes already read as zeros, so a huge range costs time only where data
    /// was written. Punching holes would also give back the disk space, but fallocate is a GNU
    /// extension the Glibc module does not export.
    func zero(lba: UInt64, count: UInt64) throws(CommandFailure) {
        let zeros = UnsafeMutableRawPointer.allocate(byteCount: Self.zeroRun, alignment: 4096)
        defer { zeros.deallocate() }
        zeros.initializeMemory(as: UInt8.self, repeating: 0, count: Self.zeroRun)
        try forEachDataExtent(lba: lba, count: count) { (first: UInt64, end: UInt64) throws(CommandFailure) in
            var cursor = offset(first)
            let stop = offset(end)
            while cursor < stop {
                let written = pwrite(descriptor, zeros, min(Self.zeroRun, Int(stop - cursor)), cursor)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { throw failed("pwrite", lba, CommandFailure(.writeFault)) }
                cursor += off_t(written)
            }
        }
    }

    /// Calls `body` with each run of blocks [first, end) within `count` blocks from `lba` that
    /// holds file data (SEEK_DATA/SEEK_HOLE), in order, widened to whole blocks. Holes read as zeros.
    func forEachDataExtent(lba: UInt64, count: UInt64,
                           _ body: (_ first: UInt64, _ end: UInt64) throws(CommandFailure) -> Void) throws(CommandFailure) {
        guard count > 0 else { return }
        let block = off_t(blockSize)
        let start = offset(lba)
        let end = start + off_t(count) * block
        var position = start
        while position < end {
            let data = lseek(descriptor, position, Self.seekData)
            if data < 0, errno == ENXIO { return }  // no data after `position`
            guard data >= 0 else { throw failed("lseek", lba, CommandFailure(.writeFault)) }
            if data >= end { return }
            let next = lseek(descriptor, data, Self.seekHole)
            guard next >= 0 else { throw failed("lseek", lba, CommandFailure(.writeFault)) }
            let hole = min(next, end)
            let firstBlock = UInt64(data / block)
            let endBlock = UInt64((hole + block - 1) / block)
            try body(firstBlock, endBlock)
            position = off_t(endBlock) * block
        }
    }

    /// fdatasync: what was written survives a crash of the host too, not only of the mock.
    func sync() throws(CommandFailure) {
        while fdatasync(descriptor) != 0 {
            guard errno == EINTR else { throw failed("fdatasync", nil, CommandFailure(.writeFault)) }
        }
    }

    @inline(__always)
    private func offset(_ lba: UInt64) -> off_t { off_t(lba) * off_t(blockSize) }

    /// Logs the system error (the host only sees an NVMe status) and returns `status` to throw.
    private func failed(_ call: String, _ lba: UInt64?, _ status: CommandFailure) -> CommandFailure {
        let text = String(cString: strerror(errno))
        logger?.error("mock backing file '\(path)': \(call)\(lba.map { " at LBA \($0)" } ?? "") failed: \(text)")
        return status
    }
}

/// open(2) under another name: inside `BackingFile.open` the plain name means the method itself.
private func openFile(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
