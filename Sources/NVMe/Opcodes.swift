/// Admin command opcodes (NVMe Base 2.0, figure "Opcodes for Admin Commands").
public enum AdminOpcode: UInt8, Sendable, CaseIterable {
    /// Delete I/O Submission Queue, 00h.
    case deleteIOSubmissionQueue = 0x00
    /// Create I/O Submission Queue, 01h.
    case createIOSubmissionQueue = 0x01
    /// Get Log Page, 02h.
    case getLogPage = 0x02
    /// Delete I/O Completion Queue, 04h.
    case deleteIOCompletionQueue = 0x04
    /// Create I/O Completion Queue, 05h.
    case createIOCompletionQueue = 0x05
    /// Identify, 06h.
    case identify = 0x06
    /// Abort, 08h.
    case abort = 0x08
    /// Set Features, 09h.
    case setFeatures = 0x09
    /// Get Features, 0Ah.
    case getFeatures = 0x0A
    /// Asynchronous Event Request, 0Ch.
    case asynchronousEventRequest = 0x0C
    /// Namespace Management, 0Dh.
    case namespaceManagement = 0x0D
    /// Firmware Commit, 10h.
    case firmwareCommit = 0x10
    /// Firmware Image Download, 11h.
    case firmwareImageDownload = 0x11
    /// Device Self-test, 14h.
    case deviceSelfTest = 0x14
    /// Namespace Attachment, 15h.
    case namespaceAttachment = 0x15
    /// Keep Alive, 18h.
    case keepAlive = 0x18
    /// Doorbell Buffer Config, 7Ch: shadow doorbells for emulated controllers.
    case doorbellBufferConfig = 0x7C
    /// Format NVM, 80h.
    case formatNVM = 0x80
    /// Sanitize, 84h.
    case sanitize = 0x84
}

/// NVM command set I/O opcodes (NVM Command Set 1.0, figure "Opcodes for NVM Commands").
public enum NVMOpcode: UInt8, Sendable, CaseIterable {
    /// Flush, 00h.
    case flush = 0x00
    /// Write, 01h.
    case write = 0x01
    /// Read, 02h.
    case read = 0x02
    /// Write Uncorrectable, 04h.
    case writeUncorrectable = 0x04
    /// Compare, 05h.
    case compare = 0x05
    /// Write Zeroes, 08h.
    case writeZeroes = 0x08
    /// Dataset Management, 09h.
    case datasetManagement = 0x09
    /// Verify, 0Ch.
    case verify = 0x0C
    /// Reservation Register, 0Dh.
    case reservationRegister = 0x0D
    /// Reservation Report, 0Eh.
    case reservationReport = 0x0E
    /// Reservation Acquire, 11h.
    case reservationAcquire = 0x11
    /// Reservation Release, 15h.
    case reservationRelease = 0x15
    /// Copy, 19h.
    case copy = 0x19
}

/// Feature identifiers used by this driver (NVMe Base 2.0, figure "Feature Identifiers").
public enum FeatureID: UInt8, Sendable, CaseIterable {
    /// Arbitration, 01h.
    case arbitration = 0x01
    /// Power Management, 02h.
    case powerManagement = 0x02
    /// Temperature Threshold, 04h.
    case temperatureThreshold = 0x04
    /// Error Recovery, 05h.
    case errorRecovery = 0x05
    /// Volatile Write Cache, 06h.
    case volatileWriteCache = 0x06
    /// Number of Queues, 07h.
    case numberOfQueues = 0x07
    /// Interrupt Coalescing, 08h.
    case interruptCoalescing = 0x08
    /// Asynchronous Event Configuration, 0Bh.
    case asynchronousEventConfiguration = 0x0B
}

/// Identify CNS values (NVMe Base 2.0, figure "CNS Values").
public enum IdentifyCNS: UInt8, Sendable {
    /// 00h: Identify Namespace for the NSID.
    case namespace = 0x00
    /// 01h: Identify Controller.
    case controller = 0x01
    /// 02h: the active namespace ID list above the NSID.
    case activeNamespaceList = 0x02
    /// 03h: the Namespace Identification Descriptor list for the NSID.
    case namespaceIdentificationDescriptors = 0x03
}

/// Log page identifiers (NVMe Base 2.0, figure "Log Page Identifiers").
public enum LogPageID: UInt8, Sendable {
    /// Error Information, 01h.
    case errorInformation = 0x01
    /// SMART / Health Information, 02h.
    case smartHealth = 0x02
    /// Firmware Slot Information, 03h.
    case firmwareSlot = 0x03
}
