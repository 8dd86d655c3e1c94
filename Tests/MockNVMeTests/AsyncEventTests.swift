import DMAMapper
import MockNVMe
import NVMe
import Testing

/// Asynchronous event masking (NVMe Base 2.0, 5.2): after an event of a type is reported, later
/// events of that type are masked until the host reads the log page the report named (Dword 0
/// bits 23:16) with Get Log Page RAE (CDW10 bit 15) cleared to 0.
@Suite("Asynchronous event masking")
struct AsyncEventTests {
    static func invalidDoorbell(_ harness: Harness, queue: Int) {
        harness.controller.writeRegister32(1, at: ControllerRegister.submissionTailDoorbell(queueID: queue, stride: 0))
    }

    /// Submits Get Log Page Error Information and returns the command ids completed with it, the
    /// log read's first: a read that clears the mask may complete a waiting request at once.
    static func readErrorLog(_ harness: Harness, retainEvents: Bool = false) throws -> [UInt16] {
        var entry = try SubmissionQueueEntry.getLogPage(.errorInformation, byteCount: 64)
        if retainEvents { entry.cdw10 |= 1 << 15 }
        let buffer = try harness.allocate(4096)
        entry.dptr1 = buffer.iova
        let id = harness.submit(entry)
        let completions = harness.poll()
        #expect(completions.first?.commandID == id && completions.first?.status.isSuccess == true)
        return completions.map(\.commandID)
    }

    @Test func reportedTypeStaysMaskedUntilTheLogIsReadWithoutRAE() throws {
        let harness = try Harness()
        let first = harness.submit(.asynchronousEventRequest())
        Self.invalidDoorbell(harness, queue: 5)
        let reported = harness.poll()
        #expect(reported.map(\.commandID) == [first])
        #expect(reported.first.map { $0.dw0 & 0b111 } == 0)           // type 0: error status
        #expect(reported.first.map { ($0.dw0 >> 16) & 0xFF } == 0x01)  // Error Information log

        // A second error event while the type is masked: the next request stays outstanding.
        let second = harness.submit(.asynchronousEventRequest())
        Self.invalidDoorbell(harness, queue: 6)
        #expect(harness.poll().isEmpty)
        #expect(harness.controller.statistics.outstandingAsyncEventRequests == 1)

        // Reading another log page, or this one with RAE = 1, keeps the mask.
        #expect(try harness.execute(.getLogPage(.smartHealth, byteCount: 512), buffer: harness.allocate(4096)).status.isSuccess)
        #expect(harness.poll().isEmpty)
        #expect(try Self.readErrorLog(harness, retainEvents: true).count == 1)

        // RAE = 0: the mask clears and the waiting event goes to the outstanding request.
        let ids = try Self.readErrorLog(harness)
        #expect(ids.count == 2 && ids.last == second)
        #expect(harness.controller.statistics.outstandingAsyncEventRequests == 0)
    }

    @Test func maskedEventWaitsForTheNextRequest() throws {
        let harness = try Harness()
        // No request outstanding: the event waits, and is reported at once to the next request.
        Self.invalidDoorbell(harness, queue: 5)
        let first = harness.execute(.asynchronousEventRequest())
        #expect(first.status.isSuccess && (first.dw0 >> 16) & 0xFF == 0x01)
        // Masked now: a new event is kept, the new request waits even after the event.
        Self.invalidDoorbell(harness, queue: 7)
        let waiting = harness.submit(.asynchronousEventRequest())
        #expect(harness.poll().isEmpty)
        #expect(try Self.readErrorLog(harness).last == waiting)
        // A controller reset forgets events and masks: a new event is reported at once.
        try harness.resetController()
        let fresh = harness.submit(.asynchronousEventRequest())
        Self.invalidDoorbell(harness, queue: 5)
        #expect(harness.poll().map(\.commandID) == [fresh])
    }

    @Test func asyncEventRequestLimit() throws {
        var configuration = MockConfiguration()
        configuration.aerl = 1
        let harness = try Harness(configuration)
        harness.submit(.asynchronousEventRequest())
        harness.submit(.asynchronousEventRequest())
        #expect(harness.poll().isEmpty)
        #expect(harness.controller.statistics.outstandingAsyncEventRequests == 2)
        let third = harness.execute(.asynchronousEventRequest())
        #expect(third.status.matches(.asynchronousEventRequestLimitExceeded))
    }
}
