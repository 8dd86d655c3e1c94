import MockNVMe
import NVMe
import Testing

/// `MockConfiguration.validate()` and `MockController.open` refuse what the registers and data
/// structures cannot express (NVMe Base 2.0: CAP.DSTRD, CAP.MPSMIN/MPSMAX are 4 bits; NPSS is
/// 0's based up to 31; ELPE is a 0's based byte), naming the field, the value and the rule.
@Suite("Configuration validation")
struct ConfigurationTests {
    static func refusal(_ configure: (inout MockConfiguration) -> Void) -> MockConfigurationError? {
        var configuration = MockConfiguration()
        configure(&configuration)
        do {
            try configuration.validate()
            return nil
        } catch {
            return error
        }
    }

    @Test func defaultsAreValid() throws {
        try MockConfiguration().validate()
        _ = try MockController.open()
    }

    @Test func registerFieldsMustFitTheirBits() {
        let stride = Self.refusal { $0.doorbellStride = 16 }
        #expect(stride?.field == "doorbellStride" && stride?.value == "16")
        #expect(stride?.description == "MockConfiguration.doorbellStride = 16: CAP.DSTRD is 4 bits, 0...15")
        #expect(Self.refusal { $0.doorbellStride = 15 } == nil)
        #expect(Self.refusal { $0.mpsmin = 16; $0.mpsmax = 16 }?.field == "mpsmin")
        #expect(Self.refusal { $0.mpsmax = 16 }?.field == "mpsmax")
        #expect(Self.refusal { $0.mpsmin = 3; $0.mpsmax = 2 }?.rule == "must not exceed mpsmax (2)")
        #expect(Self.refusal { $0.mqes = 0 }?.field == "mqes")
    }

    @Test func transferAndCountLimits() {
        // 4 KiB x 2^21 = 8 GiB: past the 4 GiB the mock allows; 2^20 (4 GiB) is the largest.
        let mdts = Self.refusal { $0.mdts = 21 }
        #expect(mdts?.field == "mdts" && mdts?.value == "21")
        #expect(Self.refusal { $0.mdts = 20 } == nil)
        #expect(Self.refusal { $0.mdts = 19; $0.mpsmin = 2; $0.mpsmax = 2 }?.field == "mdts")
        #expect(Self.refusal { $0.mdts = 0 } == nil)  // unlimited
        #expect(Self.refusal { $0.ioQueueCount = 0 }?.field == "ioQueueCount")
        #expect(Self.refusal { $0.ioQueueCount = 65536 }?.field == "ioQueueCount")
        #expect(Self.refusal { $0.errorLogEntries = 257 }?.field == "errorLogEntries")
        #expect(Self.refusal { $0.errorLogEntries = 0 }?.field == "errorLogEntries")
        #expect(Self.refusal { $0.powerStates = [] }?.field == "powerStates.count")
        #expect(Self.refusal { $0.powerStates = Array(repeating: PowerStateDescriptor(maximumPowerCentiwatts: 100), count: 33) }?.field == "powerStates.count")
        #expect(Self.refusal { $0.powerStates = [PowerStateDescriptor(maximumPowerCentiwatts: 1, nonOperational: true)] }?.field
                == "powerStates[0].nonOperational")
        #expect(Self.refusal { $0.serialNumber = String(repeating: "S", count: 21) }?.field == "serialNumber")
        #expect(Self.refusal { $0.executionMode = .threaded(latency: .microseconds(-1), outOfOrder: false) }?.field == "executionMode.latency")
    }

    @Test func namespacesAreChecked() {
        #expect(Self.refusal { $0.namespaces = [] }?.field == "namespaces")
        let size = Self.refusal { $0.namespaces = [MockNamespace(blockCount: 10), MockNamespace(blockCount: 10, blockSize: 1024)] }
        #expect(size?.field == "namespaces[1].blockSize" && size?.value == "1024")
        #expect(Self.refusal { $0.namespaces = [MockNamespace(blockCount: 0)] }?.field == "namespaces[0].blockCount")
        #expect(Self.refusal { $0.namespaces = [MockNamespace(blockCount: .max, blockSize: 4096)] }?.field == "namespaces[0].blockCount")
        #expect(Self.refusal { $0.namespaces = [MockNamespace(blockCount: 8, nguid: [1, 2, 3])] }?.field == "namespaces[0].nguid")
        #expect(Self.refusal { $0.namespaces = [MockNamespace(blockCount: 8, eui64: Array(repeating: 0, count: 8))] }?.field == "namespaces[0].eui64")
        #expect(Self.refusal { $0.namespaces = [MockNamespace(blockCount: 8, uuid: Array(repeating: 7, count: 16))] } == nil)
    }

    @Test func openThrowsTheRefusal() {
        var configuration = MockConfiguration()
        configuration.doorbellStride = 200
        #expect(throws: MockConfigurationError(field: "doorbellStride", value: "200", rule: "CAP.DSTRD is 4 bits, 0...15")) {
            try MockController.open(configuration: configuration)
        }
    }
}
