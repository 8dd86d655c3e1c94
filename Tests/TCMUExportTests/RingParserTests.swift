import RingSupport
import Testing
@testable import TCMUExport

@Suite struct RingParserTests {
    let inquiry: [UInt8] = [0x12, 0, 0, 0, 36, 0]

    func parse(_ image: RingImage, at position: Int = 0, capacity: Int = 1 << 20,
               iovecCapacity: Int = 16) throws -> (RingEntry, ParsedCommand) {
        image.publishHead()
        let parser = try RingParser(map: image.map)
        let command = ParsedCommand(iovecCapacity: iovecCapacity, transferCapacity: capacity)
        return (try parser.entry(at: position, head: try parser.head(), into: command), command)
    }

    @Test func mailboxFactsAreRead() throws {
        let image = RingImage(ringSize: 8192)
        let geometry = try RingGeometry(map: UnsafeRawBufferPointer(image.bytes))
        #expect(geometry.commandRingOffset == 128 && geometry.commandRingSize == 8192)
        #expect(geometry.dataAreaOffset == 128 + 8192)
        #expect(geometry.capabilities.contains(.outOfOrderCompletion) && geometry.capabilities.contains(.readLength))
    }

    @Test func otherMailboxVersionsAndMisplacedRingsAreRefused() {
        let older = RingImage(version: 1)
        #expect(throws: RingError.unsupportedVersion(1)) { try RingGeometry(map: UnsafeRawBufferPointer(older.bytes)) }
        withExtendedLifetime(older) {}
        let image = RingImage(ringSize: 4096, dataSize: 0)
        image.put(UInt32(8192), at: 8)
        #expect(throws: RingError.badCommandRing(offset: 128, size: 8192, mapSize: 128 + 4096)) {
            try RingGeometry(map: UnsafeRawBufferPointer(image.bytes))
        }
        image.put(UInt32(4096), at: 8)
        image.put(UInt32(100), at: 4)
        #expect(throws: (any Error).self) { try RingGeometry(map: UnsafeRawBufferPointer(image.bytes)) }
    }

    @Test func aCommandsCDBAndIovecsAreCopiedOut() throws {
        let image = RingImage()
        let first = image.data(4096), second = image.data(512)
        image.command(id: 7, cdb: [0x28, 0, 0, 0, 0, 8, 0, 0, 9, 0], iovecs: [(first, 4096), (second, 512)])
        let (entry, command) = try parse(image)
        #expect(entry == .command(length: 112 + 16))
        #expect(command.id == 7)
        #expect(command.cdb == [0x28, 0, 0, 0, 0, 8, 0, 0, 9, 0])
        #expect(Array(command.iovecs) == [IOVector(offset: first, length: 4096), IOVector(offset: second, length: 512)])
        #expect(command.transferLength == 4608)
    }

    @Test(arguments: [(UInt8(0x00), 6), (0x28, 10), (0x5A, 10), (0xA0, 12), (0x88, 16), (0xA8, 12), (0xC0, 10)])
    func cdbLengthFollowsTheGroupCode(opcode: UInt8, length: Int) throws {
        let image = RingImage()
        image.command(id: 1, cdb: [opcode] + Array(repeating: 0xEE, count: 31), iovecs: [])
        let (_, command) = try parse(image)
        #expect(command.cdb.count == length)
    }

    @Test func padAndTaskManagementEntriesAreSkipped() throws {
        let image = RingImage()
        image.pad(64)
        var (entry, _) = try parse(image)
        #expect(entry == .skip(length: 64))
        image.put(UInt32(64) | 2, at: image.ringOffset)
        (entry, _) = try parse(image)
        #expect(entry == .skip(length: 64))
    }

    @Test func entriesWhoseLengthCannotBeTrustedBreakTheRing() throws {
        for length: UInt32 in [0, 4096 + 8, 200] {
            let image = RingImage()
            image.command(id: 1, cdb: inquiry, iovecs: [])
            image.put(length | 1, at: image.ringOffset)
            #expect(throws: RingError.self) { try parse(image) }
        }
        let image = RingImage()
        image.command(id: 1, cdb: inquiry, iovecs: [])
        image.put(UInt32(120) | 5, at: image.ringOffset)
        #expect(throws: RingError.brokenEntry(position: 0, reason: "unknown entry opcode 5")) { try parse(image) }
        let short = RingImage()
        short.put(UInt32(64) | 1, at: short.ringOffset)
        short.head = 64
        #expect(throws: RingError.self) { try parse(short) }
        let misaligned = RingImage()
        misaligned.head = 12
        misaligned.publishHead()
        #expect(throws: RingError.badHead(12)) { try RingParser(map: misaligned.map).head() }
    }

    @Test func malformedCommandsNameTheirDefect() throws {
        func defect(_ build: (RingImage) -> Void, capacity: Int = 1 << 20, iovecs: Int = 4) throws -> EntryDefect? {
            let image = RingImage()
            build(image)
            let (entry, command) = try parse(image, capacity: capacity, iovecCapacity: iovecs)
            #expect(command.id == 3)
            if case let .malformed(_, defect) = entry { return defect }
            return nil
        }
        let map = 128 + 4096 + (1 << 20)
        #expect(try defect { $0.command(id: 3, cdb: inquiry, iovecs: [(100, 36)]) }
            == .iovecOutsideDataArea(index: 0, offset: 100, length: 36))
        #expect(try defect { $0.command(id: 3, cdb: inquiry, iovecs: [($0.dataOffset, 36), (map - 8, 16)]) }
            == .iovecOutsideDataArea(index: 1, offset: UInt64(map - 8), length: 16))
        #expect(try defect { $0.command(id: 3, cdb: inquiry, iovecs: [(Int.max, 36)]) }
            == .iovecOutsideDataArea(index: 0, offset: UInt64(Int.max), length: 36))
        #expect(try defect { $0.command(id: 3, cdb: inquiry, iovecs: [], bidi: 1) } == .bidirectional(count: 1))
        #expect(try defect { $0.command(id: 3, cdb: inquiry, iovecs: [], dif: 2) } == .protectionInformation(count: 2))
        #expect(try defect { $0.command(id: 3, cdb: inquiry, iovecs: Array(repeating: ($0.dataOffset, 1), count: 5)) }
            == .tooManyIovecs(count: 5, capacity: 4))
        #expect(try defect { $0.command(id: 3, cdb: inquiry, iovecs: [], cdbOffset: 0) } == .cdbOutsideRing(offset: 0))
        #expect(try defect { $0.command(id: 3, cdb: inquiry, iovecs: [], cdbOffset: UInt64(128 + 4096 - 2)) }
            == .cdbOutsideRing(offset: UInt64(128 + 4096 - 2)))
        #expect(try defect { $0.command(id: 3, cdb: [0x7F, 0, 0, 0, 0, 0, 0, 200], iovecs: []) } == .cdbTooLong(length: 208))
        #expect(try defect({ $0.command(id: 3, cdb: inquiry, iovecs: [($0.dataOffset, 8192)]) }, capacity: 4096)
            == .transferTooLarge(bytes: 8192, limit: 4096))
        // A 112-byte entry has room for 4 iovecs (48 + 4 x 16 bytes): a fifth is beyond capacity or beyond the entry.
        #expect(try defect { image in
            image.command(id: 3, cdb: inquiry, iovecs: [], lengthOverride: 112)
            image.put(UInt32(5), at: image.ringOffset + 8)
        } == .tooManyIovecs(count: 5, capacity: 4))
        #expect(try defect({ image in
            image.command(id: 3, cdb: inquiry, iovecs: [], lengthOverride: 112)
            image.put(UInt32(5), at: image.ringOffset + 8)
        }, iovecs: 16) == .iovecsOverrunEntry(count: 5, entryLength: 112))
    }
}
