import DMAMapper
import Logging
import MockNVMe
import NVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// The SCSI side of `Rig`: its host adapter brought up with the POWER ON RESET unit attentions
/// consumed, and a way to run one task through it the way an initiator would: a CDB, a DMA
/// buffer, a direction, a transfer length.
extension Rig {
    /// Brings an engine up on a mock. Unless `keepUnitAttention`, every LUN gets one TEST UNIT
    /// READY so the POWER ON RESET unit attention (SPC-5 / SAM-5) is consumed.
    static func scsi(keepUnitAttention: Bool = false, _ configure: (inout MockConfiguration) -> Void = { _ in },
                     options: (inout ControllerOptions) -> Void = { _ in }) throws -> Rig {
        let rig = try Rig(configure, options: options)
        if !keepUnitAttention {
            for lun in 0..<rig.hba.facts.luns.count { rig.run(CDB.testUnitReady, lun: UInt64(lun)) }
        }
        return rig
    }

    /// Runs `cdb` with a data-out buffer holding `out`, or a data-in buffer of `inLength` bytes
    /// (pre-filled with `fill` so bytes the device did not write can be told apart), or no data.
    @discardableResult
    func run(_ cdb: [UInt8], lun: UInt64 = 0, out: [UInt8]? = nil, inLength: Int = 0, fill: UInt8 = 0xEE) -> TaskResult {
        if let out {
            let buffer = out.isEmpty ? nil : try! controller.mapper.allocate(length: out.count)
            if let buffer { out.withUnsafeBytes { buffer.address.copyMemory(from: $0.baseAddress!, byteCount: out.count) } }
            let task = SCSITask(lun: lun, cdb: cdb, buffer: buffer, transferLength: out.count,
                                direction: out.isEmpty ? .none : .toDevice, tag: 7)
            return TaskResult(response: hba.process(task, on: queue), data: [])
        }
        if inLength > 0 {
            let buffer = try! controller.mapper.allocate(length: inLength)
            memset(buffer.address, Int32(fill), inLength)
            let task = SCSITask(lun: lun, cdb: cdb, buffer: buffer, transferLength: inLength, direction: .fromDevice, tag: 7)
            let response = hba.process(task, on: queue)
            return TaskResult(response: response, data: Array(UnsafeRawBufferPointer(start: buffer.address, count: inLength)))
        }
        return TaskResult(response: hba.process(SCSITask(lun: lun, cdb: cdb, tag: 7), on: queue), data: [])
    }

    /// VPD page `code` of `lun` (INQUIRY with EVPD, ALLOCATION LENGTH 255), expected GOOD: the
    /// bytes the device transferred.
    func vpdPage(_ code: UInt8, lun: UInt64 = 0, sourceLocation: SourceLocation = #_sourceLocation) -> [UInt8] {
        let result = run(CDB.inquiry(page: code, allocation: 255), lun: lun, inLength: 255)
        #expect(result.isGood, sourceLocation: sourceLocation)
        return Array(result.data.prefix(result.response.bytesTransferred))
    }

    /// Reads `blocks` blocks at `lba` through SCSI READ(16).
    func scsiRead(lba: UInt64, blocks: Int, lun: UInt64 = 0) -> TaskResult {
        run(CDB.read16(lba: lba, blocks: UInt32(blocks)), lun: lun, inLength: blocks * blockSize)
    }

    /// Writes `data` at `lba` through SCSI WRITE(16).
    func scsiWrite(lba: UInt64, _ data: [UInt8], fua: Bool = false, lun: UInt64 = 0) -> TaskResult {
        run(CDB.write16(lba: lba, blocks: UInt32(data.count / blockSize), fua: fua), lun: lun, out: data)
    }

    /// What the mock's media holds (cache first), bypassing the driver.
    func media(lba: UInt64, count: Int, nsid: UInt32 = 1) -> [UInt8] {
        mock.mediaContents(nsid: nsid, lba: lba, count: count)
    }
}

/// A task's response and, for data-in, the whole task buffer afterwards.
struct TaskResult {
    var response: SCSITaskResponse
    var data: [UInt8]
    var status: SCSIStatus { response.status }
    var sense: [UInt8] { response.sense }
    var isGood: Bool { response.serviceResponse == .taskComplete && response.status == .good && response.sense.isEmpty }
    /// Sense key, ASC, ASCQ from either format.
    var senseTriple: (key: UInt8, asc: UInt8, ascq: UInt8)? {
        guard let first = sense.first else { return nil }
        switch first & 0x7F {
        case 0x70, 0x71: return sense.count >= 14 ? (sense[2] & 0x0F, sense[12], sense[13]) : nil
        case 0x72, 0x73: return sense.count >= 4 ? (sense[1] & 0x0F, sense[2], sense[3]) : nil
        default: return nil
        }
    }
    func hasSense(_ key: UInt8, _ asc: UInt8, _ ascq: UInt8) -> Bool {
        guard let triple = senseTriple else { return false }
        return triple.key == key && triple.asc == asc && triple.ascq == ascq
    }
}

#if canImport(Glibc)
import Glibc
#endif
