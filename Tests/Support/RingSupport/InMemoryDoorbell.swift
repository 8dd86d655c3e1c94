import CVFIO
import Dispatch
import Foundation
import Synchronization
import TCMUExport

/// The kernel's side of the doorbell, in memory: the kernel's kick (`kernelKick`, after cmd_head
/// is published) and the server's kicks, counted with the cmd_tail each one announced. With
/// `pollable`, the kernel's kick is an eventfd's count, as uio's event count is: a worker can sleep
/// on it (`kickDescriptor`); otherwise it is a semaphore. Neither allocates per kick.
public final class InMemoryDoorbell: RingDoorbell {
    /// The kernel's kicks, when not pollable.
    public let kicks = DispatchSemaphore(value: 0)
    /// The server's kicks so far.
    public let handlerKicks = Atomic<Int>(0)
    /// cmd_tail when the server last kicked (-1 before its first kick).
    public let tailAtLastKick = Atomic<Int>(-1)
    /// Reads cmd_tail, for `tailAtLastKick`.
    let tail: @Sendable () -> Int
    /// The eventfd the kernel's kicks count up, or -1 (the semaphore then).
    public let kickDescriptor: Int32

    /// A doorbell whose server kicks record `tail()`; `pollable` makes the kernel's kick an eventfd.
    public init(tail: @escaping @Sendable () -> Int, pollable: Bool = false) {
        self.tail = tail
        kickDescriptor = pollable ? cvfio_eventfd() : -1
    }

    deinit { if kickDescriptor >= 0 { close(kickDescriptor) } }

    /// The kernel's kick: new entries behind cmd_head.
    public func kernelKick() {
        guard kickDescriptor >= 0 else {
            kicks.signal()
            return
        }
        var one: UInt64 = 1
        _ = write(kickDescriptor, &one, 8)
    }

    public func waitForKick(milliseconds: Int32) -> Bool {
        guard kickDescriptor >= 0 else { return kicks.wait(timeout: .now() + .milliseconds(Int(milliseconds))) == .success }
        var entry = pollfd(fd: kickDescriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, milliseconds) > 0 else { return false }
        var count: UInt64 = 0
        return read(kickDescriptor, &count, 8) == 8
    }

    public func kick() {
        tailAtLastKick.store(tail(), ordering: .relaxed)
        handlerKicks.add(1, ordering: .relaxed)
    }
}
