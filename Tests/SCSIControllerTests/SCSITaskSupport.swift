import DMAMapper
import Logging
import MockNVMe
import NVMe
import Testing
import Translation
@testable import SCSIController

/// A SCSI host adapter over a mock controller, and a way to run one task through it the way an
/// initiator would: a CDB, a DMA buffer, a direction, a transfer length.
struct SCSIRig {
    let rig: Rig
    let hba: SCSIHostAdapter
    var mock: MockController { rig.mock }
    var controller: NVMeController { rig.controller }

    /// Brings an engine up on a mock. Unless `keepUnitAttention`, every LUN gets one TEST UNIT
    /// READY so the POWER ON RESET unit attention (SPC-5 / SAM-5) is consumed.
    init(keepUnitAttention: Bool = false, _ configure: (inout MockConfiguration) -> Void = { _ in },
         options: (inout ControllerOptions) -> Void = { _ in }) throws {
        rig = try Rig(configure, options: options)
        hba = SCSIHostAdapter(controller: rig.controller)
        if !keepUnitAttention {
            for lun in 0..<hba.facts.luns.count { run(CDB.testUnitReady, lun: UInt64(lun)) }
        }
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
            return TaskResult(response: hba.process(task, on: rig.queue), data: [])
        }
        if inLength > 0 {
            let buffer = try! controller.mapper.allocate(length: inLength)
            memset(buffer.address, Int32(fill), inLength)
            let task = SCSITask(lun: lun, cdb: cdb, buffer: buffer, transferLength: inLength, direction: .fromDevice, tag: 7)
            let response = hba.process(task, on: rig.queue)
            return TaskResult(response: response, data: Array(UnsafeRawBufferPointer(start: buffer.address, count: inLength)))
        }
        return TaskResult(response: hba.process(SCSITask(lun: lun, cdb: cdb, tag: 7), on: rig.queue), data: [])
    }

    /// VPD page `code` of `lun` (INQUIRY with EVPD, ALLOCATION LENGTH 255), expected GOOD: the
    /// bytes the device transferred.
    func vpdPage(_ code: UInt8, lun: UInt64 = 0, sourceLocation: SourceLocation = #_sourceLocation) -> [UInt8] {
        let result = run(CDB.inquiry(page: code, allocation: 255), lun: lun, inLength: 255)
        #expect(result.isGood, sourceLocation: sourceLocation)
        return Array(result.data.prefix(result.response.bytesTransferred))
    }

    /// Reads `blocks` blocks at `lba` through READ(16).
    func read(lba: UInt64, blocks: Int, lun: UInt64 = 0) -> TaskResult {
        run(CDB.read16(lba: lba, blocks: UInt32(blocks)), lun: lun, inLength: blocks * rig.blockSize)
    }

    /// Writes `data` at `lba` through WRITE(16).
    func write(lba: UInt64, _ data: [UInt8], fua: Bool = false, lun: UInt64 = 0) -> TaskResult {
        run(CDB.write16(lba: lba, blocks: UInt32(data.count / rig.blockSize), fua: fua), lun: lun, out: data)
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

/// Fixed-format sense (SPC-5 4.4.3), 18 bytes, written out from the layout: response code 70h,
/// sense key in byte 2, INFORMATION in bytes 3-6 (VALID in byte 0 bit 7), ADDITIONAL SENSE LENGTH
/// 0Ah, ASC/ASCQ in bytes 12-13, SENSE KEY SPECIFIC in bytes 15-17.
func fixedSense(_ key: UInt8, _ asc: UInt8, _ ascq: UInt8, information: UInt32? = nil,
                specific: [UInt8] = [0, 0, 0]) -> [UInt8] {
    let info = information ?? 0
    return [information == nil ? 0x70 : 0xF0, 0x00, key,
            UInt8(info >> 24), UInt8((info >> 16) & 0xFF), UInt8((info >> 8) & 0xFF), UInt8(info & 0xFF),
            0x0A, 0, 0, 0, 0, asc, ascq, 0x00] + specific
}

/// Descriptor-format sense (SPC-5 4.4.2) with no descriptors: 72h, key, ASC, ASCQ, 3 reserved, length 0.
func descriptorSense(_ key: UInt8, _ asc: UInt8, _ ascq: UInt8) -> [UInt8] {
    [0x72, key, asc, ascq, 0, 0, 0, 0]
}

/// `count` bytes of a pattern that depends on position and seed.
func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 9) &* 7) ^ seed }
}

/// Big-endian bytes of `value`, `count` bytes wide.
func be(_ value: UInt64, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * (count - 1 - $0))) }
}

/// CDBs laid out by hand from SBC-4 / SPC-5 (field offsets in the comments).
enum CDB {
    static let testUnitReady: [UInt8] = [0x00, 0, 0, 0, 0, 0]

