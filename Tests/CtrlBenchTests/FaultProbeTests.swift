import Testing
@testable import ctrlbench

/// The hidden `fault-probe` against the mock, whose software IOMMU refuses an IOVA nobody mapped
/// as the real one does: the Read must come back failed with a named NVMe status (Data Transfer
/// Error, 04h, is what a controller reports when its DMA is refused), not time out or succeed.
@Suite struct FaultProbeTests {
    @Test func aReadToAnUnmappedIOVAIsRefusedWithANamedStatus() throws {
        let probe = try FaultProbe.parse(["--device", "mock", "--timeout-ms", "5000"])
        let result = try probe.probe()
        #expect(result.outcome == .refused, "\(result.text)")
        #expect(result.text.hasPrefix("refused: the Read of 1 block to unmapped IOVA 0x"))
        #expect(result.text.contains("dataTransferError (SCT 0h, SC 04h"), "\(result.text)")
    }

    @Test func theProbeIsHiddenFromHelp() {
        #expect(!CtrlBench.helpMessage().contains("fault-probe"))
        #expect(CtrlBench.configuration.subcommands.contains { $0 == FaultProbe.self })
    }
}
