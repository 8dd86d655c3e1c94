#if canImport(Glibc)
import Glibc
#endif
import NVMe
import PCIDevice

/// Bounded register waits shared by bring-up, reset and shutdown.
enum RegisterWaits {
    /// Throws when the device reads all ones, reports CSTS.CFS, or is no longer ready (reset or
    /// powered off behind the driver's back). Only meaningful once the controller is enabled.
    static func checkAlive(device: any DeviceInterface, during: String) throws(ControllerError) {
        let csts = device.status
        if csts.isAllOnes { throw .deviceGone(during: during) }
        if csts.cfs { throw .controllerFatal(during: during, csts: csts.rawValue) }
        if !csts.rdy { throw .controllerNotReady(during: during, csts: csts.rawValue) }
    }

    /// Waits for CSTS.RDY to equal `ready`, within CAP.TO.
    static func waitReady(_ ready: Bool, device: any DeviceInterface, cap: ControllerCapabilities) throws(ControllerError) {
        let timeout = max(cap.timeoutMilliseconds, 500)
        var last = ControllerStatus(rawValue: 0)
        try wait(milliseconds: timeout) { () throws(ControllerError) -> Bool? in
            last = device.status
            if last.isAllOnes { throw .deviceGone(during: ready ? "enable" : "disable") }
            if last.cfs && ready { throw .controllerFatal(during: "enable", csts: last.rawValue) }
            return last.rdy == ready ? true : nil
        } expired: {
            .readyTimeout(expected: ready, milliseconds: timeout, cap: cap.rawValue,
                          cc: device.configuration.rawValue, csts: last.rawValue)
        }
    }

    /// Clears CC.EN and waits for the controller to report not ready.
    static func disable(device: any DeviceInterface, cap: ControllerCapabilities) throws(ControllerError) {
        var cc = device.configuration
        if cc.rawValue == .max { throw .deviceGone(during: "disable") }
        let csts = device.status
        if !cc.en && !csts.rdy { return }
        if cc.en && !csts.rdy && !csts.cfs {
            // Spec: wait for a pending enable to finish before clearing EN. One that never
            // finishes (the bring-up that is being undone) is disabled all the same.
            do throws(ControllerError) {
                try waitReady(true, device: device, cap: cap)
            } catch {
                if case .deviceGone = error { throw error }
            }
        }
        cc.en = false
        device.configuration = cc
        try waitReady(false, device: device, cap: cap)
    }

    /// The one bounded wait: calls `attempt` until it returns a value, spinning at first and then
    /// pausing between tries, and throws `expired()` once `milliseconds` pass without one.
    /// `checkInterval` tries pass between two looks at the clock.
    @discardableResult
    static func wait<T>(milliseconds: Int, checkInterval: Int = 1, _ attempt: () throws(ControllerError) -> T?,
                        expired: () -> ControllerError) throws(ControllerError) -> T {
        var watchdog = Watchdog(timeoutMilliseconds: milliseconds)
        var tries = 0
        while true {
            if let value = try attempt() { return value }
            tries += 1
            if tries % checkInterval == 0,
               watchdog.exceeded(idlePasses: tries, checkInterval: checkInterval, now: MonotonicClock.nanoseconds()) {
                throw expired()
            }
        }
    }

    /// Yields the CPU briefly while a register wait spins.
    static func pause() {
        var ts = timespec(tv_sec: 0, tv_nsec: 20_000)
        nanosleep(&ts, nil)
    }
}
