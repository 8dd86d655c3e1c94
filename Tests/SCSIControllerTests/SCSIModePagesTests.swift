import MockNVMe
import NVMe
import Testing
import Translation
import TestSupport
@testable import SCSIController

/// MODE SENSE (6)/(10) and MODE SELECT (6)/(10) (SPC-5 6.11-6.14): the caching page's WCE is the
/// mock's volatile write cache; the control page's D_SENSE picks the sense format.
@Suite struct SCSIModePagesTests {

    func wceFromGetFeatures(_ scsi: Rig) throws -> Bool {
        let completion = try scsi.controller.adminCommand(.getFeatures(.volatileWriteCache), name: "Get Features")
        return completion.dw0 & 1 == 1
    }

    @Test func modeSense6CachingPageWithBlockDescriptor() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 0x20_0000)]; $0.volatileWriteCache = true }
        let sense = scsi.run(CDB.modeSense6(page: 0x08), inLength: 255)
        #expect(sense.isGood)
        // Header: MODE DATA LENGTH 1Fh (32 - 1), MEDIUM TYPE 0, DEVICE-SPECIFIC PARAMETER DPOFUA,
        // BLOCK DESCRIPTOR LENGTH 8; block descriptor: NUMBER OF LOGICAL BLOCKS 00200000h,
        // reserved, LOGICAL BLOCK LENGTH 000200h.
        let expected: [UInt8] = [0x1F, 0x00, 0x10, 0x08, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00]
            + ModePage.caching(wce: true)
        #expect(Array(sense.data[0..<32]) == expected)
        #expect(sense.response.bytesTransferred == 32)
    }

    @Test func modeSense10AllPagesWithoutBlockDescriptors() throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        let sense = scsi.run(CDB.modeSense10(page: 0x3F, dbd: true), inLength: 1024)
        #expect(sense.isGood)
        let pages = ModePage.caching(wce: true) + ModePage.control(dSense: false)
        // MODE DATA LENGTH (2 bytes) = 6 + pages, MEDIUM TYPE, DSP, LONGLBA 0, reserved, BLOCK DESCRIPTOR LENGTH 0.
        let expected: [UInt8] = [0x00, UInt8(6 + pages.count), 0x00, 0x10, 0x00, 0x00, 0x00, 0x00] + pages
        #expect(Array(sense.data[0..<expected.count]) == expected)
        #expect(sense.response.residual == 1024 - expected.count)
    }

    @Test func modeSense10LongLBABlockDescriptor() throws {
        let scsi = try Rig.scsi { $0.namespaces = [MockNamespace(blockCount: 0x1_0000_0002)] }
        let sense = scsi.run(CDB.modeSense10(page: 0x0A, llbaa: true), inLength: 1024)
        #expect(sense.isGood)
        // LONGLBA set, BLOCK DESCRIPTOR LENGTH 16; long descriptor: 8-byte block count, 4
        // reserved, 4-byte LOGICAL BLOCK LENGTH.
        let expected: [UInt8] = [0x00, 0x22, 0x00, 0x10, 0x01, 0x00, 0x00, 0x10,
                                 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x02, 0x00] + ModePage.control(dSense: false)
        #expect(Array(sense.data[0..<expected.count]) == expected)
    }

    @Test func modeSenseTruncatesToItsAllocationLength() throws {
        let scsi = try Rig.scsi()
        let sense = scsi.run(CDB.modeSense6(page: 0x08, allocation: 4), inLength: 64)
        #expect(sense.isGood)
        #expect(Array(sense.data[0..<4]) == [0x1F, 0x00, 0x10, 0x08])
        #expect(sense.data[4] == 0xEE)
        #expect(sense.response.residual == 60)
    }

    @Test func changeableValuesShowWCEAndDSense() throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        let sense = scsi.run(CDB.modeSense6(page: 0x3F, pc: 1, dbd: true), inLength: 255)
        #expect(sense.isGood)
        let pages = Array(sense.data[4..<(4 + 20 + 12)])
        #expect(pages == ModePage.caching(wce: true) + [0x0A, 0x0A, 0x04] + [UInt8](repeating: 0, count: 9))
    }

    @Test func anUnsupportedPageIsAnInvalidField() throws {
        let scsi = try Rig.scsi()
        let sense = scsi.run(CDB.modeSense6(page: 0x1C), inLength: 255)
        #expect(sense.status == .checkCondition)
        // INVALID FIELD IN CDB at the PAGE CODE field: byte 2, bits 5-0, so BPV with bit 5 (the
        // field's most significant bit, SPC-5 4.4.2.2).
        #expect(sense.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xCD, 0x00, 0x02]))
    }

    @Test func modeSelectWCEOffReachesTheDeviceAndMakesWritesDurable() throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        #expect(try wceFromGetFeatures(scsi))
        let parameters: [UInt8] = [0x00, 0x00, 0x00, 0x00] + ModePage.caching(wce: false)
        let select = scsi.run(CDB.modeSelect6(length: UInt8(parameters.count)), out: parameters)
        #expect(select.isGood)
        #expect(try !wceFromGetFeatures(scsi))
        // MODE SENSE reports the new value.
        let sense = scsi.run(CDB.modeSense6(page: 0x08, dbd: true), inLength: 24)
        #expect(Array(sense.data[4..<24]) == ModePage.caching(wce: false))
        // With the cache off a plain write survives a power cut.
        let data = pattern(8 * 512, seed: 6)
        #expect(scsi.scsiWrite(lba: 0, data).isGood)
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 0, count: 8) == data)
    }

    @Test func modeSelect10WCEOnTurnsTheCacheBackOn() throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        let off: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0] + ModePage.caching(wce: false)
        #expect(scsi.run(CDB.modeSelect10(length: UInt16(off.count)), out: off).isGood)
        #expect(try !wceFromGetFeatures(scsi))
        let on: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0] + ModePage.caching(wce: true)
        #expect(scsi.run(CDB.modeSelect10(length: UInt16(on.count)), out: on).isGood)
        #expect(try wceFromGetFeatures(scsi))
        // Cached again: an unflushed write is lost in a power cut.
        #expect(scsi.scsiWrite(lba: 0, pattern(8 * 512, seed: 7)).isGood)
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 0, count: 8) == [UInt8](repeating: 0, count: 8 * 512))
    }

    @Test func dSenseSwitchesLaterSenseToDescriptorFormat() throws {
        let scsi = try Rig.scsi()
        let parameters: [UInt8] = [0x00, 0x00, 0x00, 0x00] + ModePage.control(dSense: true)
        #expect(scsi.run(CDB.modeSelect6(length: UInt8(parameters.count)), out: parameters).isGood)
        let sense = scsi.run(CDB.modeSense6(page: 0x0A, dbd: true), inLength: 16)
        #expect(Array(sense.data[4..<16]) == ModePage.control(dSense: true))
        // An LBA out of range now comes back as 72h: ILLEGAL REQUEST, 21h/00h, no descriptors.
        let read = scsi.run(CDB.read10(lba: 0xFFFF_FFF0, blocks: 1), inLength: 512)
        #expect(read.sense == descriptorSense(0x05, 0x21, 0x00))
        // A field pointer travels in a sense key specific descriptor (type 02h, length 06h).
        let bad = scsi.run([0x28, 0x04, 0, 0, 0, 0, 0, 0, 1, 0], inLength: 512)
        #expect(bad.sense == [0x72, 0x05, 0x24, 0x00, 0, 0, 0, 0x08, 0x02, 0x06, 0x00, 0x00, 0xCA, 0x00, 0x01, 0x00])
        // And back.
        let fixed: [UInt8] = [0x00, 0x00, 0x00, 0x00] + ModePage.control(dSense: false)
        #expect(scsi.run(CDB.modeSelect6(length: UInt8(fixed.count)), out: fixed).isGood)
        #expect(scsi.run(CDB.read10(lba: 0xFFFF_FFF0, blocks: 1), inLength: 512).sense == fixedSense(0x05, 0x21, 0x00))
    }

    @Test func savedValuesAreNotSupported() throws {
        let scsi = try Rig.scsi()
        // PC 11b: ILLEGAL REQUEST, SAVING PARAMETERS NOT SUPPORTED (39h/00h).
        let sense = scsi.run(CDB.modeSense6(page: 0x08, pc: 3), inLength: 255)
        #expect(sense.status == .checkCondition)
        #expect(sense.hasSense(0x05, 0x39, 0x00))
    }

    @Test func requestSenseDescBitWinsOverDSense() throws {
        let scsi = try Rig.scsi()
        let parameters: [UInt8] = [0x00, 0x00, 0x00, 0x00] + ModePage.control(dSense: true)
        #expect(scsi.run(CDB.modeSelect6(length: UInt8(parameters.count)), out: parameters).isGood)
        #expect(scsi.run(CDB.startStopUnit(start: false)).isGood)
        // DESC 0: fixed format, whatever D_SENSE says (SPC-5 6.39).
        let fixed = scsi.run(CDB.requestSense(desc: false, allocation: 18), inLength: 18)
        #expect(fixed.data == fixedSense(0x02, 0x04, 0x02))
        let descriptor = scsi.run(CDB.requestSense(desc: true, allocation: 18), inLength: 8)
        #expect(descriptor.data == descriptorSense(0x02, 0x04, 0x02))
    }

    @Test func wceOffSurvivesAControllerReset() throws {
        // A stuck write whose Abort fails makes the engine reset the controller, which puts the
        // device's features back to their defaults (cache on). MODE SELECT's WCE=0 must survive it.
        let scsi = try Rig.scsi({ $0.volatileWriteCache = true }, options: { $0.commandTimeoutMilliseconds = 50 })
        let off: [UInt8] = [0, 0, 0, 0] + ModePage.caching(wce: false)
        #expect(scsi.run(CDB.modeSelect6(length: UInt8(off.count)), out: off).isGood)
        scsi.mock.inject(.neverComplete(.io(.write, count: 1)))
        scsi.mock.inject(.failCommands(.admin(.abort, count: 1), status: CompletionStatus(.abortCommandLimitExceeded)))
        // The engine aborted the write: CHECK CONDITION, ABORTED COMMAND, COMMAND TIMEOUT DURING PROCESSING.
        #expect(scsi.scsiWrite(lba: 0, pattern(512, seed: 1)).sense == fixedSense(0x0B, 0x2E, 0x02))
        #expect(scsi.controller.resetCount == 1)
        #expect(try !wceFromGetFeatures(scsi))
        // The reset is reported once as a unit attention (29h/00h) before commands run again.
        #expect(scsi.run(CDB.testUnitReady).hasSense(0x06, 0x29, 0x00))
        let sense = scsi.run(CDB.modeSense6(page: 0x08, dbd: true), inLength: 24)
        #expect(Array(sense.data[4..<24]) == ModePage.caching(wce: false))
        let data = pattern(8 * 512, seed: 8)
        #expect(scsi.scsiWrite(lba: 0, data).isGood)
        scsi.mock.powerCut()
        #expect(scsi.media(lba: 0, count: 8) == data)
    }

    @Test func modeSelectOfAFieldThatCannotChangeIsRefused() throws {
        let scsi = try Rig.scsi()
        // Caching page with RCD (byte 2 bit 0) set: not changeable. Parameter list byte 4 + 2 = 6, bit 0.
        var page = ModePage.caching(wce: true)
        page[2] |= 0x01
        let result = scsi.run(CDB.modeSelect6(length: 24), out: [0, 0, 0, 0] + page)
        #expect(result.status == .checkCondition)
        // INVALID FIELD IN PARAMETER LIST, SKSV with C/D 0 and BPV, bit 0, FIELD POINTER 0006h.
        #expect(result.sense == fixedSense(0x05, 0x26, 0x00, specific: [0x88, 0x00, 0x06]))
        // PF = 0 is refused at CDB byte 1 bit 4.
        let noPF = scsi.run(CDB.modeSelect6(length: 24, pf: false), out: [0, 0, 0, 0] + ModePage.caching(wce: true))
        #expect(noPF.sense == fixedSense(0x05, 0x24, 0x00, specific: [0xCC, 0x00, 0x01]))
    }

    /// PC 10b returns the default values (SPC-5 6.13): WCE as the device had it at attach time
    /// and D_SENSE 0, whatever MODE SELECT has made current since.
    @Test func defaultValuesIgnoreWhatModeSelectChanged() throws {
        let scsi = try Rig.scsi { $0.volatileWriteCache = true }
        // MODE SELECT (6): the caching page with WCE 0, then the control page with D_SENSE 1.
        let caching: [UInt8] = [0, 0, 0, 0, 0x08, 0x12] + [UInt8](repeating: 0, count: 18)
        #expect(scsi.run(CDB.modeSelect6(length: UInt8(caching.count)), out: caching).isGood)
        SCSIStatusMappingTests.useDescriptorSense(scsi)
        // MODE SENSE (6) of all pages (3Fh), DBD: MODE DATA LENGTH 23h, MEDIUM TYPE 0, DPOFUA,
        // no block descriptors; caching page 08h (length 12h), control page 0Ah (length 0Ah).
        func pages(wce: Bool, dSense: Bool) -> [UInt8] {
            [0x23, 0x00, 0x10, 0x00] + [0x08, 0x12, wce ? 0x04 : 0x00] + [UInt8](repeating: 0, count: 17)
                + [0x0A, 0x0A, dSense ? 0x06 : 0x02, 0x10, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0]
        }
        let defaults = scsi.run(CDB.modeSense6(page: 0x3F, pc: 2, dbd: true), inLength: 255)
        #expect(defaults.isGood)
        #expect(Array(defaults.data[0..<36]) == pages(wce: true, dSense: false))
        #expect(defaults.response.bytesTransferred == 36)
        let current = scsi.run(CDB.modeSense6(page: 0x3F, pc: 0, dbd: true), inLength: 255)
        #expect(Array(current.data[0..<36]) == pages(wce: false, dSense: true))
    }
}
