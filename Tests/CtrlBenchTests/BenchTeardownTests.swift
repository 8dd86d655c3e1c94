import DMAMapper
import MockNVMe
import Testing
@testable import ctrlbench

/// The order bench lets go of things in: its jobs' DMA buffers are unmapped by the run itself, not
/// whenever the job threads' closures happen to be freed. A buffer freed after the device was
/// released fails to unmap (EINVAL) once the kernel has removed the function (issue 11's faults
/// boot showed it after a removal under a running bench).
@Suite struct BenchTeardownTests {
    @Test func releasedJobBuffersAreUnmappedAlthoughAJobClosureStillHoldsThem() throws {
        let session = try BenchSession(device: "mock", settings: try Bench.parse(["--number_ios", "1"]).settings())
        let iommu = try #require(session.mock).softwareIOMMU
        let buffers: JobBuffers
        let iova: UInt64
        do {
            let buffer = try session.controller.mapper.allocate(length: 8192)
            iova = buffer.iova
            buffers = JobBuffers([buffer])
        }
        // What a job thread's closure keeps until the thread is torn down, maybe after the run.
        let lateClosure: @Sendable () -> Void = { _ = buffers }
        #expect(throws: Never.self) { _ = try iommu.translate(iova: iova, length: 8192, access: .deviceReads) }
        #expect(buffers.buffer(0).iova == iova)

        buffers.release()

        #expect(throws: DMAFault.self, "the buffer is still mapped after the run released it") {
            _ = try iommu.translate(iova: iova, length: 8192, access: .deviceReads)
        }
        lateClosure()
    }
}
