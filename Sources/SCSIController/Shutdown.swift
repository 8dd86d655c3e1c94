import NVMe

extension ControllerCore {
    /// Stops the controller so that no acknowledged write can be lost: Flush every namespace when
    /// a volatile write cache is enabled, delete the I/O queues, then the CC.SHN normal shutdown
    /// handshake, waiting for CSTS.SHST = complete within RTD3E (or the configured bound).
    /// Runs once; later calls return at once. Also runs on deinit.
    ///
    /// Every I/O queue must be idle (no thread inside a request) when this is called.
    func stop() throws(ControllerError) {
        let alreadyStopped = stoppedFlag.exchange(true, ordering: .acquiringAndReleasing)
        if alreadyStopped { return }
        var firstError: ControllerError?
        // A controller that is gone, or no longer enabled, has nothing to flush or shut down; say so once.
        do { try RegisterWaits.checkAlive(device: device, during: "stop") } catch {
            logger.error("stop: \(error)")
            throw error
        }
        func note(_ error: ControllerError) {
            logger.error("stop: \(error)")
            if firstError == nil { firstError = error }
        }
        if identify.volatileWriteCachePresent, let queue = queuePairs.first {
            for ns in namespaces {
                let outcome = runSingle(.flush(nsid: ns.id), on: queue, name: "Flush", whileStopping: true)
                if let error = outcome.error { note(error) }
            }
        }
        adminLock.withLock { _ in
            for queue in queuePairs.reversed() {
                do {
                    try admin.run(.deleteIOSubmissionQueue(id: queue.id), name: "Delete I/O Submission Queue \(queue.id)")
                    try admin.run(.deleteIOCompletionQueue(id: queue.id), name: "Delete I/O Completion Queue \(queue.id)")
                } catch { note(error as? ControllerError ?? .unsupported("\(error)")) }
            }
        }
        do { try shutdownHandshake() } catch { note(error) }
        if let firstError { throw firstError }
        logger.info("controller stopped", metadata: ["device": "\(device.name)"])
    }

    /// CC.SHN = 01b, then wait for CSTS.SHST = 10b.
    func shutdownHandshake() throws(ControllerError) {
        var cc = NVMe.ControllerConfiguration(rawValue: device.readRegister32(at: ControllerRegister.cc))
        guard cc.rawValue != .max else { throw .deviceGone(during: "shutdown") }
        cc.shn = .normal
        device.writeRegister32(cc.rawValue, at: ControllerRegister.cc)
        let bound = options.shutdownTimeoutMilliseconds
        let deadline = MonotonicClock.nanoseconds() + UInt64(bound) * 1_000_000
        while true {
            let csts = ControllerStatus(rawValue: device.readRegister32(at: ControllerRegister.csts))
            if csts.isAllOnes { throw .deviceGone(during: "shutdown") }
            if csts.shst == .complete { return }
            if MonotonicClock.nanoseconds() > deadline { throw .shutdownTimeout(milliseconds: bound, csts: csts.rawValue) }
            RegisterWaits.pause()
        }
    }
}
