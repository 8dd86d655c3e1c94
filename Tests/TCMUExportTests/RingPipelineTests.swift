import Foundation
import MockNVMe
import RingSupport
import Testing
@testable import TCMUExport

/// A worker with a pipeline: many commands of one thread in flight, answered out of order as the
/// kernel's out-of-order completion allows, each with the bytes and status SBC-4 gives it.
@Suite(.serialized) struct RingPipelineTests {
    /// One worker, 16 slots, on a threaded mock that completes out of order.
    static func ring(queueDepth: Int = 16) throws -> ServedRing {
        try ServedRing(workers: 1, queueDepth: queueDepth) {
            $0.executionMode = .threaded(latency: .microseconds(20), outOfOrder: true)
        }
    }

    @Test func oneWorkerServesABatchOfWritesAndReadsWithAnInquiryAmongThem() throws {
        let ring = try Self.ring()
        #expect(ring.server.workers.count == 1 && ring.server.workers[0].pipeline?.depth == 16)
        _ = try ring.run([0, 0, 0, 0, 0, 0])  // POWER ON RESET
        let count = 24
        var sent: [Int] = []
        for index in 0..<count { sent.append(ring.image.data(4096, fill: UInt8(truncatingIfNeeded: index * 5 + 1))) }
        var positions: [Int] = []
        for index in 0..<count {
            // WRITE (10) of 8 blocks at LBA 8 * index, and an INQUIRY in the middle of the batch.
            positions.append(ring.image.command(id: UInt16(index), cdb: [0x2A, 0, 0, 0, 0, UInt8(8 * index), 0, 0, 8, 0],
                                                iovecs: [(sent[index], 4096)]))
            if index == count / 2 {
                positions.append(ring.image.command(id: 500, cdb: [0x12, 0, 0, 0, 36, 0], iovecs: [(ring.image.data(36), 36)]))
            }
        }
        try ring.submit()
        let written = positions.map { ring.image.response(at: $0) }
        #expect(written.allSatisfy { $0.status == 0 })
        #expect(written.map(\.id).sorted() == ((0..<count).map { UInt16($0) } + [500]).sorted())
        for index in 0..<count {
            #expect(ring.mock.mediaContents(nsid: 1, lba: UInt64(8 * index), count: 8)
                == [UInt8](repeating: UInt8(truncatingIfNeeded: index * 5 + 1), count: 4096), "LBA \(8 * index)")
        }
        // READ (16) them back into fresh iovecs, in flight together.
        var sinks: [Int] = []
        positions = []
        for index in 0..<count {
            sinks.append(ring.image.data(4096, fill: 0xEE))
            positions.append(ring.image.command(id: UInt16(100 + index), cdb: [0x88, 0, 0, 0, 0, 0, 0, 0, 0, UInt8(8 * index), 0, 0, 0, 8, 0, 0],
                                                iovecs: [(sinks[index], 4096)]))
        }
        try ring.submit()
        #expect(positions.map { ring.image.response(at: $0) }.allSatisfy { $0.status == 0 && $0.uflags == 0 })
        for index in 0..<count {
            #expect(ring.image.bytes(at: sinks[index], count: 4096).allSatisfy { $0 == UInt8(truncatingIfNeeded: index * 5 + 1) })
        }
    }

    @Test func aCommandLargerThanASlotRunsInTheWorkersBufferAmongSmallOnes() throws {
        let ring = try Self.ring(queueDepth: 4)  // 32 KiB slots, a 128 KiB buffer
        _ = try ring.run([0, 0, 0, 0, 0, 0])
        let big = ring.image.data(96 << 10)
        for index in 0..<(96 << 10) { ring.image.bytes[big + index] = UInt8(truncatingIfNeeded: index &* 7 &+ index >> 11) }
        let small = ring.image.data(512, fill: 0x5A)
        let a = ring.image.command(id: 1, cdb: [0x2A, 0, 0, 0, 0x10, 0, 0, 0, 1, 0], iovecs: [(small, 512)])
        let b = ring.image.command(id: 2, cdb: [0x2A, 0, 0, 0, 0x20, 0, 0, 0, 192, 0], iovecs: [(big, 96 << 10)])
        let c = ring.image.command(id: 3, cdb: [0x2A, 0, 0, 0, 0x30, 0, 0, 0, 1, 0], iovecs: [(small, 512)])
        try ring.submit()
        #expect([a, b, c].map { ring.image.response(at: $0).status } == [0, 0, 0])
        #expect(ring.mock.mediaContents(nsid: 1, lba: 0x2000, count: 192) == ring.image.bytes(at: big, count: 96 << 10))
        #expect(ring.mock.mediaContents(nsid: 1, lba: 0x1000, count: 1) == [UInt8](repeating: 0x5A, count: 512))
        #expect(ring.mock.mediaContents(nsid: 1, lba: 0x3000, count: 1) == [UInt8](repeating: 0x5A, count: 512))
    }

    @Test func aFailedReadInTheBatchGetsMediumErrorSenseAndTheOthersTheirData() throws {
        let ring = try Self.ring()
        _ = try ring.run([0, 0, 0, 0, 0, 0])
        ring.mock.inject(.failCommands(.io(.read, lbaRange: 40...47, count: 1), status: .init(.unrecoveredReadError)))
        var positions: [Int] = []
        for index in 0..<8 {
            positions.append(ring.image.command(id: UInt16(index), cdb: [0x28, 0, 0, 0, 0, UInt8(8 * index), 0, 0, 8, 0],
                                                iovecs: [(ring.image.data(4096), 4096)]))
        }
        try ring.submit()
        let responses = positions.map { ring.image.response(at: $0) }
        let failed = responses.filter { $0.status != 0 }
        #expect(responses.count == 8 && failed.count == 1)
        // MEDIUM ERROR, UNRECOVERED READ ERROR, INFORMATION = the failed command's first LBA (SBC-4 4.18.1).
        #expect(failed.first?.status == 0x02 && failed.first.map { $0.sense[2] & 0x0F } == 0x03 && failed.first?.sense[12] == 0x11)
        #expect(failed.first.map { $0.sense[0] & 0x80 != 0 && Array($0.sense[3..<7]) == [0, 0, 0, 40] } == true)
    }

    /// On a queue with a completion interrupt the worker sleeps until the mock raises the queue's
    /// vector (or the kernel kicks) instead of spinning: every command is still answered, and no
    /// sleep ran out its time with a completion waiting (each interrupt arrived).
    @Test func aWorkerSleepingOnItsCompletionInterruptAnswersEveryCommand() throws {
        let ring = try ServedRing(workers: 1, queueDepth: 16, completionInterrupts: true) {
            $0.executionMode = .threaded(latency: .microseconds(500), outOfOrder: true)
        }
        #expect(ring.server.sleepsOnCompletions)
        _ = try ring.run([0, 0, 0, 0, 0, 0])
        for round in 0..<3 {
            var positions: [Int] = []
            for index in 0..<24 {
                let data = ring.image.data(4096, fill: UInt8(truncatingIfNeeded: round * 31 + index))
                positions.append(ring.image.command(id: UInt16(index), cdb: [0x2A, 0, 0, 0, 0, UInt8(8 * index), 0, 0, 8, 0],
                                                    iovecs: [(data, 4096)]))
            }
            try ring.submit()
            #expect(positions.map { ring.image.response(at: $0).status }.allSatisfy { $0 == 0 })
            for index in 0..<24 {
                #expect(ring.mock.mediaContents(nsid: 1, lba: UInt64(8 * index), count: 8)
                    == [UInt8](repeating: UInt8(truncatingIfNeeded: round * 31 + index), count: 4096))
            }
        }
        #expect(ring.server.completionSleeps > 0, "the worker slept on its queue's vector")
        #expect(ring.server.lostInterrupts == 0)
    }

    @Test func onAQueueWithoutAnInterruptTheWorkerPolls() throws {
        let ring = try Self.ring()
        #expect(!ring.server.sleepsOnCompletions)
        _ = try ring.run([0, 0, 0, 0, 0, 0])
        #expect(ring.server.completionSleeps == 0)
    }

    @Test func withoutOutOfOrderCompletionNoPipelineIsUsed() throws {
        let ring = try ServedRing(workers: 2, queueDepth: 16, flags: 0x2)
        #expect(ring.server.workers.count == 1 && ring.server.workers[0].pipeline == nil)
        #expect(ring.server.inFlightLimit == 1)
    }
}
