#if canImport(Glibc)
import Glibc
#endif
import CVFIO
import DMAMapper
import Logging
import PCIDevice

/// An I/O completion queue's MSI-X vector and the eventfd it signals (see
/// `ControllerOptions.completionInterrupts`). The device holds its own reference to the eventfd;
/// this one is closed with the object.
public final class CompletionInterrupt: Sendable {
    /// The vector: Create I/O Completion Queue's IV (the queue's identifier).
    public let vector: UInt16
    /// The eventfd (non-blocking), whose count the device raises with the vector.
    public let descriptor: Int32

    init(vector: UInt16) throws(InterruptTriggerError) {
        let fd = cvfio_eventfd_nonblocking()
        guard fd >= 0 else { throw InterruptTriggerError(description: "eventfd for vector \(vector): \(String(cString: strerror(errno)))") }
        self.vector = vector
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// One interrupt per I/O queue 1...`queues` (vector n for queue n; vector 0, the admin
    /// queue's, gets no trigger), set on `device`; nil with a warning saying why when the device
    /// has too few vectors or refuses the triggers: the queues are then polled.
    static func arm(queues: Int, device: any DeviceInterface, logger: Logger) -> [CompletionInterrupt]? {
        let offered = device.interruptVectorCount
        guard offered > queues else {
            logger.warning("completion interrupts not used, the I/O queues are polled: \(device.name) offers \(offered) MSI-X vector(s), \(queues) I/O queue(s) need \(queues + 1) (vector 0 is the admin queue's)")
            return nil
        }
        do throws(InterruptTriggerError) {
            let interrupts = try (1...queues).map { id throws(InterruptTriggerError) in try CompletionInterrupt(vector: UInt16(id)) }
            try device.setInterruptTriggers([-1] + interrupts.map(\.descriptor))
            logger.info("completion interrupts: MSI-X vectors 1...\(queues) for I/O queues 1...\(queues)")
            return interrupts
        } catch {
            logger.warning("completion interrupts not used, the I/O queues are polled: \(error)")
            return nil
        }
    }
}

/// Why `QueuePair.waitForCompletion` returned (empty: it timed out).
public struct CompletionWake: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// A completion is (or may be) in the queue: `poll` it.
    public static let completion = CompletionWake(rawValue: 1 << 0)
    /// The other descriptor given to the wait is readable.
    public static let other = CompletionWake(rawValue: 1 << 1)
}

/// Sleeping until a completion may be there, for the queue's owner thread, on queues with a
/// `completionInterrupt`. Off the hot path: `submit` and `poll` are untouched.
extension QueuePair {
    /// Whether the queue has an interrupt to sleep on (else `waitForCompletion` returns at once).
    public var canWaitForCompletion: Bool { completionInterrupt != nil }

    /// Whether `poll` would find work now: a new entry at the completion queue's head (its phase
    /// tag is the current phase), or a reset or stop to catch up on. Owner thread only.
    public var completionPending: Bool {
        let s = state
        if epoch.value.load(ordering: .acquiring) != s.pointee.epoch { return true }
        let dw3 = DMAOrdering.loadAcquiring(at: UnsafeRawPointer(cq + Int(s.pointee.cqHead)) + 12)
        return (dw3 & 0x1_0000 != 0) == s.pointee.phase
    }

    /// Blocks the owner thread until the queue's vector fires, `other` (a descriptor, or -1)
    /// becomes readable, or `timeoutMilliseconds` pass; returns at once with `.completion` when a
    /// completion is already there or the queue has no interrupt. Race-free: the eventfd is
    /// drained before the queue is looked at, so a completion posted after the look raises a
    /// signal the sleep sees. Commands must have been announced (`ringDoorbell`, as `poll` does)
    /// before sleeping on them. The timeout bounds a lost interrupt and lets the caller's
    /// watchdog run. Reads nothing from `other`.
    public func waitForCompletion(alsoWatching other: Int32 = -1, timeoutMilliseconds: Int32) -> CompletionWake {
        guard let interrupt = completionInterrupt else { return .completion }
        var count: UInt64 = 0
        _ = read(interrupt.descriptor, &count, MemoryLayout<UInt64>.size)
        if completionPending { return .completion }
        var descriptors = (pollfd(fd: interrupt.descriptor, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: other, events: Int16(POLLIN), revents: 0))
        let ready = withUnsafeMutableBytes(of: &descriptors) { raw in
            Glibc.poll(raw.baseAddress!.assumingMemoryBound(to: pollfd.self), other >= 0 ? 2 : 1, timeoutMilliseconds)
        }
        guard ready > 0 else { return [] }
        var wake: CompletionWake = []
        if descriptors.0.revents != 0 { wake.insert(.completion) }
        if other >= 0, descriptors.1.revents != 0 { wake.insert(.other) }
        return wake
    }
}
