import Dispatch
import Foundation
import MockNVMe
import RingSupport
import Synchronization
import Testing
@testable import TCMUExport

@Suite(.serialized) struct RingServerTests {
    @Test func inquiryDataLandsInTheIovecs() throws {
        let ring = try ServedRing()
        let data = ring.image.data(36, fill: 0xAA)
        let response = try ring.run([0x12, 0, 0, 0, 36, 0], iovecs: [(data, 36)], id: 42)
        #expect(response.id == 42 && response.status == 0x00)
        let inquiry = ring.image.bytes(at: data, count: 36)
        #expect(inquiry[0] == 0x00, "direct access block device, qualifier 000b (SPC-5 6.7.2)")
        #expect(inquiry[4] == 69, "ADDITIONAL LENGTH: 74 bytes of standard data, 36 of them asked for")
        #expect(Array(inquiry[8..<16]) == Array("NVMe    ".utf8))
        #expect(ring.doorbell.handlerKicks.load(ordering: .relaxed) >= 1)
    }

    @Test func aShortDataInReportsItsLengthAsReadLen() throws {
        let ring = try ServedRing()
        let data = ring.image.data(255)
        let response = try ring.run([0x12, 0x01, 0x00, 0, 255, 0], iovecs: [(data, 255)])
        let pageLength = 4 + Int(ring.image.bytes(at: data, count: 4)[3])
        #expect(response.status == 0 && pageLength < 255)
        #expect(response.uflags == 0x2 && response.readLength == UInt32(pageLength))
    }

