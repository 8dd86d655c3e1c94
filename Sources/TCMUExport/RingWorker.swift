import DMAMapper
import Dispatch
import SCSIController

/// One thread serving the ring with its own I/O queue. Allocated once. The worker claims its
/// commands from the ring itself (`RingServer`); `wake` is signalled only to get an idle worker
/// going when the ring has a backlog, or to let it exit.
///
/// Without a pipeline the worker keeps one command in flight: it is parsed into `command` and
/// run in `buffer`. With one (`RingServer+Pipeline.swift`) it keeps up to `depth` commands in
/// flight, each parsed into its slot's command and run in its slot's region of `slab`; a command
/// whose data does not fit a slot runs the one-at-a-time way, in `buffer`.
final class RingWorker: @unchecked Sendable {
    // Unchecked: everything but `wake` is used by this worker's own thread only (the parser fills
    // a command under the server's lock, the worker then serves it).
    let index: Int
    let queue: IOQueue
    let buffer: DMABuffer
    let command: ParsedCommand
    let wake = DispatchSemaphore(value: 0)
    /// The commands in flight on the queue, when the worker pipelines.
    let pipeline: SCSITaskPipeline?
    /// One region of `slotBytes` per pipeline slot, for its data.
    let slab: DMABuffer?
    let slotBytes: Int
    /// Per slot: the command parsed into it, and how its data phase runs.
    let slotCommands: [ParsedCommand]
    var slotPlans: [DataPhasePlan?]
    /// Slots with no command.
    var freeSlots: IndexStack
    /// Whether the worker sleeps on its queue's completion interrupt (`QueuePair.waitForCompletion`)
    /// once its polls find nothing, instead of yielding the CPU and spinning on.
    let sleepsOnCompletions: Bool

    /// A worker on `queue` with `buffer` for one command at a time and, with a `slab`, a pipeline
    /// of `depth` slots of `slab.length / depth` bytes (rounded down to 4 KiB) each.
    init(index: Int, queue: IOQueue, buffer: DMABuffer, iovecCapacity: Int, adapter: SCSIHostAdapter,
         slab: DMABuffer?, depth: Int) {
        self.index = index
        self.queue = queue
        self.buffer = buffer
        command = ParsedCommand(iovecCapacity: iovecCapacity, transferCapacity: buffer.length)
        let slotBytes = slab.map { $0.length / max(1, depth) / 4096 * 4096 } ?? 0
        let pipelined = slab != nil && depth > 1 && slotBytes > 0
        self.slab = pipelined ? slab : nil
        self.slotBytes = pipelined ? slotBytes : 0
        let slots = pipelined ? depth : 0
        pipeline = pipelined ? SCSITaskPipeline(adapter: adapter, queue: queue, depth: depth) : nil
        slotCommands = (0..<slots).map { _ in ParsedCommand(iovecCapacity: iovecCapacity, transferCapacity: buffer.length) }
        slotPlans = Array(repeating: nil, count: slots)
        freeSlots = IndexStack(capacity: max(1, slots))
        for slot in (0..<slots).reversed() { freeSlots.push(slot) }
        sleepsOnCompletions = pipelined && queue.queuePair.canWaitForCompletion
    }
}

/// A fixed stack of indices (idle workers, free slots): pushing and popping allocate nothing.
struct IndexStack: ~Copyable {
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
