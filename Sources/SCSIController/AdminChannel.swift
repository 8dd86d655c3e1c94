import DMAMapper
import NVMe
import PCIDevice

/// Runs admin commands one at a time on queue 0 and waits for each, bounded by a deadline,
/// watching CSTS so that a dead or fatally failed controller is reported, not waited on forever.
final class AdminChannel: @unchecked Sendable {
    let queue: QueuePair
    let device: any DeviceInterface
    /// A page-pair of DMA memory for Identify data, log pages and small parameter lists.
    let scratch: DMABuffer
    let timeoutMilliseconds: Int
    private var nextTag: UInt64 = 0

    init(queue: QueuePair, device: any DeviceInterface, scratch: DMABuffer, timeoutMilliseconds: Int) {
        self.queue = queue
        self.device = device
        self.scratch = scratch
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Submits `command` with data in [dataIOVA, +dataLength) and waits for its completion.
    /// Throws when the status is an error (naming the command), the controller is gone or
    /// fatal, or the deadline passes.
    @discardableResult
    func run(_ command: SubmissionQueueEntry, name: String, dataIOVA: UInt64 = 0, dataLength: Int = 0,
             acceptingFailure: Bool = false) throws(ControllerError) -> Completion {
        nextTag &+= 1
        let tag = nextTag
        let submitted = queue.submit(command, dataIOVA: dataIOVA, dataLength: dataLength, tag: tag)
        guard submitted == .submitted else {
            throw .unsupported("admin queue refused \(name): \(submitted)")
        }
        queue.ringDoorbell()
        var tries = 0
        let completion = try RegisterWaits.wait(milliseconds: timeoutMilliseconds, checkInterval: 64) { () throws(ControllerError) -> Completion? in
            var result: Completion?
            queue.poll { completion in
                if completion.tag == tag { result = completion }
            }
            tries += 1
            if result == nil, tries % 64 == 0 { try RegisterWaits.checkAlive(device: device, during: name) }
            return result
        } expired: {
            .commandTimedOut(command: name, queueID: 0, commandID: 0, milliseconds: timeoutMilliseconds,
                             recovery: "the admin queue is unusable until the controller is reset")
        }
        if !completion.status.isSuccess && !acceptingFailure {
            throw .adminCommandFailed(command: name, status: completion.status)
        }
        return completion
    }

    /// Runs a command that returns up to 4096 bytes of data and returns a copy of them.
    func runReturningData(_ command: SubmissionQueueEntry, name: String, bytes: Int = 4096) throws(ControllerError) -> [UInt8] {
        scratch.bytes.initializeMemory(as: UInt8.self, repeating: 0)
        try run(command, name: name, dataIOVA: scratch.iova, dataLength: bytes)
        return Array(UnsafeRawBufferPointer(start: scratch.address, count: bytes))
    }
}

