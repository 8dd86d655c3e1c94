import MockNVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// READ CAPACITY (10) and (16) (SBC-4 5.20, 5.21).
@Suite struct SCSIReadCapacityTests {
    @Test func readCapacity10() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 0x1000, blockSize: 512)] }
        let capacity = scsi.run(CDB.readCapacity10, inLength: 8)
        #expect(capacity.isGood)
        // RETURNED LOGICAL BLOCK ADDRESS: the last LBA; LOGICAL BLOCK LENGTH IN BYTES.
        #expect(capacity.data == [0x00, 0x00, 0x0F, 0xFF, 0x00, 0x00, 0x02, 0x00])
    }

    @Test func readCapacity10With4KBlocks() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 0x12345, blockSize: 4096)] }
        let capacity = scsi.run(CDB.readCapacity10, inLength: 8)
        #expect(capacity.data == [0x00, 0x01, 0x23, 0x44, 0x00, 0x00, 0x10, 0x00])
    }

    @Test func readCapacity10SaysFFFFFFFFWhenTheLastLBADoesNotFit() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 0x1_0000_0001, blockSize: 512)] }
        let capacity = scsi.run(CDB.readCapacity10, inLength: 8)
        #expect(capacity.isGood)
        #expect(capacity.data == [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x02, 0x00])
        // Exactly 2^32 blocks: the last LBA FFFFFFFFh still does not fit (it is the escape value).
        let edge = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 0x1_0000_0000, blockSize: 512)] }
        #expect(edge.run(CDB.readCapacity10, inLength: 8).data == [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x02, 0x00])
        // One block fewer fits.
        let fits = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 0xFFFF_FFFF, blockSize: 512)] }
        #expect(fits.run(CDB.readCapacity10, inLength: 8).data == [0xFF, 0xFF, 0xFF, 0xFE, 0x00, 0x00, 0x02, 0x00])
    }

    @Test func readCapacity16WithLogicalBlockProvisioning() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 0x1_0000_0001, blockSize: 512)] }
        let capacity = scsi.run(CDB.readCapacity16(allocation: 32), inLength: 32)
        #expect(capacity.isGood)
        var expected = [UInt8](repeating: 0, count: 32)
        expected.replaceSubrange(0..<8, with: [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00])  // last LBA
        expected.replaceSubrange(8..<12, with: [0x00, 0x00, 0x02, 0x00])                          // block length
        expected[14] = 0xC0     // LBPME (Dataset Management) | LBPRZ (DLFEAT: deallocated reads zero)
        #expect(capacity.data == expected)
    }

    @Test func readCapacity16TruncatesToItsAllocationLength() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 0x1000, blockSize: 512)] }
        let capacity = scsi.run(CDB.readCapacity16(allocation: 12), inLength: 32)
        #expect(capacity.isGood)
        #expect(Array(capacity.data[0..<12]) == [0, 0, 0, 0, 0, 0, 0x0F, 0xFF, 0x00, 0x00, 0x02, 0x00])
        #expect(capacity.data[12] == 0xEE)
        #expect(capacity.response.residual == 20)
    }
}