    /// REQUEST SENSE: byte 1 bit 0 DESC, byte 4 ALLOCATION LENGTH.
    static func requestSense(desc: Bool = false, allocation: UInt8 = 252) -> [UInt8] {
        [0x03, desc ? 1 : 0, 0, 0, allocation, 0]
    }
    /// INQUIRY: byte 1 bit 0 EVPD, byte 2 PAGE CODE, bytes 3-4 ALLOCATION LENGTH.
    static func inquiry(page: UInt8? = nil, allocation: UInt16) -> [UInt8] {
        [0x12, page == nil ? 0 : 1, page ?? 0] + be(UInt64(allocation), 2) + [0]
    }
    static let readCapacity10: [UInt8] = [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    /// READ CAPACITY (16): SERVICE ACTION IN (16) 9Eh / 10h, ALLOCATION LENGTH in bytes 10-13.
    static func readCapacity16(allocation: UInt32 = 32) -> [UInt8] {
        [0x9E, 0x10] + [UInt8](repeating: 0, count: 8) + be(UInt64(allocation), 4) + [0, 0]
    }

    /// READ(6)/WRITE(6): 21-bit LBA in byte 1 bits 4-0 and bytes 2-3, TRANSFER LENGTH in byte 4.
    static func read6(lba: UInt32, blocks: UInt8) -> [UInt8] { rw6(0x08, lba, blocks) }
    static func write6(lba: UInt32, blocks: UInt8) -> [UInt8] { rw6(0x0A, lba, blocks) }
    private static func rw6(_ op: UInt8, _ lba: UInt32, _ blocks: UInt8) -> [UInt8] {
        [op, UInt8((lba >> 16) & 0x1F), UInt8((lba >> 8) & 0xFF), UInt8(lba & 0xFF), blocks, 0]
    }
    /// 10-byte block commands: byte 1 flags (DPO bit 4, FUA bit 3, BYTCHK bits 2-1), LBA bytes 2-5,
    /// GROUP byte 6, TRANSFER LENGTH bytes 7-8, CONTROL byte 9.
    static func ten(_ op: UInt8, flags: UInt8 = 0, lba: UInt32, blocks: UInt16) -> [UInt8] {
        [op, flags] + be(UInt64(lba), 4) + [0] + be(UInt64(blocks), 2) + [0]
    }
    /// 12-byte: LBA bytes 2-5, TRANSFER LENGTH bytes 6-9, GROUP 10, CONTROL 11.
    static func twelve(_ op: UInt8, flags: UInt8 = 0, lba: UInt32, blocks: UInt32) -> [UInt8] {
        [op, flags] + be(UInt64(lba), 4) + be(UInt64(blocks), 4) + [0, 0]
    }
    /// 16-byte: LBA bytes 2-9, TRANSFER LENGTH bytes 10-13, GROUP 14, CONTROL 15.
    static func sixteen(_ op: UInt8, flags: UInt8 = 0, lba: UInt64, blocks: UInt32) -> [UInt8] {
        [op, flags] + be(lba, 8) + be(UInt64(blocks), 4) + [0, 0]
    }
    static func read10(lba: UInt32, blocks: UInt16, flags: UInt8 = 0) -> [UInt8] { ten(0x28, flags: flags, lba: lba, blocks: blocks) }
    static func write10(lba: UInt32, blocks: UInt16, flags: UInt8 = 0) -> [UInt8] { ten(0x2A, flags: flags, lba: lba, blocks: blocks) }
    static func read12(lba: UInt32, blocks: UInt32, flags: UInt8 = 0) -> [UInt8] { twelve(0xA8, flags: flags, lba: lba, blocks: blocks) }
    static func write12(lba: UInt32, blocks: UInt32, flags: UInt8 = 0) -> [UInt8] { twelve(0xAA, flags: flags, lba: lba, blocks: blocks) }
    static func read16(lba: UInt64, blocks: UInt32, flags: UInt8 = 0) -> [UInt8] { sixteen(0x88, flags: flags, lba: lba, blocks: blocks) }
    static func write16(lba: UInt64, blocks: UInt32, fua: Bool = false, flags: UInt8 = 0) -> [UInt8] {
        sixteen(0x8A, flags: flags | (fua ? 0x08 : 0), lba: lba, blocks: blocks)
    }

    /// SYNCHRONIZE CACHE (10) 35h / (16) 91h: LBA and NUMBER OF LOGICAL BLOCKS (0 = to the end).
    static func synchronizeCache10(lba: UInt32 = 0, blocks: UInt16 = 0) -> [UInt8] { ten(0x35, lba: lba, blocks: blocks) }
    static func synchronizeCache16(lba: UInt64 = 0, blocks: UInt32 = 0) -> [UInt8] { sixteen(0x91, lba: lba, blocks: blocks) }

    /// START STOP UNIT: byte 4 POWER CONDITION bits 7-4, NO_FLUSH bit 2, LOEJ bit 1, START bit 0.
    static func startStopUnit(start: Bool, noFlush: Bool = false) -> [UInt8] {
        [0x1B, 0, 0, 0, (start ? 0x01 : 0) | (noFlush ? 0x04 : 0), 0]
    }

    /// MODE SENSE (6): byte 1 DBD bit 3, byte 2 PC bits 7-6 + PAGE CODE, byte 3 SUBPAGE, byte 4 ALLOCATION LENGTH.
    static func modeSense6(page: UInt8, pc: UInt8 = 0, dbd: Bool = false, allocation: UInt8 = 255) -> [UInt8] {
        [0x1A, dbd ? 0x08 : 0, pc << 6 | page, 0, allocation, 0]
    }
    /// MODE SENSE (10): byte 1 LLBAA bit 4, DBD bit 3; ALLOCATION LENGTH bytes 7-8.
    static func modeSense10(page: UInt8, pc: UInt8 = 0, dbd: Bool = false, llbaa: Bool = false,
                            allocation: UInt16 = 1024) -> [UInt8] {
        [0x5A, (dbd ? 0x08 : 0) | (llbaa ? 0x10 : 0), pc << 6 | page, 0, 0, 0, 0] + be(UInt64(allocation), 2) + [0]
    }
    /// MODE SELECT (6): byte 1 PF bit 4, SP bit 0; byte 4 PARAMETER LIST LENGTH.
    static func modeSelect6(length: UInt8, pf: Bool = true) -> [UInt8] { [0x15, pf ? 0x10 : 0, 0, 0, length, 0] }
    /// MODE SELECT (10): PARAMETER LIST LENGTH bytes 7-8.
    static func modeSelect10(length: UInt16) -> [UInt8] { [0x55, 0x10, 0, 0, 0, 0, 0] + be(UInt64(length), 2) + [0] }

    /// UNMAP: PARAMETER LIST LENGTH bytes 7-8.
    static func unmap(length: UInt16) -> [UInt8] { [0x42, 0, 0, 0, 0, 0, 0] + be(UInt64(length), 2) + [0] }
    /// WRITE SAME (10) 41h: byte 1 UNMAP bit 3; NUMBER OF LOGICAL BLOCKS bytes 7-8.
    static func writeSame10(lba: UInt32, blocks: UInt16, unmap: Bool = false) -> [UInt8] {
        ten(0x41, flags: unmap ? 0x08 : 0, lba: lba, blocks: blocks)
    }
    /// WRITE SAME (16) 93h: byte 1 UNMAP bit 3, NDOB bit 0; NUMBER OF LOGICAL BLOCKS bytes 10-13.
    static func writeSame16(lba: UInt64, blocks: UInt32, unmap: Bool = false, ndob: Bool = false) -> [UInt8] {
        sixteen(0x93, flags: (unmap ? 0x08 : 0) | (ndob ? 0x01 : 0), lba: lba, blocks: blocks)
    }
    /// COMPARE AND WRITE 89h: LBA bytes 2-9, NUMBER OF LOGICAL BLOCKS byte 13.
    static func compareAndWrite(lba: UInt64, blocks: UInt8, fua: Bool = false) -> [UInt8] {
        [0x89, fua ? 0x08 : 0] + be(lba, 8) + [0, 0, 0, blocks, 0, 0]
    }
    /// REPORT LUNS A0h: SELECT REPORT byte 2, ALLOCATION LENGTH bytes 6-9.
    static func reportLUNs(select: UInt8 = 0, allocation: UInt32 = 4096) -> [UInt8] {
        [0xA0, 0, select, 0, 0, 0] + be(UInt64(allocation), 4) + [0, 0]
    }
    /// REPORT SUPPORTED OPERATION CODES A3h/0Ch: byte 2 RCTD bit 7 + REPORTING OPTIONS bits 2-0,
    /// byte 3 REQUESTED OPERATION CODE, bytes 4-5 REQUESTED SERVICE ACTION, ALLOCATION LENGTH 6-9.
    static func reportSupportedOperationCodes(options: UInt8, opcode: UInt8 = 0, serviceAction: UInt16 = 0,
                                              allocation: UInt32 = 4096) -> [UInt8] {
        [0xA3, 0x0C, options, opcode] + be(UInt64(serviceAction), 2) + be(UInt64(allocation), 4) + [0, 0]
    }
}

#if canImport(Glibc)
import Glibc
#endif
