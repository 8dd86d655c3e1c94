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
        let csts = ControllerStatus(rawValue: device.readRegister32(at: ControllerRegister.csts))
        if csts.isAllOnes { throw .deviceGone(during: during) }
        if csts.cfs { throw .controllerFatal(during: during, csts: csts.rawValue) }
        if !csts.rdy { throw .controllerNotReady(during: during, csts: csts.rawValue) }
    }

    /// Waits for CSTS.RDY to equal `ready`, within CAP.TO.
    static func waitReady(_ ready: Bool, device: any DeviceInterface, cap: ControllerCapabilities) throws(ControllerError) {
        let timeout = max(cap.timeoutMilliseconds, 500)
        let deadline = MonotonicClock.nanoseconds() + UInt64(timeout) * 1_000_000
        while true {
            let csts = ControllerStatus(rawValue: device.readRegister32(at: ControllerRegister.csts))
            if csts.isAllOnes { throw .deviceGone(during: ready ? "enable" : "disable") }
            if csts.cfs && ready { throw .controllerFatal(during: "enable", csts: csts.rawValue) }
            if csts.rdy == ready { return }
            if MonotonicClock.nanoseconds() > deadline {
                throw .readyTimeout(expected: ready, milliseconds: timeout, cap: cap.rawValue,
                                    cc: device.readRegister32(at: ControllerRegister.cc), csts: csts.rawValue)
            }
            pause()
        }
    }

    /// Clears CC.EN and waits for the controller to report not ready.
    static func disable(device: any DeviceInterface, cap: ControllerCapabilities) throws(ControllerError) {
        var cc = NVMe.ControllerConfiguration(rawValue: device.readRegister32(at: ControllerRegister.cc))
        if cc.rawValue == .max { throw .deviceGone(during: "disable") }
        let csts = ControllerStatus(rawValue: device.readRegister32(at: ControllerRegister.csts))
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
        device.writeRegister32(cc.rawValue, at: ControllerRegister.cc)
        try waitReady(false, device: device, cap: cap)
    }

    /// Yields the CPU briefly while a register wait spins.
    static func pause() {
        var ts = timespec(tv_sec: 0, tv_nsec: 20_000)
        nanosleep(&ts, nil)
    }
}
