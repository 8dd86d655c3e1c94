#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the controller and its device thread share: the state, one controller lock and one lock
/// per I/O queue pair.
///
/// Doorbells of different queue pairs are independent in NVMe, so they do not wait for each
/// other here either:
/// - Queue pair y's lock alone covers its fast path (`QueueFastPath`): a doorbell of SQ y or
///   CQ y on the inline null device. It changes only what belongs to that pair (SQ y, CQ y,
///   their slots of `ioCounters`, its rings and shadow doorbell slots in host memory) and reads
///   the rest.
/// - Everything else runs on the controller path: the controller lock and then every queue lock
///   in identifier order. Register reads and writes other than those doorbells, admin commands,
///   resets and CC changes, power cuts, injected faults, the threaded engine, and whatever a fast
///   path declines or hands on. It excludes every fast path, so what a fast path reads without
///   the controller lock (CSTS, the queue table, doorbell buffers, armed faults) only changes
///   while none runs: a reset racing a doorbell on another thread happens wholly before or
///   wholly after it.
///
/// The locks are pthread mutexes, which the thread sanitizer intercepts, so it sees each
/// acquire and release.
final class MockCore: @unchecked Sendable {
    private let state: UnsafeMutablePointer<ControllerState>
    private let controllerLock: UnsafeMutablePointer<pthread_mutex_t>
    /// Index y: queue pair y's lock (index 0 is never taken alone: admin is the controller's).
    private let queueLocks: UnsafeMutablePointer<UnsafeMutablePointer<pthread_mutex_t>>
    private let queueLockCount: Int
    /// Index y: what queue pair y's fast path needs (index 0 unused).
    private let lanes: UnsafeMutablePointer<QueueFastPath.Lane>

    init(_ state: sending ControllerState) {
        queueLockCount = state.submissionQueues.count
        self.state = .allocate(capacity: 1)
        self.state.initialize(to: state)
        controllerLock = Self.makeLock()
        queueLocks = .allocate(capacity: queueLockCount)
        for qid in 0..<queueLockCount { (queueLocks + qid).initialize(to: Self.makeLock()) }
        lanes = .allocate(capacity: queueLockCount)
        for qid in 0..<queueLockCount { (lanes + qid).initialize(to: QueueFastPath.Lane(qid: qid, state: &self.state.pointee)) }
    }

    deinit {
        lanes.deinitialize(count: queueLockCount)
        lanes.deallocate()
        for qid in 0..<queueLockCount { Self.destroy(queueLocks[qid]) }
        queueLocks.deallocate()
        Self.destroy(controllerLock)
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// A mutex alone on its 128 bytes, so two queues' locks never share a cache line.
    private static func makeLock() -> UnsafeMutablePointer<pthread_mutex_t> {
        let lock = UnsafeMutableRawPointer.allocate(byteCount: max(128, MemoryLayout<pthread_mutex_t>.size), alignment: 128)
            .bindMemory(to: pthread_mutex_t.self, capacity: 1)
        lock.initialize(to: pthread_mutex_t())
        pthread_mutex_init(lock, nil)
        return lock
    }

    private static func destroy(_ lock: UnsafeMutablePointer<pthread_mutex_t>) {
        pthread_mutex_destroy(lock)
        lock.deinitialize(count: 1)
        UnsafeMutableRawPointer(lock).deallocate()
    }

    /// Runs `body` on the controller path: under the controller lock and every queue lock.
    func withController<Result>(_ body: (inout ControllerState) -> Result) -> Result {
        pthread_mutex_lock(controllerLock)
        for qid in 0..<queueLockCount { pthread_mutex_lock(queueLocks[qid]) }
        defer {
            state.pointee.refreshFastPathOpen()
            for qid in (0..<queueLockCount).reversed() { pthread_mutex_unlock(queueLocks[qid]) }
            pthread_mutex_unlock(controllerLock)
        }
        return body(&state.pointee)
    }

    /// Returns once every transfer in progress when it was called has finished. Each transfer
    /// runs under a queue lock (its own pair's on the fast path, all of them on the controller
    /// path), so taking and dropping each lock in turn outlasts them; a transfer that starts
    /// later sees the IOMMU's new generation. The IOMMU's unmap barrier (`MockController`).
    func waitForTransfersInProgress() {
        for qid in 0..<queueLockCount {
            pthread_mutex_lock(queueLocks[qid])
            pthread_mutex_unlock(queueLocks[qid])
        }
    }

    /// Offers a doorbell write of I/O queue pair `qid` to its fast path, under its lock alone.
    @inline(__always)
    func fastPathDoorbell(_ value: UInt32, offset: Int, qid: Int) -> FastPathOutcome {
        let lock = queueLocks[qid]
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return QueueFastPath.doorbell(value, offset: offset, lane: lanes[qid], state: state)
    }
}
