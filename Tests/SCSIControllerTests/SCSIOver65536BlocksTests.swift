import MockNVMe
import NVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// Write Zeroes and Verify carry no data, so only NLB limits them: 16 bits, 0's based, at most
/// 65536 blocks per command (NVM Command Set: Write Zeroes and Verify, CDW12 NLB). A range longer than that must
/// be cut at exactly 65536 blocks; a piece one block too long would be clamped by the NLB field
/// and leave a block untouched while success is reported. These tests look at the mock's media
/// (or its fault matches) directly, never back through the breaker under test.
@Suite struct Over65536BlocksTests {
    static let total = 70_000
    /// The blocks each side of both cuts (65536 and the end, 70000), and the first one past the range.
    static let probes: [UInt64] = [0, 65534, 65535, 65536, 65537, 69998, 69999, 70000]

    /// A rig whose namespace has room past the range; the probes and their neighbours written
    /// non-zero first (a plain write, not the path under test).
    func primed() throws -> Rig {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 1 << 17, blockSize: 512)] }
        for lba in Self.probes {
            #expect(scsi.scsiWrite(lba: lba, pattern(512, seed: UInt8(truncatingIfNeeded: lba) | 1)).isGood)
        }
        return scsi
    }

    /// Every probe inside 0..<70000 reads back as `block` on the media, and LBA 70000 was not touched.
    func expectRange(_ scsi: Rig, holds block: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        for lba in Self.probes where lba < UInt64(Self.total) {
            #expect(scsi.media(lba: lba, count: 1) == block, "LBA \(lba)", sourceLocation: sourceLocation)
        }
        #expect(scsi.media(lba: 70000, count: 1) == pattern(512, seed: UInt8(truncatingIfNeeded: 70000) | 1),
                sourceLocation: sourceLocation)
    }

    @Test func blockAPIWriteZeroesCoversEveryBlock() throws {
        let scsi = try primed()
        let outcome = scsi.queue.writeZeroes(nsid: scsi.nsid, lba: 0, blocks: Self.total)
        #expect(outcome.succeeded)
        #expect(outcome.commands == 2)   // 65536 + 4464
        expectRange(scsi, holds: [UInt8](repeating: 0, count: 512))
    }

    @Test func writeSameOfAZeroBlockCoversEveryBlock() throws {
        let scsi = try primed()
        // WRITE SAME (16), a zero block, 70000 blocks: Write Zeroes.
        let result = scsi.run(CDB.writeSame16(lba: 0, blocks: UInt32(Self.total)), out: [UInt8](repeating: 0, count: 512))
        #expect(result.isGood)
        expectRange(scsi, holds: [UInt8](repeating: 0, count: 512))
    }

    @Test func writeSameOfAPatternCoversEveryBlock() throws {
        let scsi = try primed()
        let block = pattern(512, seed: 0xC3)
        #expect(scsi.run(CDB.writeSame16(lba: 0, blocks: UInt32(Self.total)), out: block).isGood)
        expectRange(scsi, holds: block)
    }

    /// Verify moves nothing, so its coverage shows through the mock's fault matching: a media
    /// error planted on one block must be found by the Verify command that covers it.
    @Test(arguments: [UInt64(65535), 65536, 69999])
    func blockAPIVerifyReachesEveryBlock(bad: UInt64) throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 1 << 17, blockSize: 512)] }
        scsi.mock.inject(.failCommands(.io(.verify, lbaRange: bad...bad), status: CompletionStatus(.unrecoveredReadError)))
        let outcome = scsi.queue.verify(nsid: scsi.nsid, lba: 0, blocks: Self.total)
        // The command that failed is the piece holding the bad block: 0 + 65536 or 65536 + 4464.
        guard case let .ioCommandFailed(_, lba, blocks, status) = outcome.error else {
            Issue.record("Verify of \(Self.total) blocks missed the bad block \(bad): \(String(describing: outcome.error))")
            return
        }
        #expect(status.type == .mediaAndDataIntegrity && status.matches(.unrecoveredReadError))
        #expect(bad < 65536 ? (lba == 0 && blocks == 65536) : (lba == 65536 && blocks == Self.total - 65536))
    }

    @Test func scsiVerifyReachesTheBlockPastTheFirstCut() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 1 << 17, blockSize: 512)] }
        // VERIFY (16) 8Fh, BYTCHK 0: NVMe Verify, no data.
        let verify = CDB.sixteen(0x8F, lba: 0, blocks: UInt32(Self.total))
        #expect(scsi.run(verify).isGood)
        scsi.mock.inject(.failCommands(.io(.verify, lbaRange: 65536...65536), status: CompletionStatus(.unrecoveredReadError)))
        // MEDIUM ERROR, UNRECOVERED READ ERROR, INFORMATION = the failed command's first LBA,
        // 65536 (10000h): the second piece starts exactly at the cut.
        #expect(scsi.run(verify).sense == fixedSense(0x03, 0x11, 0x00, information: 0x1_0000))
    }
}
