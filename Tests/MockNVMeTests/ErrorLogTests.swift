import DMAMapper
import MockNVMe
import NVMe
import Testing

/// The Error Information log page (NVMe Base 2.0, "Error Information Log Entry"): each 64-byte
/// entry must locate a failed I/O command by namespace and LBA.
@Suite("Error Information log")
struct ErrorLogTests {
    /// The newest entry of the log, read back through Get Log Page like a host would.
    /// Copied out, as the DMA buffer is unmapped when it goes.
    static func newestEntry(_ harness: Harness) throws -> [UInt8] {
        let buffer = try harness.allocate(4096)
        #expect(try harness.execute(.getLogPage(.errorInformation, byteCount: 64), buffer: buffer).status.isSuccess)
        return Array(UnsafeRawBufferPointer(start: buffer.address, count: 64))
    }

    static func field<T: FixedWidthInteger>(_ entry: [UInt8], _ offset: Int, _: T.Type) -> T {
        entry.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    @Test func failedReadRecordsLBAAndNamespace() throws {
        let harness = try Harness()
        try harness.createQueuePair(1)
        harness.controller.inject(.failCommands(.io(.read, lbaRange: 1234...1234), status: CompletionStatus(.unrecoveredReadError)))
        let buffer = try harness.allocate(4096)
        let completion = harness.execute(.io(.read, nsid: 1, lba: 1234, blocks: 2), buffer: buffer, qid: 1)
        #expect(completion.status.matches(.unrecoveredReadError))

        let entry = try Self.newestEntry(harness)
        #expect(Self.field(entry, 0, UInt64.self) == 1)  // Error Count
        #expect(Self.field(entry, 8, UInt16.self) == 1)  // SQID
        #expect(Self.field(entry, 10, UInt16.self) == completion.commandID)
        #expect(CompletionStatus(rawValue: Self.field(entry, 12, UInt16.self) >> 1).matches(.unrecoveredReadError))
        #expect(Self.field(entry, 14, UInt16.self) == 0xFFFF)  // Parameter Error Location: n/a
        #expect(Self.field(entry, 16, UInt64.self) == 1234)
        #expect(Self.field(entry, 24, UInt32.self) == 1)
    }

    @Test func outOfRangeWriteOnSecondNamespace() throws {
        var configuration = MockConfiguration()
        configuration.namespaces = [MockNamespace(blockCount: 1024), MockNamespace(blockCount: 100)]
        let harness = try Harness(configuration)
        try harness.createQueuePair(1)
        #expect(try harness.writePattern(nsid: 2, lba: 99, blocks: 2, seed: 1).0.matches(.lbaOutOfRange))
        let entry = try Self.newestEntry(harness)
        #expect(Self.field(entry, 16, UInt64.self) == 99)
        #expect(Self.field(entry, 24, UInt32.self) == 2)
    }

    @Test func failedFlushNamesNamespaceButNoLBA() throws {
        let harness = try Harness()
        try harness.createQueuePair(1)
        harness.controller.inject(.failCommands(.io(.flush), status: CompletionStatus(.internalError)))
        #expect(harness.execute(.flush(nsid: 1), qid: 1).status.matches(.internalError))
        let entry = try Self.newestEntry(harness)
        #expect(Self.field(entry, 16, UInt64.self) == 0)
        #expect(Self.field(entry, 24, UInt32.self) == 1)
    }
}
