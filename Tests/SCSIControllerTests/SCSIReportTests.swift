import MockNVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// REPORT LUNS (SPC-5 6.33), REPORT SUPPORTED OPERATION CODES (SPC-5 6.35) and the answer to
/// every command the device does not implement.
@Suite struct SCSIReportTests {
    static let invalidOpcode = fixedSense(0x05, 0x20, 0x00)

    @Test func reportLUNsListsOneLUNPerNamespace() throws {
        let scsi = try Rig.scsi { $0.namespaces = [.init(blockCount: 64), .init(blockCount: 128), .init(blockCount: 256)] }
        let report = scsi.run(CDB.reportLUNs(allocation: 64), inLength: 64)
        #expect(report.isGood)
        // LUN LIST LENGTH 24, reserved, then LUNs 0, 1, 2 in peripheral device addressing.
        let expected: [UInt8] = [0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0, 0, 0, 0, 0, 0,
                                 0x00, 0x01, 0, 0, 0, 0, 0, 0,
                                 0x00, 0x02, 0, 0, 0, 0, 0, 0]
        #expect(Array(report.data[0..<32]) == expected)
        #expect(report.response.residual == 32)
        // Each listed LUN answers, with its own capacity.
        for (lun, blocks) in [(UInt64(1), 128), (2, 256)] {
            let capacity = scsi.run(CDB.readCapacity10, lun: lun, inLength: 8)
            #expect(capacity.data == be(UInt64(blocks - 1), 4) + [0, 0, 0x02, 0x00])
        }
        // Truncated by the allocation length, still GOOD.
        let short = scsi.run(CDB.reportLUNs(allocation: 16), inLength: 16)
        #expect(short.isGood && short.data == Array(expected[0..<16]))
    }

    @Test func reportLUNsWithAnAllocationLengthBelow4IsAnInvalidField() throws {
        let scsi = try Rig.scsi()
        // SPC-5 6.33: ALLOCATION LENGTH less than 4 -> INVALID FIELD IN CDB (field at byte 6).
        let report = scsi.run(CDB.reportLUNs(allocation: 3), inLength: 3)
        #expect(report.status == .checkCondition)
        #expect(report.hasSense(0x05, 0x24, 0x00))
        #expect(Array(report.sense[15..<18]) == [0xC0, 0x00, 0x06])
        // 4 is enough: the LUN LIST LENGTH alone.
        let four = scsi.run(CDB.reportLUNs(allocation: 4), inLength: 4)
        #expect(four.isGood && four.data == [0, 0, 0, 8])
    }

