/// Admin command opcodes (NVMe Base 2.0, "Opcodes for Admin Commands").
public enum AdminOpcode: UInt8, Sendable, CaseIterable {
    case deleteIOSubmissionQueue = 0x00
    case createIOSubmissionQueue = 0x01
    case getLogPage = 0x02
    case deleteIOCompletionQueue = 0x04
    case createIOCompletionQueue = 0x05
    case identify = 0x06
    case abort = 0x08
    case setFeatures = 0x09
    case getFeatures = 0x0A
    case asynchronousEventRequest = 0x0C
    case namespaceManagement = 0x0D
    case firmwareCommit = 0x10
    case firmwareImageDownload = 0x11
    case deviceSelfTest = 0x14
    case namespaceAttachment = 0x15
    case keepAlive = 0x18
    case doorbellBufferConfig = 0x7C
    case formatNVM = 0x80
    case sanitize = 0x84
}

/// NVM command set I/O opcodes (NVM Command Set 1.0, "Opcodes for NVM Commands").
public enum NVMOpcode: UInt8, Sendable, CaseIterable {
    case flush = 0x00
    case write = 0x01
    case read = 0x02
    case writeUncorrectable = 0x04
    case compare = 0x05
    case writeZeroes = 0x08
    case datasetManagement = 0x09
    case verify = 0x0C
    case reservationRegister = 0x0D
    case reservationReport = 0x0E
    case reservationAcquire = 0x11
    case reservationRelease = 0x15
    case copy = 0x19
}

/// Feature identifiers used by this driver (NVMe Base 2.0, "Feature Identifiers").
public enum FeatureID: UInt8, Sendable, CaseIterable {
    case arbitration = 0x01
    case powerManagement = 0x02
    case temperatureThreshold = 0x04
    case errorRecovery = 0x05
    case volatileWriteCache = 0x06
    case numberOfQueues = 0x07
    case interruptCoalescing = 0x08
    case asynchronousEventConfiguration = 0x0B
}

/// Identify CNS values (NVMe Base 2.0, "CNS Values").
public enum IdentifyCNS: UInt8, Sendable {
    case namespace = 0x00
    case controller = 0x01
    case activeNamespaceList = 0x02
    case namespaceIdentificationDescriptors = 0x03
}

/// Log page identifiers (NVMe Base 2.0, "Log Page Identifiers").
public enum LogPageID: UInt8, Sendable {
    case errorInformation = 0x01
    case smartHealth = 0x02
    case firmwareSlot = 0x03
}
