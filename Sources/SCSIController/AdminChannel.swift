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
        guard queue.submit(command, dataIOVA: dataIOVA, dataLength: dataLength, tag: tag) else {
            throw .unsupported("admin queue full while issuing \(name)")
        }
        queue.ringDoorbell()
        let deadline = MonotonicClock.nanoseconds() + UInt64(timeoutMilliseconds) * 1_000_000
        var result: Completion?
        var spins = 0
        while result == nil {
            queue.poll { completion in
                if completion.tag == tag { result = completion }
            }
            if result != nil { break }
            spins += 1
            if spins % 64 == 0 {
                try RegisterWaits.checkAlive(device: device, during: name)
                if MonotonicClock.nanoseconds() > deadline {
                    throw .commandTimedOut(command: name, queueID: 0, commandID: 0, milliseconds: timeoutMilliseconds,
                                           recovery: "the admin queue is unusable until the controller is reset")
                }
                RegisterWaits.pause()
            }
        }
        let completion = result!
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

/// Bounded register waits shared by bring-up, reset and shutdown.
enum RegisterWaits {
    /// Throws when the device reads all ones, reports CSTS.CFS, or is no longer ready (reset or
    /// powered off behind the driver's back). Only meaningful once the controller is enabled.
    static func checkAlive(device: any DeviceInterface, during: String) throws(ControllerError) {
        let csts = ControllerStatus(rawValue: device.readRegister32(at: ControllerRegister.csts))
        if csts.isAllOnes { throw .deviceGone(during: during) }
        if csts.cfs { throw .controllerFatal(during: during, csts: csts.rawValue) }
        if !csts.rdy { throw .controllerNotReady(during: during, csts: csts.rawValue) }
    }

    /// Waits for CSTS.RDY to equal `ready`, within CAP.TO.
    static func waitReady(_ ready: Bool, device: any DeviceInterface, cap: ControllerCapabilities) throws(ControllerError) {
        let timeout = max(cap.timeoutMilliseconds, 500)
        let deadline = MonotonicClock.nanoseconds() + UInt64(timeout) * 1_000_000
        while true {
            let csts = ControllerStatus(rawValue: device.readRegister32(at: ControllerRegister.csts))
            if csts.isAllOnes { throw .deviceGone(during: ready ? "enable" : "disable") }
            if csts.cfs && ready { throw .controllerFatal(during: "enable", csts: csts.rawValue) }
            if csts.rdy == ready { return }
            if MonotonicClock.nanoseconds() > deadline {
                throw .readyTimeout(expected: ready, milliseconds: timeout, cap: cap.rawValue,
                                    cc: device.readRegister32(at: ControllerRegister.cc), csts: csts.rawValue)
            }
            pause()
        }
    }

    /// Clears CC.EN and waits for the controller to report not ready.
    static func disable(device: any DeviceInterface, cap: ControllerCapabilities) throws(ControllerError) {
        var cc = NVMe.ControllerConfiguration(rawValue: device.readRegister32(at: ControllerRegister.cc))
        if cc.rawValue == .max { throw .deviceGone(during: "disable") }
        let csts = ControllerStatus(rawValue: device.readRegister32(at: ControllerRegister.csts))
        if !cc.en && !csts.rdy { return }
        if cc.en && !csts.rdy && !csts.cfs {
            // Spec: wait for a pending enable to finish before clearing EN.
            try waitReady(true, device: device, cap: cap)
        }
        cc.en = false
        device.writeRegister32(cc.rawValue, at: ControllerRegister.cc)
        try waitReady(false, device: device, cap: cap)
    }

    /// Yields the CPU briefly while a register wait spins.
    static func pause() {
        var ts = timespec(tv_sec: 0, tv_nsec: 20_000)
        nanosleep(&ts, nil)
    }
}

#if canImport(Glibc)
import Glibc
#endif
