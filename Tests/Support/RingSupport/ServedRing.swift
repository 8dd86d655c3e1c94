import DMAMapper
import Dispatch
import Foundation
import Logging
import MockNVMe
import SCSIController
import TCMUExport

/// A ring (`RingImage`) served by a `RingServer` over a mock controller, on its own thread from
/// `init` until the ring is released.
public final class ServedRing: @unchecked Sendable {
    /// The map the kernel would share.
    public let image: RingImage
    /// The kicks both ways.
    public let doorbell: InMemoryDoorbell
    /// The device under the engine.
    public let mock: MockController
    /// The engine on the mock.
    public let controller: NVMeController
    /// The SCSI translation every command goes through.
    public let adapter: SCSIHostAdapter
    /// The server under test, running from `init` until the ring is released.
    public let server: RingServer
    /// Signalled when the server's `run()` returns.
    public let done = DispatchSemaphore(value: 0)

    /// A ring of `ringSize` bytes (a 4 MiB data area) served by `workers` workers, each keeping up
    /// to `queueDepth` commands in flight in slots of 32 KiB (1: one at a time), with buffers of
    /// 128 KiB. With `completionInterrupts` each I/O queue has an interrupt vector; with it or
    /// `pollableDoorbell`, the kernel's kick is an eventfd (`InMemoryDoorbell`). `configure`
    /// adjusts the mock's configuration (`configuration(workers:)`).
    public init(ringSize: Int = 1 << 16, workers: Int = 4, queueDepth: Int = 8, flags: UInt16 = 0x3, transferLimit: Int? = nil,
                responsesPerKick: Int = 8, completionInterrupts: Bool = false, pollableDoorbell: Bool = false,
                configure: (inout MockConfiguration) -> Void = { _ in }) throws {
        let image = RingImage(ringSize: ringSize, dataSize: 4 << 20, flags: flags)
        self.image = image
        doorbell = InMemoryDoorbell(tail: { image.tail }, pollable: completionInterrupts || pollableDoorbell)
        var configuration = Self.configuration(workers: workers)
        // A vector per I/O queue besides the admin queue's.
        if completionInterrupts { configuration.interruptVectors = workers + 1 }
        configure(&configuration)
        let mock = MockController(configuration: configuration)
        self.mock = mock
        var options = ControllerOptions()
        // The mock's software IOMMU translates host memory as it is: no page needs locking for it.
        options.pinning = .disabled
        options.ioQueueCount = workers
        options.completionInterrupts = completionInterrupts
        options.logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let controller = try NVMeController(device: mock, options: options)
        let adapter = SCSIHostAdapter(controller: controller, transferLimit: transferLimit)
        let buffers = try (0..<workers).map { _ in try controller.mapper.allocate(length: 128 << 10) }
        let slabs = try (0..<workers).map { _ in try controller.mapper.allocate(length: queueDepth * (32 << 10)) }
        self.controller = controller
        self.adapter = adapter
        server = try RingServer(map: image.map, doorbell: doorbell, adapter: adapter, lun: 0,
                                queues: controller.ioQueues, buffers: buffers, slabs: slabs, queueDepth: queueDepth,
                                responsesPerKick: responsesPerKick,
                                logger: options.logger)
        let server = server, done = done
        Thread {
            try? server.run()
            done.signal()
        }.start()
    }

    /// One namespace of 65536 blocks of 512 bytes (32 MiB), one I/O queue per worker.
    public static func configuration(workers: Int) -> MockConfiguration {
        var configuration = MockConfiguration()
        configuration.ioQueueCount = workers
        configuration.namespaces = [MockNamespace(blockCount: 1 << 16, blockSize: 512)]
        return configuration
    }

    deinit {
        server.stop()
        doorbell.kernelKick()
        done.wait()
        try? controller.stop()
    }

    /// Publishes cmd_head and kicks, as the kernel does once it has queued entries.
    public func publish() {
        image.publishHead()
        doorbell.kernelKick()
    }

    /// Waits until the handler's cmd_tail reaches cmd_head, looking again after 200 µs of sleep
    /// or, `spinning`, after yielding the CPU (no sleep's granularity; the benchmark's way).
    /// Allocates nothing.
    /// - Throws: `ExportError` when the ring is not drained within 10 seconds.
    public func waitUntilAnswered(spinning: Bool = false) throws {
        let deadline = ContinuousClock.now + .seconds(10)
        var looks = 0
        while image.tail != image.head {
            looks &+= 1
            if spinning { sched_yield() } else { usleep(200) }
            guard looks & 255 != 0 || ContinuousClock.now < deadline else {
                throw ExportError("ring not drained: tail \(image.tail), head \(image.head)")
            }
        }
    }

    /// Publishes cmd_head, kicks, and waits until the handler's tail reaches it.
    public func submit() throws {
        publish()
        try waitUntilAnswered()
    }

    /// Sends one command and returns its response (at its own entry: only one in flight).
    public func run(_ cdb: [UInt8], iovecs: [(offset: Int, length: Int)] = [], id: UInt16 = 1)
        throws -> (id: UInt16, uflags: UInt8, status: UInt8, readLength: UInt32, sense: [UInt8]) {
        let position = image.command(id: id, cdb: cdb, iovecs: iovecs)
        try submit()
        return image.response(at: position)
    }
}
