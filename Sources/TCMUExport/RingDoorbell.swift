/// The two signals of the TCMU ring: the kernel's kick (new entries behind cmd_head) and the
/// handler's (cmd_tail moved). The uio device is the real one (`UIODevice`); tests use their own.
public protocol RingDoorbell: Sendable {
    /// Waits up to `milliseconds` for the kernel's kick; true when one arrived.
    func waitForKick(milliseconds: Int32) -> Bool
    /// Tells the kernel that cmd_tail moved.
    func kick()
}
