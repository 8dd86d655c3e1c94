import DMAMapper
import Dispatch
import SCSIController

/// One command in flight: a thread with its own I/O queue, the storage for one parsed command and
/// the DMA buffer its data is copied through. Allocated once. The worker claims its commands from
/// the ring itself (`RingServer`); `wake` is signalled only to get an idle worker going when the
/// ring has a backlog, or to let it exit.
final class RingWorker: @unchecked Sendable {
    // Unchecked: `command` is written and read by this worker's own thread only (the parser fills
    // it under the server's lock, the worker then serves it).
    let index: Int
    let queue: IOQueue
    let buffer: DMABuffer
    let command: ParsedCommand
    let wake = DispatchSemaphore(value: 0)

    init(index: Int, queue: IOQueue, buffer: DMABuffer, iovecCapacity: Int) {
        self.index = index
        self.queue = queue
        self.buffer = buffer
        command = ParsedCommand(iovecCapacity: iovecCapacity, transferCapacity: buffer.length)
    }
}

/// The indices of idle workers: a fixed stack, so parking a worker allocates nothing.
struct IdleWorkers: ~Copyable {
    private let slots: UnsafeMutablePointer<Int>
    private(set) var count = 0

    init(capacity: Int) {
        slots = .allocate(capacity: capacity)
    }

    deinit { slots.deallocate() }

    mutating func pop() -> Int? {
        guard count > 0 else { return nil }
        count -= 1
        return slots[count]
    }

    mutating func push(_ index: Int) {
        slots[count] = index
        count += 1
    }
}
