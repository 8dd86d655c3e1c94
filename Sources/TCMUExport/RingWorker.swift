import DMAMapper
import Dispatch
import SCSIController

/// One command in flight: a thread with its own I/O queue, the storage for one parsed command and
/// the DMA buffer its data is copied through. Allocated once; the ring thread fills `command` and
/// signals `go`, the worker serves it and hands itself back.
final class RingWorker: @unchecked Sendable {
    // Unchecked: `command` and `exitRequested` are written by the ring thread only while the worker
    // waits on `go`, and read by the worker after it, so the semaphore orders every access.
    let index: Int
    let queue: IOQueue
    let buffer: DMABuffer
    let command: ParsedCommand
    let go = DispatchSemaphore(value: 0)
    var exitRequested = false

    init(index: Int, queue: IOQueue, buffer: DMABuffer, iovecCapacity: Int) {
        self.index = index
        self.queue = queue
        self.buffer = buffer
        command = ParsedCommand(iovecCapacity: iovecCapacity, transferCapacity: buffer.length)
    }
}

/// The indices of idle workers: a fixed stack, so handing a worker back allocates nothing.
struct IdleWorkers: ~Copyable {
    private let slots: UnsafeMutablePointer<Int>
    private(set) var count: Int

    init(count: Int) {
        slots = .allocate(capacity: count)
        for index in 0..<count { slots[index] = index }
        self.count = count
    }

    deinit { slots.deallocate() }

    mutating func pop() -> Int {
        count -= 1
        return slots[count]
    }

    mutating func push(_ index: Int) {
        slots[count] = index
        count += 1
    }
}
