/// The two signals of the TCMU ring: the kernel's kick (new entries behind cmd_head) and the
/// handler's (cmd_tail moved). The uio device is the real one (`UIODevice`); tests use their own.
public protocol RingDoorbell: Sendable {
    /// Waits up to `milliseconds` for the kernel's kick; true when one arrived.
    func waitForKick(milliseconds: Int32) -> Bool
    /// Tells the kernel that cmd_tail moved.
    func kick()
    /// A descriptor that polls readable (POLLIN) while a kick is waiting to be taken with
    /// `waitForKick`, so a worker can sleep on it beside its completion queue; -1 when there is none.
    var kickDescriptor: Int32 { get }
}

extension RingDoorbell {
    /// None: a worker with commands in flight looks at the ring between polls instead.
    public var kickDescriptor: Int32 { -1 }
}
