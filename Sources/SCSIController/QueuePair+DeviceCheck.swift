import PCIDevice

extension QueuePair {
    /// For callers that drive the queue pair themselves (a benchmark's loop): the check the
    /// engine's request loop makes when nothing has completed for a while. A device that was
    /// removed (or that the kernel asked back, see `VFIODevice.removalRequested`) reads all
    /// ones and never completes what is in flight, so such a loop would wait forever without it.
    ///
    /// Throws `deviceGone` when the registers read all ones, `controllerFatal` on CSTS.CFS and
    /// `controllerNotReady` when CSTS.RDY is clear. One register read: call it after many idle
    /// poll passes, never per command.
    public func checkDevice() throws(ControllerError) {
        try RegisterWaits.checkAlive(device: device, during: "I/O on queue \(id)")
    }
}
