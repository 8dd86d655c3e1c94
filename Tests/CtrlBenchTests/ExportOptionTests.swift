import Logging
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

    /// `--completions`: sleeping on each queue's MSI-X vector by default, spinning when asked;
    /// `--polls-before-sleep` at least 1 (the first poll announces what was started).
    @Test func completionsAreWaitedForByInterruptUnlessPollIsAsked() throws {
        #expect(try Export.parse(["--device", "mock"]).completions == .interrupts)
        #expect(try Export.parse(["--device", "mock", "--completions", "poll"]).completions == .poll)
        #expect(throws: (any Error).self) { try Export.parse(["--device", "mock", "--completions", "sometimes"]) }
        #expect(try Export.parse(["--device", "mock"]).pollsBeforeSleep == 1)
        #expect(try Export.parse(["--device", "mock", "--polls-before-sleep", "8"]).pollsBeforeSleep == 8)
        #expect(throws: (any Error).self) { try Export.parse(["--device", "mock", "--polls-before-sleep", "0"]) }
    }

    /// The mock is polled whatever `--completions` says: its queues get no vector.
    @Test func theMockIsPolledEvenWithInterruptsAsked() throws {
        let plan = ExportPlan(device: "mock", backing: nil, workers: 1, lunPerNamespace: false, completionInterrupts: true)
        let (controller, _) = try plan.bringUp(MockGeometry(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        defer { try? controller.stop() }
        #expect(controller.ioQueues.allSatisfy { $0.queuePair.completionInterrupt == nil })
    }
}
