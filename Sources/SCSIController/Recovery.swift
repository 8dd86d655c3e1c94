import NVMe

extension ControllerCore {
    /// Bumped by every reset, so a request waiting on any queue learns its commands are gone.
    var resetGeneration: Int { resetCount }

    /// Resets the controller and re-creates its queues after a timeout or fatal status.
    /// Outstanding commands on every queue are dropped; their requests fail with `abortedByReset`
    /// (or the timeout that caused the reset). Queues owned by other threads must be idle in
    /// their poll loop, where they notice the new generation: a reset never frees memory a
    /// command still points at, because the rings and list pages are the same allocations.
    func recover(reason: String) {
        logger.warning("resetting controller", metadata: ["device": "\(device.name)", "reason": "\(reason)"])
        let enabledCache = volatileWriteCacheEnabled
        resets.add(1, ordering: .releasing)
        do {
            try adminLock.withLock { _ throws(ControllerError) in
                try RegisterWaits.disable(device: device, cap: capabilities)
                admin.queue.resetRings()
                BringUp.programAdminQueue(admin.queue, device: device)
                BringUp.enable(device: device, pageSize: pageSize)
                try RegisterWaits.waitReady(true, device: device, cap: capabilities)
                try admin.run(.setNumberOfQueues(submission: queuePairs.count, completion: queuePairs.count),
                              name: "Set Features (Number of Queues)")
                for pair in queuePairs {
                    _ = pair.drainOutstanding()
                    try BringUp.createIOQueue(pair, admin: admin)
                }
                if identify.volatileWriteCachePresent {
                    try admin.run(.setFeatures(.volatileWriteCache, value: enabledCache ? 1 : 0),
                                  name: "Set Features (Volatile Write Cache)")
                }
            }
            logger.notice("controller reset complete", metadata: ["device": "\(device.name)"])
        } catch {
            logger.error("controller reset failed; the controller is unusable", metadata: ["error": "\(error)"])
            stoppedFlag.store(true, ordering: .releasing)
        }
    }
}
