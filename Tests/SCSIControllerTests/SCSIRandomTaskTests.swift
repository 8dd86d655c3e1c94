import MockNVMe
import SeededRandom
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// Seeded random tasks through `SCSIHostAdapter.process` on the inline mock: commands from the
/// adapter's own table (REPORT SUPPORTED OPERATION CODES) with random fields, and random
/// buffers, offsets (up to Int.max), transfer lengths, directions and LUNs. Nothing may trap,
/// and every answer must be well formed.
@Suite struct SCSIRandomTaskTests {
    struct Command {
        var cdbLength: Int
        var usage: [UInt8]
    }

    /// Every supported command with its CDB usage data, as the device reports them.
    static func commands(_ scsi: Rig) throws -> [Command] {
        let all = scsi.run(CDB.reportSupportedOperationCodes(options: 0), inLength: 4096)
        try #require(all.isGood)
        let length = Int(all.data[0]) << 24 | Int(all.data[1]) << 16 | Int(all.data[2]) << 8 | Int(all.data[3])
        return try stride(from: 4, to: 4 + length, by: 8).map { offset in
            let entry = all.data[offset..<(offset + 8)]
            let serviceAction = entry[offset + 5] & 0x01 != 0
            let one = scsi.run(CDB.reportSupportedOperationCodes(options: serviceAction ? 2 : 1, opcode: entry[offset],
                                                                 serviceAction: UInt16(entry[offset + 3])), inLength: 64)
            try #require(one.isGood && one.data[1] & 0x07 == 0x03)
            let size = Int(one.data[2]) << 8 | Int(one.data[3])
            return Command(cdbLength: size, usage: Array(one.data[4..<(4 + size)]))
        }
    }

    @Test func randomTasksNeverTrapAndAlwaysAnswerWell() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 2048), MockNamespace(blockCount: 64, blockSize: 4096)] }
        let commands = try Self.commands(scsi)
        #expect(commands.count >= 25)
        let buffers = try [scsi.controller.mapper.allocate(length: 64 << 10), scsi.controller.mapper.allocate(length: 4096)]
        var random = SplitMix64(seed: 0x5C51_7A5C)
        var answered: [SCSIStatus: Int] = [:]

        for iteration in 0..<4000 {
            // Now and then the initiator starts the unit again, as a random START STOP UNIT may stop it.
            if iteration % 50 == 0 { scsi.run(CDB.startStopUnit(start: true)) }
            let command = commands[Int(random.next() % UInt64(commands.count))]
            var cdb = (0..<command.cdbLength).map { _ in UInt8.random(in: 0...255, using: &random) }
            var lengthByte = Int(cdb[cdb.count - 2])
            if random.next() % 4 != 0 {
                // Within the usage data (the service action code stands in byte 1), and mostly
                // small LBAs and lengths so the block commands reach the device.
                for index in 1..<cdb.count { cdb[index] &= command.usage[index] }
                if command.usage[1] & 0x1F != 0, command.usage[0] == 0x9E || command.usage[0] == 0xA3 { cdb[1] = command.usage[1] }
                for index in 2..<(cdb.count - 1) where random.next() % 16 != 0 { cdb[index] = 0 }
                if random.next() % 2 == 0 { cdb[cdb.count - 2] = UInt8(random.next() % 9) }
                lengthByte = Int(cdb[cdb.count - 2])
            }
            cdb[0] = command.usage[0]
            // Half the tasks are plausible (LUN 0, the large buffer, as many 512-byte blocks as the
            // byte before CONTROL says, which is the low byte of most length fields), so commands
            // get past the task checks; the rest are anything at all.
            let plausible = random.next() % 2 == 0
            let transferLength = plausible ? lengthByte * 512
                : [0, 512, 4096, 8192, Int(random.next() % 70_000), -1, Int.max][Int(random.next() % 7)]
            let offset = plausible ? 0 : [0, 512, Int(random.next() % 70_000), Int.max, Int.max - 100, -1][Int(random.next() % 6)]
            let buffer = plausible ? buffers[0] : random.next() % 8 == 0 ? nil : buffers[Int(random.next() % 2)]
            let direction: DataDirection = plausible && transferLength == 0 ? .none
                : [.none, .fromDevice, .toDevice][Int(random.next() % (plausible ? 2 : 3)) + (plausible ? 1 : 0)]
            let task = SCSITask(lun: plausible ? 0 : random.next() % 4, cdb: cdb, buffer: buffer, bufferOffset: offset,
                                transferLength: transferLength, direction: direction, tag: UInt64(iteration))
            let response = scsi.hba.process(task, on: scsi.queue)
            answered[response.status, default: 0] += 1


            let context = "task \(iteration): \(cdb) length \(transferLength) offset \(task.bufferOffset)"
            #expect(response.tag == UInt64(iteration), "\(context)")
            #expect(response.serviceResponse == .taskComplete, "\(context)")
            #expect(response.residual >= 0 && response.bytesTransferred >= 0, "\(context)")
            #expect(response.bytesTransferred <= max(0, transferLength), "\(context)")
            switch response.status {
            case .good:
                #expect(response.sense.isEmpty, "\(context)")
            case .checkCondition, .taskAborted:
                #expect(DecodedSense(response.sense) != nil, "\(context): \(response.sense)")
            default:
                Issue.record("\(context): status \(response.status)")
            }
        }
        // Both kinds of answer were reached often enough to mean something, and some tasks got
        // as far as the device.
        #expect(answered[.good, default: 0] > 500)
        #expect(answered[.checkCondition, default: 0] > 500)
        #expect(scsi.mock.statistics.hostReadCommands + scsi.mock.statistics.hostWriteCommands > 10)
    }
}
