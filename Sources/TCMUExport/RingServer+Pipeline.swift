import DMAMapper
import SCSIController
import Translation
#if canImport(Glibc)
import Glibc
#endif

/// A worker with a pipeline (`SCSITaskPipeline`): it claims an entry for every free slot, copies
/// its data-out into the slot's region, starts it and claims the next; when the ring has nothing
/// more (or no slot is free) it polls, and each finished command's data-in is copied out and its
/// response written, in whatever order the device finished them (the kernel's out-of-order
/// completion). With nothing in flight it kicks, waits for the kernel's kick or parks like a worker
/// without one. A command whose data does not fit a slot runs the one-at-a-time way, in the
/// worker's own buffer (in pieces above it), once the pipeline has drained.
extension RingServer {
    /// Polls at most this many times before looking at the ring again (the ring's head is read
    /// under the server's lock, which the other workers and every response take).
    static let pollsPerClaim = 64

    func servePipelined(_ worker: RingWorker) {
        let pipeline = worker.pipeline.unsafelyUnwrapped
        var waitedForKick = false
        while true {
            guard let slot = worker.freeSlots.pop() else {
                poll(worker, ringToo: false)
                continue
            }
            let command = worker.slotCommands[slot]
            let busy = pipeline.pending > 0
            let step = state.withLock { claim(for: worker, into: worker.slotCommands[slot], &$0, waitedForKick: waitedForKick, busy: busy) }
            waitedForKick = false
            switch step {
            case let .serve(helper):
                wakeHelper(helper)
                start(slot, of: worker)
                continue
            case let .refuse(defect, helper):
                wakeHelper(helper)
                worker.freeSlots.push(slot)
                refuse(command, defect)
                continue
            default:
                worker.freeSlots.push(slot)
            }
            switch step {
            case .poll: poll(worker, ringToo: true)
            case .kick: kick()
            case .waitForKick:
                waitForKick()
                waitedForKick = true
            case .idle: worker.wake.wait()
            case .exit:
                exit()
                return
            case .serve, .refuse: break
            }
        }
    }

    /// Starts the command parsed into `slot`: in the slot's region when its data fits one, else
    /// the one-at-a-time way after the commands in flight.
    func start(_ slot: Int, of worker: RingWorker) {
        let command = worker.slotCommands[slot]
        let pipeline = worker.pipeline.unsafelyUnwrapped
        let slab = worker.slab.unsafelyUnwrapped
        let phase = dataPhase(cdb: command.cdb, lun: lun, facts: adapter.facts)
        guard command.transferLength <= worker.slotBytes, phase.length ?? 0 <= worker.slotBytes else {
            pipeline.drain { finish($0, $1, of: worker) }
            serve(command, in: worker.buffer, on: worker.queue)
            worker.freeSlots.push(slot)
            return
        }
        let offset = slot * worker.slotBytes
        guard let plan = plan(command, phase: phase,
                              in: UnsafeMutableRawBufferPointer(rebasing: slab.bytes[offset..<(offset + worker.slotBytes)])) else {
            worker.freeSlots.push(slot)
            return
        }
        worker.slotPlans[slot] = plan
        if pipeline.inFlight > 0 { overlapped.add(1, ordering: .relaxed) }
        pipeline.start(task(command, plan, buffer: slab, offset: offset), slot: slot)
    }

    /// Polls the pipeline until something finished, or `pollsPerClaim` times; then, with nothing
    /// finished, yields the CPU once: the kernel's side of every command (the initiator, sd, LIO,
    /// TCMU) runs on the same CPUs, and on a small machine a worker that only spins delays the
    /// very commands it waits for. A worker whose queue has a completion interrupt polls
    /// `pollsBeforeSleep` times instead, then sleeps until the device signals a completion or,
    /// when `ringToo` (it has a free slot), the kernel kicks (`sleepOnCompletions`).
    func poll(_ worker: RingWorker, ringToo: Bool) {
        let pipeline = worker.pipeline.unsafelyUnwrapped
        for _ in 0..<(worker.sleepsOnCompletions ? pollsBeforeSleep : Self.pollsPerClaim) {
            if pipeline.poll({ finish($0, $1, of: worker) }) > 0 { return }
        }
        if worker.sleepsOnCompletions {
            sleepOnCompletions(worker, ringToo: ringToo)
        } else {
            sched_yield()
        }
    }

    /// Answers the command of a finished slot and frees the slot.
    func finish(_ slot: Int, _ outcome: SCSITaskResponse, of worker: RingWorker) {
        let offset = slot * worker.slotBytes
        finish(worker.slotCommands[slot], worker.slotPlans[slot].unsafelyUnwrapped, outcome,
               data: UnsafeRawBufferPointer(rebasing: worker.slab.unsafelyUnwrapped.bytes[offset..<(offset + worker.slotBytes)]))
        worker.freeSlots.push(slot)
    }
}
