import MockNVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// CDBs and tasks that are wrong: reserved bits, wrong lengths, absent LUNs, buffers that cannot
/// carry the transfer. Each is refused with the right sense and moves nothing.
@Suite struct SCSIMalformedTaskTests {
    @Test func aReservedBitIsAnInvalidFieldWithTheBitPointer() throws {
        let scsi = try Rig.scsi()
        // READ(10) byte 1 bit 5 (RDPROTECT, not supported): SKSV | C/D | BPV | bit 5, byte 1.
        let rdprotect = scsi.run([0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0], inLength: 512)
        #expect(rdprotect.status == .checkCondition)
        #expect(rdprotect.sense == [0x70, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x00,
                                    0x24, 0x00, 0x00, 0xCD, 0x00, 0x01])
        // Byte 1 bit 2 (reserved).
        let reserved = scsi.run([0x28, 0x04, 0, 0, 0, 0, 0, 0, 1, 0], inLength: 512)
        #expect(reserved.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xCA, 0x00, 0x01]))
        // WRITE(16) GROUP NUMBER byte 14 bit 6 (reserved).
        let group = scsi.run([0x8A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x40, 0], out: pattern(512, seed: 1))
        #expect(group.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xCE, 0x00, 0x0E]))
        // TEST UNIT READY byte 4 bit 0.
        let tur = scsi.run([0x00, 0, 0, 0, 0x01, 0])
        #expect(tur.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC8, 0x00, 0x04]))
        #expect(scsi.mock.statistics.hostReadCommands == 0 && scsi.mock.statistics.hostWriteCommands == 0)
        #expect(rdprotect.data.allSatisfy { $0 == 0xEE })
    }

    @Test func nacaInTheControlByteIsRefused() throws {
        let scsi = try Rig.scsi()
        // CONTROL byte bit 2 (NACA) of READ(16): byte 15.
        let result = scsi.run([0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x04], inLength: 512)
        #expect(result.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xCA, 0x00, 0x0F]))
    }

    @Test func inDescriptorFormatTheFieldPointerIsASenseKeySpecificDescriptor() throws {
        let scsi = try Rig.scsi()
        SCSIStatusMappingTests.useDescriptorSense(scsi)
        let result = scsi.run([0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0], inLength: 512)
        // 72h, ILLEGAL REQUEST, 24h/00h, length 8; descriptor 02h length 06h, SKSV|C/D|BPV|5, 0001h.
        #expect(result.sense == [0x72, 0x05, 0x24, 0x00, 0, 0, 0, 0x08, 0x02, 0x06, 0x00, 0x00, 0xCD, 0x00, 0x01, 0x00])
    }

    @Test(arguments: [
        [UInt8(0x28), 0, 0, 0, 0, 0, 0, 0, 1],           // READ(10) one byte short
        [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],         // READ(10) two bytes long
        [0x00, 0, 0, 0, 0, 0, 0],                        // TEST UNIT READY one byte long
        [0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],   // READ(16) cut at 14 bytes
    ])
    func aCDBOfTheWrongLengthIsAnIllegalRequest(cdb: [UInt8]) throws {
        let scsi = try Rig.scsi()
        let result = scsi.run(cdb, inLength: 512)
        #expect(result.status == .checkCondition)
        // The group code fixes the CDB length (SPC-5 4.2.5): another length is the command IU's
        // framing, INVALID FIELD IN COMMAND INFORMATION UNIT (0Eh/03h), with no field pointer.
        #expect(result.sense == fixedSense(0x05, 0x0E, 0x03))
        #expect(scsi.mock.statistics.hostReadCommands == 0)
        #expect(result.response.residual == 512)
    }

    @Test func anEmptyCDBIsRefused() throws {
        let scsi = try Rig.scsi()
        let result = scsi.run([])
        #expect(result.status == .checkCondition)
        // No opcode at all: the same framing error as any CDB of the wrong length.
        #expect(result.sense == fixedSense(0x05, 0x0E, 0x03))
    }

    @Test func anAbsentLUNIsLogicalUnitNotSupported() throws {
        let scsi = try Rig.scsi()
        let notSupported = fixedSense(0x05, 0x25, 0x00)
        #expect(scsi.run(CDB.testUnitReady, lun: 1).sense == notSupported)
        #expect(scsi.run(CDB.read10(lba: 0, blocks: 1), lun: 3, inLength: 512).sense == notSupported)
        #expect(scsi.run(CDB.readCapacity10, lun: 0xFFFF, inLength: 8).sense == notSupported)
        #expect(scsi.run(CDB.inquiry(page: 0x80, allocation: 64), lun: 2, inLength: 64).sense == notSupported)
        // REQUEST SENSE to an absent LUN returns that condition as its data (SPC-5 6.39).
        let sense = scsi.run(CDB.requestSense(allocation: 18), lun: 5, inLength: 18)
        #expect(sense.isGood && sense.data == notSupported)
        #expect(scsi.mock.statistics.hostReadCommands == 0)
    }

    @Test func aBufferSmallerThanTheTransferLengthIsRefused() throws {
        let scsi = try Rig.scsi()
        let small = try scsi.controller.mapper.allocate(length: 512)
        let reads = scsi.mock.statistics.hostReadCommands
        // READ(10) of 8 blocks says 4096 bytes, the task says 4096, the buffer has 512.
        let task = SCSITask(cdb: CDB.read10(lba: 0, blocks: 8), buffer: small, transferLength: 4096, direction: .fromDevice)
        let response = scsi.hba.process(task, on: scsi.queue)
        #expect(response.serviceResponse == .taskComplete)
        #expect(response.status == .checkCondition)
        // INVALID FIELD IN CDB at the TRANSFER LENGTH field (byte 7), the field the buffer contradicts.
        #expect(response.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x07]))
        #expect(response.bytesTransferred == 0 && response.residual == 4096)
        guard case .requestRefused = response.error else {
            Issue.record("expected requestRefused, got \(String(describing: response.error))")
            return
        }
        // The same with an offset that pushes the transfer past the end of the buffer.
        let offset = SCSITask(cdb: CDB.write10(lba: 0, blocks: 1), buffer: small, bufferOffset: 256,
                              transferLength: 512, direction: .toDevice)
        #expect(scsi.hba.process(offset, on: scsi.queue).status == .checkCondition)
        // Offsets whose sum with the length overflows are refused, not trapped on.
        for huge in [Int.max, Int.max - 100, Int.max - 511] {
            let task = SCSITask(cdb: CDB.write10(lba: 0, blocks: 1), buffer: small, bufferOffset: huge,
                                transferLength: 512, direction: .toDevice)
            #expect(scsi.hba.process(task, on: scsi.queue).sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x07]))
        }
        // INQUIRY's field is ALLOCATION LENGTH (bytes 3-4); TEST UNIT READY has none, so no pointer.
        let inquiry = SCSITask(cdb: CDB.inquiry(allocation: 36), transferLength: 36, direction: .fromDevice)
        #expect(scsi.hba.process(inquiry, on: scsi.queue).sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x03]))
        let tur = SCSITask(cdb: CDB.testUnitReady, transferLength: 8, direction: .fromDevice)
        #expect(scsi.hba.process(tur, on: scsi.queue).sense == fixedSense(0x05, 0x24, 0x00))
        // A transfer with no buffer at all, and one with data but direction none.
        #expect(scsi.hba.process(SCSITask(cdb: CDB.read10(lba: 0, blocks: 1), transferLength: 512, direction: .fromDevice),
                                 on: scsi.queue).status == .checkCondition)
        #expect(scsi.hba.process(SCSITask(cdb: CDB.read10(lba: 0, blocks: 1), buffer: small, transferLength: 512, direction: .none),
                                 on: scsi.queue).status == .checkCondition)
        #expect(scsi.mock.statistics.hostReadCommands == reads)
        #expect(scsi.mock.statistics.hostWriteCommands == 0)
    }

    @Test func theDirectionMustMatchTheCommand() throws {
        let scsi = try Rig.scsi()
        // READ(10) handed a data-out buffer: INVALID FIELD IN CDB at TRANSFER LENGTH, nothing moves.
        let result = scsi.run(CDB.read10(lba: 0, blocks: 1), out: pattern(512, seed: 1))
        #expect(result.status == .checkCondition)
        #expect(result.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xC0, 0x00, 0x07]))
        #expect(scsi.mock.statistics.hostReadCommands == 0)
    }

    @Test func theResponseCarriesTheCallersTag() throws {
        let scsi = try Rig.scsi()
        let task = SCSITask(cdb: CDB.testUnitReady, tag: 0xDEAD_BEEF)
        #expect(scsi.hba.process(task, on: scsi.queue).tag == 0xDEAD_BEEF)
    }
}
