import Testing
@testable import NVMe

/// Bit positions from NVMe Base 2.0 section 3.1.4 (Controller Registers).
@Suite struct RegisterTests {
    @Test func registerOffsets() {
        #expect(ControllerRegister.cap == 0x00)
        #expect(ControllerRegister.vs == 0x08)
        #expect(ControllerRegister.cc == 0x14)
        #expect(ControllerRegister.csts == 0x1C)
        #expect(ControllerRegister.aqa == 0x24)
        #expect(ControllerRegister.asq == 0x28)
        #expect(ControllerRegister.acq == 0x30)
    }

    @Test func doorbellOffsetsFollowTheStride() {
        #expect(ControllerRegister.submissionTailDoorbell(queueID: 0, stride: 0) == 0x1000)
        #expect(ControllerRegister.completionHeadDoorbell(queueID: 0, stride: 0) == 0x1004)
        #expect(ControllerRegister.submissionTailDoorbell(queueID: 1, stride: 0) == 0x1008)
        #expect(ControllerRegister.completionHeadDoorbell(queueID: 1, stride: 0) == 0x100C)
        // DSTRD 2: 16-byte stride.
        #expect(ControllerRegister.submissionTailDoorbell(queueID: 1, stride: 2) == 0x1000 + 2 * 16)
        #expect(ControllerRegister.completionHeadDoorbell(queueID: 1, stride: 2) == 0x1000 + 3 * 16)
    }

    @Test func capabilitiesFields() {
        // MQES 15:0, CQR 16, AMS 18:17, TO 31:24, DSTRD 35:32, NSSRS 36, CSS 44:37, MPSMIN 51:48, MPSMAX 55:52.
        let raw: UInt64 = 0x3FF | 1 << 16 | 0b01 << 17 | 20 << 24 | 3 << 32 | 1 << 36 | 0x1 << 37 | 0 << 48 | 4 << 52
        let cap = ControllerCapabilities(rawValue: raw)
        #expect(cap.mqes == 0x3FF && cap.maximumQueueEntries == 1024)
        #expect(cap.cqr)
        #expect(cap.ams == 1)
        #expect(cap.to == 20 && cap.timeoutMilliseconds == 10_000)
        #expect(cap.dstrd == 3)
        #expect(cap.nssrs)
        #expect(cap.supportsNVMCommandSet)
        #expect(cap.minimumPageSize == 4096)
        #expect(cap.maximumPageSize == 65536)
        var built = ControllerCapabilities(rawValue: 0)
        built.mqes = 0x3FF; built.cqr = true; built.ams = 1; built.to = 20; built.dstrd = 3
        built.nssrs = true; built.css = 1; built.mpsmin = 0; built.mpsmax = 4
        #expect(built.rawValue == raw)
    }

    @Test func configurationFields() {
        var cc = ControllerConfiguration()
        cc.en = true
        cc.css = 0
        cc.mps = 1
        cc.ams = 0
        cc.shn = .normal
        cc.iosqes = 6
        cc.iocqes = 4
        // EN 0, CSS 6:4, MPS 10:7, AMS 13:11, SHN 15:14, IOSQES 19:16, IOCQES 23:20.
        #expect(cc.rawValue == 1 | 1 << 7 | 0b01 << 14 | 6 << 16 | 4 << 20)
        cc.shn = .abrupt
        #expect(cc.rawValue >> 14 & 0b11 == 0b10)
    }

    @Test func statusFields() {
        // RDY 0, CFS 1, SHST 3:2.
        let csts = ControllerStatus(rawValue: 1 | 1 << 1 | 0b10 << 2)
        #expect(csts.rdy && csts.cfs && csts.shst == .complete)
        #expect(ControllerStatus(rawValue: 0xFFFF_FFFF).isAllOnes)
        #expect(ControllerStatus(rawValue: 0b01 << 2).shst == .occurring)
    }

    @Test func versionAndAdminQueueAttributes() throws {
        let vs = ControllerVersion(rawValue: 0x0002_0103)
        #expect(vs.major == 2 && vs.minor == 1 && vs.tertiary == 3 && vs.description == "2.1.3")
        #expect(ControllerVersion(major: 1, minor: 4).rawValue == 0x0001_0400)
        let aqa = try AdminQueueAttributes(submissionEntryCount: 32, completionEntryCount: 64)
        #expect(aqa.rawValue == 31 | 63 << 16)  // ASQS 11:0, ACQS 27:16, 0's based
        #expect(aqa.asqs == 31 && aqa.acqs == 63)
        let largest = try AdminQueueAttributes(submissionEntryCount: 4096, completionEntryCount: 2)
        #expect(largest.rawValue == 0xFFF | 1 << 16)
    }
}
