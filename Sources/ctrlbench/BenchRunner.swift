import DMAMapper
import Histogram
import NVMe
import SCSIController

/// What one queue's run measured.
struct QueueRunResult: Sendable {
    var ios = 0
    var failures = 0
    var firstFailure: String?
    var elapsedNanoseconds: UInt64 = 0
    var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
}

/// The I/O pattern.
enum Workload: String, CaseIterable, Sendable {
    case read, write, randread, randwrite

    var opcode: NVMOpcode { self == .read || self == .randread ? .read : .write }
    var isRandom: Bool { self == .randread || self == .randwrite }
}

/// Drives one queue pair directly, like fio's engine loop: keep `depth` commands in flight, one
/// SQ doorbell per batch, one poll pass per loop, a tracker slot per in-flight command.
/// Latency is submit-to-completion, with one clock read per poll pass that completes something.
struct QueueRunner {
    let queue: QueuePair
    let nsid: UInt32
    let blockSize: Int
    let namespaceBlocks: UInt64
    let ioBytes: Int
    let depth: Int
    let workload: Workload
    let measureLatency: Bool
    let seed: UInt64

    func run(buffer: DMABuffer, ios: Int?, seconds: Double) -> QueueRunResult {
        var result = QueueRunResult()
        let blocksPerIO = ioBytes / blockSize
        let span = max(1, namespaceBlocks / UInt64(blocksPerIO))
        var random = seed | 1
        var sequential: UInt64 = 0
        var submitTimes = [UInt64](repeating: 0, count: depth)
        // The loop is fio's part, not the driver's: a raw stack of free buffer slots keeps it lean.
        let freeSlots = UnsafeMutablePointer<Int>.allocate(capacity: depth)
        defer { freeSlots.deallocate() }
        for slot in 0..<depth { freeSlots[slot] = depth - 1 - slot }
        var freeCount = depth
        let bufferIOVA = buffer.iova
        var command = SubmissionQueueEntry.io(workload.opcode, nsid: nsid, lba: 0, blocks: blocksPerIO)
        let start = MonotonicClock.nanoseconds()
        let deadline = start + UInt64(seconds * 1e9)
        var submitted = 0
        var completed = 0
        var stop = false
        submitTimes.withUnsafeMutableBufferPointer { times in
            while completed < submitted || !stop {
                while !stop, freeCount > 0, queue.hasFreeSlot {
                    let slot = freeSlots[freeCount - 1]
                    let index: UInt64
                    if workload.isRandom {
                        random ^= random << 13; random ^= random >> 7; random ^= random << 17
                        index = random % span
                    } else {
                        index = sequential % span
                        sequential += 1
                    }
                    command.startingLBA = index * UInt64(blocksPerIO)
                    if measureLatency { times[slot] = MonotonicClock.nanoseconds() }
                    let submission = queue.submit(command, dataIOVA: bufferIOVA + UInt64(slot * ioBytes),
                                                  dataLength: ioBytes, tag: UInt64(slot))
                    guard submission == .submitted else {
                        // A closed queue (controller stopped or lost) or a refused size ends the
                        // run with the reason; a full queue waits for the next poll.
                        if submission != .queueFull {
                            result.failures += 1
                            if result.firstFailure == nil { result.firstFailure = "submission refused: \(submission)" }
                            stop = true
                        }
                        break
                    }
                    freeCount -= 1
                    submitted += 1
                    if let ios, submitted >= ios { stop = true }
                }
                queue.ringDoorbell()
                var now: UInt64 = 0
                completed += queue.poll { completion in
                    let slot = Int(completion.tag)
                    freeSlots[freeCount] = slot
                    freeCount += 1
                    if !completion.status.isSuccess {
                        result.failures += 1
                        if result.firstFailure == nil { result.firstFailure = "\(completion.status)" }
                    }
                    if measureLatency {
                        if now == 0 { now = MonotonicClock.nanoseconds() }
                        _ = result.latency.record(now &- times[slot])
                    }
                }
                if ios == nil, !stop, submitted % 1024 == 0, MonotonicClock.nanoseconds() >= deadline { stop = true }
            }
        }
        result.elapsedNanoseconds = MonotonicClock.nanoseconds() - start
        result.ios = completed
        return result
    }
}
