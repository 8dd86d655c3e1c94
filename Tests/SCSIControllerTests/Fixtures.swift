import DMAMapper
import Logging
import MockNVMe
import NVMe
import PCIDevice
import Synchronization
import Testing
@testable import SCSIController

/// A mock controller and an engine brought up on it, with test-friendly options; with
/// `interposed`, through an `InterposedDevice` whose hooks are set before bring-up. `hba` is the
/// SCSI face of the same engine (`Rig.scsi` and the task helpers in SCSITaskSupport.swift).
struct Rig {
    let mock: MockController
    /// The test double between driver and mock, when the rig was made with `interposed`.
    let device: InterposedDevice?
    let controller: NVMeController
    /// A SCSI host adapter over `controller`; making it sends nothing to the device.
    let hba: SCSIHostAdapter
    var queue: IOQueue { controller.ioQueues[0] }
    var nsid: UInt32 { controller.namespaces[0].id }
    var blockSize: Int { controller.namespaces[0].blockSize }

    init(_ configure: (inout MockConfiguration) -> Void = { _ in },
         options configureOptions: (inout ControllerOptions) -> Void = { _ in },
         interposed hooks: ((inout InterposedDevice.Hooks) -> Void)? = nil) throws {
        var configuration = MockConfiguration()
        configure(&configuration)
        let mock = MockController(configuration: configuration)
        self.mock = mock
        var target: any DeviceInterface = mock
        if let hooks {
            let device = InterposedDevice(mock)
            device.configure(hooks)
            target = device
            self.device = device
        } else {
            device = nil
        }
        controller = try NVMeController(device: target, options: testOptions(configureOptions))
        hba = SCSIHostAdapter(controller: controller)
    }

    /// Four queues of 16 entries on the threaded mock (completions out of order after ~20 µs) with
    /// 16 KiB commands, so a 64 KiB request keeps four commands in flight; a 10 s command timeout
    /// unless the test needs another.
    static func threadedFourQueues(commandTimeoutMilliseconds: Int = 10_000) throws -> Rig {
        try Rig({
            $0.executionMode = .threaded(latency: .microseconds(20), outOfOrder: true)
            $0.ioQueueCount = 4
            $0.mdts = 2
        }, options: { $0.ioQueueCount = 4; $0.ioQueueDepth = 16; $0.commandTimeoutMilliseconds = commandTimeoutMilliseconds })
    }

    /// A buffer filled with a pattern that differs per byte position and per `seed`.
    func patterned(bytes: Int, seed: UInt64) throws -> DMABuffer {
        let buffer = try controller.mapper.allocate(length: bytes)
        fill(buffer, seed: seed)
        return buffer
    }
}

/// The options every test starts from: no pinning, 64-entry queues, a 300 ms command timeout, no logging.
func testOptions(_ configure: (inout ControllerOptions) -> Void = { _ in }) -> ControllerOptions {
    var options = ControllerOptions()
    options.pinning = .disabled
    options.ioQueueDepth = 64
    options.commandTimeoutMilliseconds = 300
    options.logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    configure(&options)
    return options
}

/// Polls `queue` until `done()` or 10 000 passes without it, so a broken driver fails the test
/// instead of hanging it. Returns whether `done()` became true.
@discardableResult
func pollUntil(_ queue: QueuePair, _ done: () -> Bool, handler: (Completion) -> Void = { _ in }) -> Bool {
    for _ in 0..<10_000 {
        queue.poll(handler)
        if done() { return true }
    }
    return false
}

/// Writes a position- and seed-dependent pattern, eight bytes at a time.
func fill(_ buffer: DMABuffer, seed: UInt64) {
    let words = buffer.address.bindMemory(to: UInt64.self, capacity: buffer.length / 8)
    for index in 0..<(buffer.length / 8) {
        words[index] = (UInt64(index) &* 0x9E37_79B9_7F4A_7C15) ^ seed
    }
}

/// Whether two buffers hold the same bytes over `count` bytes.
func same(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
    memcmp(a, b, count) == 0
}

#if canImport(Glibc)
import Glibc
#endif

/// A value test threads and device hooks share.
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

/// The command name and recovery text of a request that ended in `commandTimedOut`, recording
/// an issue (and returning nil) when it ended otherwise.
func timeout(of outcome: BlockOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> (command: String, queueID: UInt16, recovery: String)? {
    guard case let .commandTimedOut(command, queueID, _, _, recovery) = outcome.error else {
        Issue.record("expected a timeout, got \(String(describing: outcome.error))", sourceLocation: sourceLocation)
        return nil
    }
    return (command, queueID, recovery)
}

extension HBAConstraintOverrides {
    /// All nine keys, the same segment shape both ways, dword alignment and 64-bit addresses.
    static func complete(segments: Int, segmentBytes: Int, maxTransferSize: Int,
                         writeSegments: Int? = nil) -> HBAConstraintOverrides {
        HBAConstraintOverrides(
            maximumSegmentCountRead: segments, maximumSegmentCountWrite: writeSegments ?? segments,
            maximumSegmentByteCountRead: segmentBytes, maximumSegmentByteCountWrite: segmentBytes,
            minimumSegmentAlignmentByteCount: 4, maximumSegmentAddressableBitCount: 64,
            minimumHBADataAlignmentMask: 3, maxTransferSize: maxTransferSize, dmaAlignment: 4)
    }

    /// The configuration the seed thread ended with: 129 segments of 512 KiB, maxTransferSize large enough.
    static let seedThread = complete(segments: 129, segmentBytes: 512 << 10, maxTransferSize: 129 * (512 << 10))
}
