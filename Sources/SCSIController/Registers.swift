import NVMe
import PCIDevice

/// The controller registers the engine reads and writes (NVMe Base 2.0, 3.1.4), typed, so no
/// caller spells out an offset and a raw value. Doorbells are not here: each queue pair owns its
/// own (`Doorbell`).
extension DeviceInterface {
    /// CAP, Controller Capabilities.
    var capabilities: ControllerCapabilities { ControllerCapabilities(rawValue: readRegister64(at: ControllerRegister.cap)) }
    /// VS, Version.
    var version: ControllerVersion { ControllerVersion(rawValue: readRegister32(at: ControllerRegister.vs)) }
    /// CC, Controller Configuration.
    var configuration: NVMe.ControllerConfiguration {
        get { NVMe.ControllerConfiguration(rawValue: readRegister32(at: ControllerRegister.cc)) }
        set { writeRegister32(newValue.rawValue, at: ControllerRegister.cc) }
    }
    /// CSTS, Controller Status.
    var status: ControllerStatus { ControllerStatus(rawValue: readRegister32(at: ControllerRegister.csts)) }

    /// AQA, ASQ and ACQ: where the admin queue's rings are and how many entries they hold.
    func programAdminQueue(_ attributes: AdminQueueAttributes, submissionRing: UInt64, completionRing: UInt64) {
        writeRegister32(attributes.rawValue, at: ControllerRegister.aqa)
        writeRegister64(submissionRing, at: ControllerRegister.asq)
        writeRegister64(completionRing, at: ControllerRegister.acq)
    }
}