    @Test func writtenBlocksReadBackThroughOtherIovecs() throws {
        let ring = try ServedRing()
        let attention = try ring.run([0, 0, 0, 0, 0, 0])
        #expect(attention.status == 0x02 && attention.sense[2] & 0x0F == 0x06 && attention.sense[12] == 0x29,
                "the first TEST UNIT READY reports POWER ON RESET (SAM-5)")
        let first = ring.image.data(4096), second = ring.image.data(4096)
        for index in 0..<4096 {
            ring.image.bytes[first + index] = UInt8(truncatingIfNeeded: index * 7)
            ring.image.bytes[second + index] = UInt8(truncatingIfNeeded: index * 13 + 1)
        }
        let expected = ring.image.bytes(at: first, count: 4096) + ring.image.bytes(at: second, count: 4096)
        let write = try ring.run([0x2A, 0, 0, 0, 0, 100, 0, 0, 16, 0], iovecs: [(first, 4096), (second, 4096)])
        #expect(write.status == 0)
        let a = ring.image.data(4096), b = ring.image.data(2048), c = ring.image.data(2048)
        let read = try ring.run([0x28, 0, 0, 0, 0, 100, 0, 0, 16, 0], iovecs: [(a, 4096), (b, 2048), (c, 2048)])
        #expect(read.status == 0 && read.uflags == 0)
        let got = ring.image.bytes(at: a, count: 4096) + ring.image.bytes(at: b, count: 2048) + ring.image.bytes(at: c, count: 2048)
        #expect(got == expected)
    }

    @Test func aMalformedEntryIsFailedWithSenseAndTheRingGoesOn() throws {
        let ring = try ServedRing()
        let bad = try ring.run([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], iovecs: [(64, 512)], id: 9)
        #expect(bad.id == 9 && bad.status == 0x02)
        #expect(bad.sense[0] == 0x70 && bad.sense[2] & 0x0F == 0x04 && bad.sense[12] == 0x44,
                "HARDWARE ERROR, INTERNAL TARGET FAILURE (SPC-5 fixed sense)")
        #expect(ring.server.entriesRefused == 1)
        let next = try ring.run([0x12, 0, 0, 0, 36, 0], iovecs: [(ring.image.data(36), 36)], id: 10)
        #expect(next.id == 10 && next.status == 0)
    }

    @Test func moreThanAnnouncedIsAnIllegalRequest() throws {
        let ring = try ServedRing(transferLimit: 128 << 10)
        let data = ring.image.data(256 << 10)
        let response = try ring.run([0x28, 0, 0, 0, 0, 0, 0, 2, 0, 0], iovecs: [(data, 256 << 10)])
        #expect(response.status == 0x02 && response.sense[2] & 0x0F == 0x05 && response.sense[12] == 0x24)
    }

    @Test func blockLimitsReportWhatTheExportsBuffersTake() throws {
        // The engine could carry far more than the export's 128 KiB buffers; VPD B0h's MAXIMUM
        // TRANSFER LENGTH says what is accepted (256 blocks), and a READ of 257 blocks is an
        // invalid TRANSFER LENGTH (SBC-4 6.6.4, 5.16) even with a small expected length.
        let ring = try ServedRing(transferLimit: 128 << 10)
        _ = try ring.run([0, 0, 0, 0, 0, 0])
        let page = ring.image.data(64)
        #expect(try ring.run([0x12, 0x01, 0xB0, 0, 64, 0], iovecs: [(page, 64)]).status == 0)
        #expect(ring.image.bytes(at: page + 8, count: 4) == [0, 0, 0x01, 0x00])
        let read = try ring.run([0x28, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0], iovecs: [(ring.image.data(512), 512)])
        #expect(read.status == 0x02 && read.sense[12] == 0x24 && read.sense[17] == 7)
    }

    /// 1 MiB of distinct bytes in the data area, as iovecs of the given lengths.
    func pattern(_ ring: ServedRing, lengths: [Int], seed: Int) -> (iovecs: [(offset: Int, length: Int)], bytes: [UInt8]) {
        var iovecs: [(offset: Int, length: Int)] = [], bytes: [UInt8] = []
        for length in lengths {
            let offset = ring.image.data(length)
            for index in 0..<length {
                let byte = UInt8(truncatingIfNeeded: (bytes.count + index) &* 31 &+ (bytes.count + index) >> 9 &+ seed)
                ring.image.bytes[offset + index] = byte
            }
            bytes += ring.image.bytes(at: offset, count: length)
            iovecs.append((offset, length))
        }
        return (iovecs, bytes)
    }

    @Test func aWriteAndAReadAboveTheBufferRunInPiecesThroughOddIovecs() throws {
        // 128 KiB buffers, 4 MiB announced: WRITE (10) of 2048 blocks (1 MiB) at LBA 300 runs as
        // eight pieces; the media holds every byte where the CDB put it, and nothing beside it.
        let ring = try ServedRing(transferLimit: 4 << 20)
        _ = try ring.run([0, 0, 0, 0, 0, 0])
        let sent = pattern(ring, lengths: [300_000, 500_000, 248_576], seed: 7)
        let write = try ring.run([0x2A, 0x08, 0, 0, 0x01, 0x2C, 0, 0x08, 0x00, 0], iovecs: sent.iovecs)
        #expect(write.status == 0x00)
        #expect(ring.mock.mediaContents(nsid: 1, lba: 300, count: 2048) == sent.bytes)
        #expect(ring.mock.mediaContents(nsid: 1, lba: 299, count: 1).allSatisfy { $0 == 0 })
        #expect(ring.mock.mediaContents(nsid: 1, lba: 2348, count: 1).allSatisfy { $0 == 0 })
        // READ (16) of the same blocks into two other iovecs: all of them, no read_len.
        let a = ring.image.data(700_000), b = ring.image.data(348_576)
        let read = try ring.run([0x88, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x2C, 0, 0, 0x08, 0x00, 0, 0], iovecs: [(a, 700_000), (b, 348_576)])
        #expect(read.status == 0x00 && read.uflags == 0)
        #expect(ring.image.bytes(at: a, count: 700_000) + ring.image.bytes(at: b, count: 348_576) == sent.bytes)
    }

    @Test func aCommandAboveTheBufferIsRefusedWholeAsTranslationWould() throws {
        let ring = try ServedRing(transferLimit: 4 << 20)
        let sent = pattern(ring, lengths: [1 << 20], seed: 3)
        // The first command reports POWER ON RESET before any piece moves a block (SAM-5).
        let first = try ring.run([0x2A, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0], iovecs: sent.iovecs)
        #expect(first.status == 0x02 && first.sense[2] & 0x0F == 0x06 && first.sense[12] == 0x29)
        // Running past the last block: LBA OUT OF RANGE (SBC-4 4.5), nothing written.
        let past = try ring.run([0x8A, 0, 0, 0, 0, 0, 0, 0, 0xFC, 0x00, 0, 0, 0x08, 0x00, 0, 0], iovecs: sent.iovecs)
        #expect(past.status == 0x02 && past.sense[2] & 0x0F == 0x05 && past.sense[12] == 0x21 && past.sense[13] == 0)
        // iovecs of one block more than the CDB's 2048: INVALID FIELD IN CDB, nothing written.
        let extra = ring.image.data(512, fill: 0xEE)
        let mismatch = try ring.run([0x2A, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0], iovecs: sent.iovecs + [(extra, 512)])
        #expect(mismatch.status == 0x02 && mismatch.sense[2] & 0x0F == 0x05 && mismatch.sense[12] == 0x24)
        // Above the announced 4 MiB: INVALID FIELD IN CDB, the TRANSFER LENGTH field (SBC-4 6.6.4).
        let big = try ring.run([0x28, 0, 0, 0, 0, 0, 0, 0x20, 0x01, 0], iovecs: [(ring.image.data(512), 512)])
        #expect(big.status == 0x02 && big.sense[12] == 0x24 && big.sense[17] == 7)
        #expect(ring.mock.mediaContents(nsid: 1, lba: 0, count: 2048).allSatisfy { $0 == 0 })
        #expect(ring.mock.mediaContents(nsid: 1, lba: 64512, count: 1024).allSatisfy { $0 == 0 })
    }

    @Test func manyCommandsInFlightAcrossTheRingsWrap() throws {
        let ring = try ServedRing(ringSize: 4096, workers: 4)
        _ = try ring.run([0, 0, 0, 0, 0, 0])
        let batches = 4, perBatch = 24 // 24 entries of 128 bytes and a PAD fit the 4 KiB ring
        var data: [Int] = []
        for index in 0..<(batches * perBatch) { data.append(ring.image.data(512, fill: UInt8(truncatingIfNeeded: index) &+ 1)) }
        for opcode: UInt8 in [0x2A, 0x28] {
            for batch in 0..<batches {
                var positions: [Int] = []
                let ids = (batch * perBatch)..<((batch + 1) * perBatch)
                for index in ids {
                    if opcode == 0x28 { ring.image.bytes[data[index]] = 0 }
                    positions.append(ring.image.command(id: UInt16(index), cdb: [opcode, 0, 0, 0, 0, UInt8(index), 0, 0, 1, 0],
                                                        iovecs: [(data[index], 512)]))
                }
                try ring.submit()
                // Out-of-order completion: the batch's responses are its ids in some order, each once, all GOOD.
                let responses = positions.map { ring.image.response(at: $0) }
                #expect(responses.allSatisfy { $0.status == 0 })
                #expect(responses.map(\.id).sorted() == ids.map { UInt16($0) })
            }
        }
        for (index, offset) in data.enumerated() {
            #expect(ring.image.bytes(at: offset, count: 512).allSatisfy { $0 == UInt8(truncatingIfNeeded: index) &+ 1 }, "LBA \(index)")
        }
        #expect(ring.server.commandsServed == 2 * batches * perBatch + 1)
    }

    @Test func aBacklogSharesKicksAndNoResponseIsLeftUnkicked() throws {
        // The kernel reads cmd_tail only when kicked (target_core_user's irqcontrol), so the
        // last response must be followed by a kick; a backlog of 24 needs no more than one kick
        // per 8 responses.
        let ring = try ServedRing(ringSize: 4096, workers: 1, responsesPerKick: 8)
        _ = try ring.run([0, 0, 0, 0, 0, 0])
        try waitForKickAtTail(ring)
        let before = ring.doorbell.handlerKicks.load(ordering: .relaxed)
        for index in 0..<24 { _ = ring.image.command(id: UInt16(index), cdb: [0x12, 0, 0, 0, 36, 0], iovecs: [(ring.image.data(36), 36)]) }
        try ring.submit()
        try waitForKickAtTail(ring)
        let kicks = ring.doorbell.handlerKicks.load(ordering: .relaxed) - before
        #expect(kicks >= 1 && kicks <= 3, "24 responses took \(kicks) kicks")
        #expect(ring.server.commandsServed == 25)
    }

    @Test func aResponseServedBeforeTheRingBrokeIsStillKicked() throws {
        let ring = try ServedRing(workers: 1, responsesPerKick: 32)
        let served = ring.image.command(id: 5, cdb: [0x12, 0, 0, 0, 36, 0], iovecs: [(ring.image.data(36), 36)])
        let broken = ring.image.head
        ring.image.put(UInt32(0) | 1, at: ring.image.ringOffset + broken)  // a CMD entry of length 0
        ring.image.head += 128
        ring.image.publishHead()
        ring.doorbell.kicks.signal()
        #expect(ring.done.wait(timeout: .now() + 10) == .success, "run() returns (throws) instead of hanging")
        ring.done.signal()
        #expect(ring.image.response(at: served).id == 5 && ring.image.response(at: served).status == 0)
        #expect(ring.image.tail == broken, "cmd_tail passed the answered command and stopped at the broken entry")
        #expect(ring.doorbell.tailAtLastKick.load(ordering: .relaxed) == ring.image.tail,
                "the kernel was kicked for the response published before the broken entry")
    }

    /// Waits (bounded, against a hang) until the server's latest kick announced the whole ring answered.
    func waitForKickAtTail(_ ring: ServedRing) throws {
        let deadline = Date().addingTimeInterval(10)
        while ring.doorbell.tailAtLastKick.load(ordering: .relaxed) != ring.image.head {
            guard Date() < deadline else { throw ExportError("no kick announced cmd_tail \(ring.image.head)") }
            usleep(200)
        }
    }

    @Test func withoutOutOfOrderCompletionOneWorkerServesInOrder() throws {
        let ring = try ServedRing(workers: 4, flags: 0x2)
        #expect(ring.server.workers.count == 1)
        var positions: [Int] = []
        for index in 0..<8 { positions.append(ring.image.command(id: UInt16(100 + index), cdb: [0x12, 0, 0, 0, 36, 0], iovecs: [(ring.image.data(36), 36)])) }
        try ring.submit()
        #expect(positions.map { ring.image.response(at: $0).id } == (0..<8).map { UInt16(100 + $0) })
    }

    @Test func aBrokenRingStopsTheServerWithTheReason() throws {
        let ring = try ServedRing()
        ring.image.put(UInt32(0) | 1, at: ring.image.ringOffset)
        ring.image.head = 128
        ring.image.publishHead()
        ring.doorbell.kicks.signal()
        #expect(ring.done.wait(timeout: .now() + 10) == .success, "run() returns (throws) instead of hanging")
        ring.done.signal()
        #expect(ring.image.tail == 0)
    }
}
