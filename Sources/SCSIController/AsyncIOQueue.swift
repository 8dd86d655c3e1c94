import DMAMapper
import Dispatch
import NVMe

/// An async/await face for one I/O queue. The polled engine stays the source of truth: every
/// request runs on this queue's own serial executor, which is the queue's one owner, so callers
/// on any task or thread may simply `await`. Requests on one `AsyncIOQueue` run one after the other
/// (each one is broken up and kept in flight by the breaker); use one per I/O queue for parallelism.
public final class AsyncIOQueue: Sendable {
    /// The queue every request runs on.
    public let queue: IOQueue
    private let owner: DispatchQueue

    /// Wraps `queue`, which from then on belongs to this wrapper: calling it directly while an
    /// async request runs would be refused as a second caller.
    public init(_ queue: IOQueue) {
        self.queue = queue
        owner = DispatchQueue(label: "nvme.ioqueue.\(queue.id)")
    }

    /// Runs `body` on the owning executor and returns its result.
    public func run<Result: Sendable>(_ body: @escaping @Sendable (IOQueue) -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            owner.async { [queue] in continuation.resume(returning: body(queue)) }
        }
    }

    /// `IOQueue.read` on the owning executor.
    public func read(nsid: UInt32, lba: UInt64, blocks: Int, into buffer: DMABuffer, offset: Int = 0) async -> BlockOutcome {
        await run { $0.read(nsid: nsid, lba: lba, blocks: blocks, into: buffer, offset: offset) }
    }

    /// `IOQueue.write` on the owning executor.
    public func write(nsid: UInt32, lba: UInt64, blocks: Int, from buffer: DMABuffer, offset: Int = 0,
                      fua: Bool = false) async -> BlockOutcome {
        await run { $0.write(nsid: nsid, lba: lba, blocks: blocks, from: buffer, offset: offset, fua: fua) }
    }

    /// `IOQueue.flush` on the owning executor.
    public func flush(nsid: UInt32) async -> BlockOutcome {
        await run { $0.flush(nsid: nsid) }
    }

    /// A SCSI task through `adapter`, on the owning executor.
    public func process(_ task: SCSITask, adapter: SCSIHostAdapter) async -> SCSITaskResponse {
        await run { adapter.process(task, on: $0) }
    }
}
