import DMAMapper
import Foundation
import MockNVMe
import NVMe
import Testing

/// Get/Set Features select values and the Power Management feature (NVMe Base 2.0, 5.15, 5.27.1.2),
/// and the Power State Descriptors of Identify Controller (NPSS at byte 263, descriptors at 2048).
@Suite("Features and power management")
struct FeatureTests {
    /// SEL 011b: completion Dword 0 bit 2 changeable, bit 1 namespace specific, bit 0 saveable.
    /// SEL 100b-111b are reserved: Invalid Field in Command.
    @Test func selectValues() throws {
        let harness = try Harness()
        for feature in [FeatureID.arbitration, .powerManagement, .volatileWriteCache, .numberOfQueues] {
            let capabilities = harness.execute(.getFeatures(feature, select: 3))
            #expect(capabilities.status.isSuccess)
            #expect(capabilities.dw0 == 0b100, "\(feature)")
            for reserved in UInt8(4)...7 {
                let completion = harness.execute(.getFeatures(feature, select: reserved))
                #expect(completion.status.matches(.invalidFieldInCommand), "\(feature) SEL \(reserved)")
            }
        }
        // SEL 010b (saved) of a feature that is not saveable reports the default.
        #expect(harness.execute(.setFeatures(.volatileWriteCache, value: 0)).status.isSuccess)
        #expect(harness.execute(.getFeatures(.volatileWriteCache, select: 0)).dw0 == 0)
        #expect(harness.execute(.getFeatures(.volatileWriteCache, select: 1)).dw0 == 1)
        #expect(harness.execute(.getFeatures(.volatileWriteCache, select: 2)).dw0 == 1)
    }

    @Test func identifyReportsPowerStates() throws {
        var configuration = MockConfiguration()
        configuration.powerStates = [
            PowerStateDescriptor(maximumPowerCentiwatts: 900, entryLatency: 0, exitLatency: 0),
            PowerStateDescriptor(maximumPowerCentiwatts: 300, nonOperational: true, entryLatency: 2000, exitLatency: 4000, relativePerformance: 1),
        ]
        let harness = try Harness(configuration)
        let buffer = try harness.allocate(4096)
        #expect(harness.execute(.identify(.controller), buffer: buffer).status.isSuccess)
        let bytes = UnsafeRawBufferPointer(start: buffer.address, count: 4096)
        #expect(bytes[263] == 1)  // NPSS: two states, 0's based
        // PS1 at 2048 + 32: MP 300 (bytes 1:0), NOPS (byte 3 bit 1), ENLAT 2000, EXLAT 4000.
        #expect(bytes.loadUnaligned(fromByteOffset: 2080, as: UInt16.self) == 300)
        #expect(bytes[2083] == 0b10)
        #expect(bytes.loadUnaligned(fromByteOffset: 2084, as: UInt32.self) == 2000)
        #expect(bytes.loadUnaligned(fromByteOffset: 2088, as: UInt32.self) == 4000)
        #expect(bytes[2092] == 1 && bytes[2093] == 1)  // RRT, RRL
        #expect(bytes.loadUnaligned(fromByteOffset: 2048, as: UInt16.self) == 900)
        #expect(bytes[2051] == 0)
        // Nothing past the last descriptor.
        #expect(bytes[2112..<2144].allSatisfy { $0 == 0 })
        let decoded = IdentifyController(bytes: bytes)
        #expect(decoded.npss == 1 && decoded.powerStates == configuration.powerStates)
    }

    /// Set Features PS must name a reported state (PS <= NPSS), else Invalid Field; Get Features
    /// returns the current PS (bits 4:0) and WH (bits 7:5); a reset returns to PS0.
    @Test func powerManagementFeature() throws {
        let harness = try Harness()  // three states by default
        #expect(harness.execute(.getFeatures(.powerManagement)).dw0 == 0)
        #expect(harness.execute(.setFeatures(.powerManagement, value: 2 | 3 << 5)).status.isSuccess)
        #expect(harness.execute(.getFeatures(.powerManagement)).dw0 == 2 | 3 << 5)
        #expect(harness.execute(.getFeatures(.powerManagement, select: 1)).dw0 == 0)
        let beyond = harness.execute(.setFeatures(.powerManagement, value: 3))
        #expect(beyond.status.matches(.invalidFieldInCommand))
        #expect(harness.execute(.setFeatures(.powerManagement, value: 31)).status.matches(.invalidFieldInCommand))
        #expect(harness.execute(.getFeatures(.powerManagement)).dw0 & 0x1F == 2)  // unchanged by the refusals
        #expect(harness.execute(.setFeatures(.powerManagement, value: 1, save: true)).status.matches(.featureIdentifierNotSaveable))
        try harness.resetController()
        #expect(harness.execute(.getFeatures(.powerManagement)).dw0 == 0)
    }

    /// LPO (CDW12/13) selects where in the page the transfer starts; it must be dword aligned and
    /// inside the page, else Invalid Field. Reading past the page's end returns zeros.
    @Test func logPageOffset() throws {
        let harness = try Harness.withQueuePair()
        for lba in UInt64(0)..<3 { try harness.writePattern(lba: lba * 8, blocks: 8, seed: UInt8(lba)) }
        let whole = try harness.allocate(4096)
        #expect(try harness.execute(.getLogPage(.smartHealth, byteCount: 512), buffer: whole).status.isSuccess)
        let part = try harness.allocate(4096)
        // Bytes 48-63 (Data Units Written) and 64-79 (Host Read Commands): LPO 48, 32 bytes.
        #expect(try harness.execute(.getLogPage(.smartHealth, byteCount: 32, offset: 48), buffer: part).status.isSuccess)
        #expect(part.address.load(fromByteOffset: 0, as: UInt64.self) == 1)  // 24 blocks: 1 thousand units, rounded up
        #expect(part.address.load(fromByteOffset: 16, as: UInt64.self) == 0)  // no reads yet
        let same = Array(UnsafeRawBufferPointer(start: part.address, count: 32)) == Array(UnsafeRawBufferPointer(start: whole.address + 48, count: 32))
        #expect(same)
        // 16 bytes from LPO 504 run 8 bytes past the 512-byte page: zeros there.
        memset(part.address, 0xEE, 16)
        #expect(try harness.execute(.getLogPage(.smartHealth, byteCount: 16, offset: 504), buffer: part).status.isSuccess)
        #expect(UnsafeRawBufferPointer(start: part.address + 8, count: 8).allSatisfy { $0 == 0 })
        #expect(try harness.execute(.getLogPage(.smartHealth, byteCount: 16, offset: 50), buffer: part).status.matches(.invalidFieldInCommand))
        #expect(try harness.execute(.getLogPage(.smartHealth, byteCount: 16, offset: 512), buffer: part).status.matches(.invalidFieldInCommand))
        #expect(try harness.execute(.getLogPage(.smartHealth, byteCount: 16, offset: 1 << 32), buffer: part).status.matches(.invalidFieldInCommand))
    }
}