    @Test func reportLUNsAnswersEvenForAnAbsentLUN() throws {
        let scsi = try Rig.scsi()
        let report = scsi.run(CDB.reportLUNs(allocation: 16), lun: 7, inLength: 16)
        #expect(report.isGood)
        #expect(report.data == [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func oneCommandReportingOptionGivesTheCDBUsageData() throws {
        let scsi = try Rig.scsi()
        // REPORTING OPTIONS 001b, READ(10): SUPPORT 011b, CDB SIZE 10, usage per SBC-4: DPO and
        // FUA in byte 1, the LBA, GROUP NUMBER, TRANSFER LENGTH, CONTROL (no NACA/LINK).
        let read10 = scsi.run(CDB.reportSupportedOperationCodes(options: 1, opcode: 0x28), inLength: 64)
        #expect(read10.isGood)
        #expect(Array(read10.data[0..<14]) == [0x00, 0x03, 0x00, 0x0A,
                                               0x28, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F, 0xFF, 0xFF, 0x00])
        #expect(read10.response.bytesTransferred == 14)
        // An opcode that is not supported: SUPPORT 001b and no usage data.
        let ata = scsi.run(CDB.reportSupportedOperationCodes(options: 1, opcode: 0x85), inLength: 64)
        #expect(ata.isGood)
        #expect(Array(ata.data[0..<4]) == [0x00, 0x01, 0x00, 0x00])
    }

    @Test func serviceActionCommandsShowTheirServiceActionInTheUsageData() throws {
        let scsi = try Rig.scsi()
        // REPORTING OPTIONS 010b, SERVICE ACTION IN (16) / READ CAPACITY (16). SPC-5: byte 1 of
        // the usage data holds the service action code itself (10h), then the usage bits:
        // ALLOCATION LENGTH in bytes 10-13; the LBA and PMI fields are obsolete.
        let capacity = scsi.run(CDB.reportSupportedOperationCodes(options: 2, opcode: 0x9E, serviceAction: 0x10), inLength: 64)
        #expect(capacity.isGood)
        #expect(Array(capacity.data[0..<20]) == [0x00, 0x03, 0x00, 0x10,
                                                 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00])
    }

    @Test func allCommandsListsEachSupportedCommand() throws {
        let scsi = try Rig.scsi()
        let list = scsi.run(CDB.reportSupportedOperationCodes(options: 0), inLength: 4096)
        #expect(list.isGood)
        let length = Int(list.data[0]) << 24 | Int(list.data[1]) << 16 | Int(list.data[2]) << 8 | Int(list.data[3])
        #expect(length % 8 == 0 && length > 0)
        // Command descriptors: OPCODE, reserved, SERVICE ACTION (2), reserved, CTDP|SERVACTV, CDB LENGTH (2).
        let entries = stride(from: 4, to: 4 + length, by: 8).map { Array(list.data[$0..<($0 + 8)]) }
        #expect(entries.contains([0x28, 0, 0x00, 0x00, 0, 0x00, 0x00, 0x0A]))
        #expect(entries.contains([0x88, 0, 0x00, 0x00, 0, 0x00, 0x00, 0x10]))
        #expect(entries.contains([0x9E, 0, 0x00, 0x10, 0, 0x01, 0x00, 0x10]))
        #expect(entries.contains([0x00, 0, 0x00, 0x00, 0, 0x00, 0x00, 0x06]))
        #expect(!entries.contains { $0[0] == 0x85 || $0[0] == 0xA1 || $0[0] == 0x5E })
        // Every listed command is accepted: none of them answers INVALID COMMAND OPERATION CODE.
        for entry in entries {
            var cdb = [UInt8](repeating: 0, count: Int(entry[7]))
            cdb[0] = entry[0]
            if entry[5] & 0x01 != 0 { cdb[1] = entry[3] }
            let result = scsi.run(cdb)
            #expect(!result.hasSense(0x05, 0x20, 0x00), "\(entry)")
        }
    }

    @Test(arguments: [
        [UInt8(0x85), 0x08, 0x0E, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xEC, 0, 0],  // ATA PASS-THROUGH (16)
        [0xA1, 0x08, 0x0E, 0, 0, 0, 0, 0, 0, 0xEC, 0, 0],                       // ATA PASS-THROUGH (12)
        [0x5E, 0x00, 0, 0, 0, 0, 0, 0x00, 0xFF, 0],                             // PERSISTENT RESERVE IN
        [0x1D, 0x04, 0, 0, 0, 0],                                               // SEND DIAGNOSTIC
        [0x4D, 0, 0x40, 0, 0, 0, 0, 0x00, 0xFF, 0],                             // LOG SENSE
        [0x04, 0, 0, 0, 0, 0],                                                  // FORMAT UNIT
    ])
    func anythingElseIsInvalidCommandOperationCode(cdb: [UInt8]) throws {
        let scsi = try Rig.scsi()
        let result = scsi.run(cdb, inLength: 255)
        #expect(result.response.serviceResponse == .taskComplete)
        #expect(result.status == .checkCondition)
        // ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE, without a field pointer (SPC-5 makes
        // one optional here; this device gives none).
        #expect(result.sense == Self.invalidOpcode)
        #expect(result.data.allSatisfy { $0 == 0xEE })
        #expect(result.response.residual == 255)
    }

    @Test func anUnknownServiceActionIsAnInvalidField() throws {
        let scsi = try Rig.scsi()
        // SERVICE ACTION IN (16) with service action 12h (GET LBA STATUS, not supported).
        let result = scsi.run([0x9E, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0], inLength: 32)
        #expect(result.status == .checkCondition)
        #expect(result.hasSense(0x05, 0x24, 0x00))
        #expect(Array(result.sense[15..<18]) == [0xCC, 0x00, 0x01])
    }

    /// REPORTING OPTIONS 000b with RCTD: every command descriptor (SPC-5 6.35.2) has CTDP set and
    /// is followed by a command timeouts descriptor (length 000Ah, no timeouts given). The mock
    /// has every optional command, so all 30 commands are listed, in the device's order.
    @Test func allCommandsWithTimeoutDescriptors() throws {
        let scsi = try Rig.scsi()
        let list = scsi.run(CDB.reportSupportedOperationCodes(options: 0x80), inLength: 4096)
        #expect(list.isGood)
        // (OPERATION CODE, SERVICE ACTION or nil, CDB LENGTH) from SPC-5 / SBC-4.
        let commands: [(UInt8, UInt8?, UInt8)] = [
            (0x00, nil, 6), (0x03, nil, 6), (0x12, nil, 6), (0x15, nil, 6), (0x1A, nil, 6), (0x1B, nil, 6),
            (0x08, nil, 6), (0x0A, nil, 6), (0x25, nil, 10), (0x28, nil, 10), (0x2A, nil, 10), (0x2E, nil, 10),
            (0x2F, nil, 10), (0x35, nil, 10), (0x41, nil, 10), (0x42, nil, 10), (0x55, nil, 10), (0x5A, nil, 10),
            (0x88, nil, 16), (0x89, nil, 16), (0x8A, nil, 16), (0x8E, nil, 16), (0x8F, nil, 16), (0x91, nil, 16),
            (0x93, nil, 16), (0x9E, 0x10, 16), (0xA0, nil, 12), (0xA3, 0x0C, 12), (0xA8, nil, 12), (0xAA, nil, 12),
            (0xAE, nil, 12), (0xAF, nil, 12),
        ]
        var expected: [UInt8] = be(UInt64(commands.count * 20), 4)     // COMMAND DATA LENGTH
        for (opcode, action, length) in commands {
            expected += [opcode, 0, 0, action ?? 0, 0, 0x02 | (action == nil ? 0 : 0x01), 0, length]
            expected += [0x00, 0x0A, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]
        }
        #expect(Array(list.data[0..<expected.count]) == expected)
        #expect(list.response.bytesTransferred == expected.count)
    }
}
