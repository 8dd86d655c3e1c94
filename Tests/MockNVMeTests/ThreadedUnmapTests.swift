import DMAMapper
import Foundation
import MockNVMe
import NVMe
import Testing

/// Memory unmapped while the device thread may be transferring into it. An IOMMU unmap ends the
/// device's reach: a transfer that began before it finishes before the unmap returns, and one
/// after it faults at the IOMMU (a `DMAFault`, the command failing). Neither touches memory the
/// host has already given back, which would crash the host process instead of failing a command.
@Suite struct ThreadedUnmapTests {
    /// 128 KiB reads of blocks never written (the device zero-fills every byte of the host's
    /// pages, the slowest transfer it makes), each buffer released at a different moment after
    /// its doorbell: before, during or after the device thread's transfer.
    @Test func aBufferReleasedDuringATransferFailsTheCommandNotTheHost() throws {
        let harness = try Harness.withQueuePair { $0.executionMode = .threaded(latency: .microseconds(20), outOfOrder: false) }
        let iommu = harness.controller.softwareIOMMU
        let length = 128 << 10
        var outcomes: [Bool] = []
        for round in 0..<48 {
            var buffer: DMABuffer? = try harness.allocate(length)
            let read = harness.pointing(.io(.read, nsid: 1, lba: 0, blocks: length / 512), at: buffer!)
            let id = harness.submit(read, qid: 1)
            usleep(UInt32(round % 12) * 50)
            buffer = nil
            let completion = harness.wait(for: 1, qid: 1)
            try #require(completion.map(\.commandID) == [id], "round \(round): the command completes")
            let status = completion[0].status
            let faults = iommu.faults
            if status.isSuccess {
                #expect(faults.isEmpty, "round \(round): a successful transfer reached only mapped memory")
            } else {
                #expect(status.matches(.dataTransferError), "round \(round): \(status)")
                #expect(!faults.isEmpty, "round \(round): the failure is an IOMMU fault on the released buffer")
            }
            outcomes.append(status.isSuccess)
            iommu.clearFaults()
        }
        #expect(outcomes.contains(true), "some buffers outlived their transfer")
    }
}
