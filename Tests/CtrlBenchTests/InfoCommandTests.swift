import MockNVMe
import Testing
@testable import ctrlbench

/// `ctrlbench info` against the mock: every value is the one the mock's configuration puts in
/// Identify Controller, Identify Namespace and CAP, decoded per NVMe Base 2.0.
@Suite struct InfoCommandTests {
    static func report(_ arguments: [String]) throws -> InfoReport {
        try Info.parse(arguments).collect()
    }

    @Test func controllerFieldsAreTheMocksIdentifyData() throws {
        let mock = MockConfiguration()
        let info = try Self.report([])
        #expect(info.model == mock.modelNumber && info.serial == mock.serialNumber && info.firmware == mock.firmwareRevision)
        #expect(info.version == "2.0.0")
        // MDTS is a power of two in units of CAP.MPSMIN: 2^5 x 4096.
        #expect(info.mdts == mock.mdts && info.mdtsBytes == 4096 << Int(mock.mdts))
        #expect(info.ioQueuesGranted == mock.ioQueueCount && info.maximumQueueEntries == Int(mock.mqes) + 1)
        #expect(info.minimumPageBytes == 4096 << Int(mock.mpsmin) && info.maximumPageBytes == 4096 << Int(mock.mpsmax))
        #expect(info.volatileWriteCachePresent == mock.volatileWriteCache && info.volatileWriteCacheEnabled)
        // SGLS bits 1:0 = 01b: SGLs supported, no alignment requirement.
        #expect(info.sgls & 0b11 == 0b01 && info.sglSupport == "supported, byte aligned" && info.dataPointers == "SGL")
        #expect(info.oncs == mock.optionalNVMCommands.rawValue)
        #expect(info.optionalNVMCommands == ["Compare", "Dataset Management", "Write Zeroes", "Verify"])
        #expect(info.powerStates.count == mock.powerStates.count)
        for (shown, configured) in zip(info.powerStates, mock.powerStates) {
            #expect(shown.maximumWatts == Double(configured.maximumPower) / 100)  // MP in 0.01 W, MXPS 0
            #expect(shown.operational == !configured.nonOperational)
            #expect(shown.entryLatencyMicroseconds == configured.entryLatency && shown.exitLatencyMicroseconds == configured.exitLatency)
        }
        #expect(info.doorbellBufferConfig == (info.oacs & (1 << 8) != 0))
        #expect(info.optionalAdminCommands.contains("Doorbell Buffer Config") == info.doorbellBufferConfig)
    }

    @Test func oacsBitEightIsDoorbellBufferConfig() {
        // NVMe Base 2.0, Identify Controller OACS: bit 8 Doorbell Buffer Config, bit 1 Format NVM.
        #expect(InfoReport.bitNames(0x0102, InfoReport.oacsNames) == ["Format NVM", "Doorbell Buffer Config"])
        #expect(InfoReport.bitNames(1 << 15, InfoReport.oacsNames) == ["bit 15"])
    }

    @Test func namespacesShowTheirGeometryAndIdentifiers() throws {
        let info = try Self.report(["--mock-namespaces", "2", "--mock-capacity", "64m", "--mock-block-size", "4096",
                                    "--mock-nguid", "0102030405060708090a0b0c0d0e0f10", "--mock-eui64", "a1a2a3a4a5a6a7a8"])
        #expect(info.namespaces.map(\.nsid) == [1, 2])
        for ns in info.namespaces {
            #expect(ns.blocks == 16384 && ns.blockSize == 4096 && ns.bytes == 64 << 20 && ns.metadataBytes == 0)
        }
        #expect(info.namespaces.map(\.nguid) == ["0102030405060708090a0b0c0d0e0f10", "0102030405060708090a0b0c0d0e0f11"])
        #expect(info.namespaces.map(\.eui64) == ["a1a2a3a4a5a6a7a8", "a1a2a3a4a5a6a7a9"])
        let plain = try Self.report([])
        #expect(plain.namespaces[0].nguid == nil && plain.namespaces[0].eui64 == nil)
    }

    @Test func constraintsShowAllNineKeysWithTheirSource() throws {
        let derived = try Self.report(["--mock-mdts", "7"])
        #expect(derived.constraints.map(\.key) == HBAConstraintKeyNames.all)
        #expect(derived.constraints.allSatisfy { $0.source == "derived" })
        let byteCount = try #require(derived.constraints.first { $0.key == "kIOMaximumSegmentByteCountReadKey" })
        #expect(byteCount.value == 512 << 10 && byteCount.from.contains("MDTS 7"))
        let overridden = try Self.report(["--mock-mdts", "7"] + ExplainCommandTests.kextSet + ["--maxTransferSize", "67633152"])
        #expect(overridden.constraints.allSatisfy { $0.source == "overridden" })
        #expect(overridden.constraints.first { $0.key == "kIOMaximumSegmentCountReadKey" }?.value == 0x81)
    }

    @Test func aWriteCacheCanBeLeftOut() throws {
        let info = try Self.report(["--mock-no-write-cache"])
        #expect(!info.volatileWriteCachePresent && info.text.contains("volatile write cache: none"))
    }
}

/// The nine keys in DriverKit's order, as the engine names them.
enum HBAConstraintKeyNames {
    static let all = ["kIOMaximumSegmentCountReadKey", "kIOMaximumSegmentCountWriteKey", "kIOMaximumSegmentByteCountReadKey",
                      "kIOMaximumSegmentByteCountWriteKey", "kIOMinimumSegmentAlignmentByteCountKey",
                      "kIOMaximumSegmentAddressableBitCountKey", "kIOMinimumHBADataAlignmentMaskKey", "maxTransferSize", "dmaAlignment"]
}
