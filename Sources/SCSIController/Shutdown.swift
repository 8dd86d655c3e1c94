import NVMe
import PCIDevice

extension ControllerCore {
    /// Stops the controller so that no acknowledged write can be lost: Flush every namespace when
    /// a volatile write cache is present, delete the I/O queues (and disarm their completion
    /// interrupts' MSI-X vectors), then the CC.SHN normal shutdown
    /// handshake, waiting for CSTS.SHST = complete within RTD3E when the controller reports it
    /// (else `ControllerOptions.shutdownTimeoutMilliseconds`). Runs once; later calls return at once.
    /// Also runs when the last reference to the controller and its queues goes away.
    ///
    /// Safe while other threads hold queues: new requests are refused from the first instruction,
    /// the Flush waits (bounded) for a request running on queue 1 to end and then claims it, and
    /// every queue's owner learns of the stop at its next poll, which hands back what was outstanding.
    func stop() throws(ControllerError) {
        guard epoch.publishStopping() else { return }
        // A controller that is gone, or no longer enabled, has nothing to flush or shut down; say so once.
        do throws(ControllerError) {
            try RegisterWaits.checkAlive(device: device, during: "stop")
        } catch {
            epoch.publishStopped()
            logger.error("stop: \(error)")
            throw error
        }
        var firstError: ControllerError?
        func note(_ error: ControllerError) {
            logger.error("stop: \(error)")
            if firstError == nil { firstError = error }
        }
        if facts.identify.volatileWriteCachePresent, let queue = queuePairs.first {
            if claimForStop(queue) {
                if queue.state.pointee.epoch != epoch.value.load(ordering: .acquiring) {
                    // A reset since the queue's owner last looked: re-create it here (nobody waits
                    // for what it still had outstanding).
                    _ = queue.catchUp({ _ in }, reconnect: { pair throws(ControllerError) in try recreate(pair) })
                }
                for ns in facts.namespaces {
                    let flush = SingleCommandPlan(name: "Flush", command: PlannedCommand(entry: .flush(nsid: ns.id)))
                    if let error = queue.runClaimed(flush, watchedBy: self, whileStopping: true).error { note(error) }
                }
                queue.releaseClaim()
            } else {
                note(.noProgress(command: "Flush", queueID: queue.id, milliseconds: facts.options.commandTimeoutMilliseconds,
                                 detail: "another thread kept queue \(queue.id) busy, so stop could not flush through it"))
            }
        }
        epoch.publishStopped()
        adminLock.withLock { state in
            for id in state.createdQueues.sorted(by: >) {
                do throws(ControllerError) {
                    try admin.run(.deleteIOSubmissionQueue(id: id), name: "Delete I/O Submission Queue \(id)")
                    try admin.run(.deleteIOCompletionQueue(id: id), name: "Delete I/O Completion Queue \(id)")
                } catch {
                    note(error)
                }
            }
            state.createdQueues.removeAll()
        }
        // The vectors' queues are gone: disarm MSI-X now, not when the device is closed, so a
        // stopped controller holds no interrupt set up for queues it no longer has.
        if queuePairs.contains(where: { $0.completionInterrupt != nil }) {
            do throws(InterruptTriggerError) { try device.setInterruptTriggers([]) } catch { logger.warning("stop: \(error)") }
        }
        do throws(ControllerError) { try shutdownHandshake() } catch { note(error) }
        if let firstError { throw firstError }
        logger.info("controller stopped", metadata: ["device": "\(device.name)"])
    }

    /// Waits, within the command timeout, for a request running on `queue` to end (it sees the stop
    /// at its next check), then claims the queue.
    private func claimForStop(_ queue: QueuePair) -> Bool {
        do throws(ControllerError) {
            return try RegisterWaits.wait(milliseconds: facts.options.commandTimeoutMilliseconds, { queue.claim() ? true : nil },
                                          expired: { .stopped })
        } catch {
            return false
        }
    }

    /// CC.SHN = 01b, then wait for CSTS.SHST = 10b within `shutdownMilliseconds`.
    func shutdownHandshake() throws(ControllerError) {
        var cc = device.configuration
        guard cc.rawValue != .max else { throw .deviceGone(during: "shutdown") }
        cc.shn = .normal
        device.configuration = cc
        let bound = facts.shutdownMilliseconds
        var csts = ControllerStatus(rawValue: 0)
        try RegisterWaits.wait(milliseconds: bound) { () throws(ControllerError) -> Bool? in
            csts = device.status
            if csts.isAllOnes { throw .deviceGone(during: "shutdown") }
            return csts.shst == .complete ? true : nil
        } expired: {
            .shutdownTimeout(milliseconds: bound, csts: csts.rawValue)
        }
    }
}
