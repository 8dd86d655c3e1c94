import Testing
@testable import ctrlbench

/// `ctrlbench export --workers`: each worker is a polling thread, so the default leaves half the
/// CPUs to the kernel's side of the path; an explicit count is checked against 1...16.
@Suite struct ExportOptionTests {
    @Test func theDefaultIsHalfTheCPUsFromOneToFour() {
        #expect(Export.defaultWorkers(processors: 1) == 1)
        #expect(Export.defaultWorkers(processors: 2) == 1)
        #expect(Export.defaultWorkers(processors: 6) == 3)
        #expect(Export.defaultWorkers(processors: 64) == 4)
    }

    @Test func anExplicitCountIsKeptWithinItsRange() throws {
        #expect(try Export.parse(["--device", "mock"]).workers == nil)
        #expect(try Export.parse(["--device", "mock", "--workers", "16"]).workers == 16)
        #expect(throws: (any Error).self) { try Export.parse(["--device", "mock", "--workers", "0"]) }
        #expect(throws: (any Error).self) { try Export.parse(["--device", "mock", "--workers", "17"]) }
    }

    /// `--queue-depth`: commands each worker keeps in flight, fio's QD32 by default (so the
    /// pipeline serves the ring unless asked not to), 1 to 256.
    @Test func theQueueDepthIsThirtyTwoByDefaultAndKeptWithinItsRange() throws {
        #expect(try Export.parse(["--device", "mock"]).queueDepth == 32)
        #expect(try Export.parse(["--device", "mock", "--queue-depth", "1"]).queueDepth == 1)
        #expect(try Export.parse(["--device", "mock", "--queue-depth", "256"]).queueDepth == 256)
        #expect(throws: (any Error).self) { try Export.parse(["--device", "mock", "--queue-depth", "0"]) }
        #expect(throws: (any Error).self) { try Export.parse(["--device", "mock", "--queue-depth", "257"]) }
    }
}
