import HexFormat
import NVMe

/// Why a `MockConfiguration` cannot be modelled: the field, the value it had and the rule it
/// broke, e.g. `MockConfiguration.doorbellStride = 16: CAP.DSTRD is 4 bits, 0...15`.
public struct MockConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The field's path, e.g. "mdts" or "namespaces[1].blockSize".
    public var field: String
    /// The offending value as text.
    public var value: String
    /// The rule the value broke.
    public var rule: String

    /// An error for `field` holding `value` against `rule` (tests build expected errors with it).
    public init(field: String, value: String, rule: String) {
        self.field = field
        self.value = value
        self.rule = rule
    }

    /// `MockConfiguration.<field> = <value>: <rule>`, the form the type's example shows.
    public var description: String { "MockConfiguration.\(field) = \(value): \(rule)" }
}

extension MockConfiguration {
    /// Checks every value against what the registers and data structures can express and what
    /// the mock can model. `MockController.open(configuration:iommu:)` throws this error; the
    /// non-throwing initializer stops the program with its text instead.
    public func validate() throws(MockConfigurationError) {
        func check(_ holds: Bool, _ field: String, _ value: some CustomStringConvertible, _ rule: String) throws(MockConfigurationError) {
            if !holds { throw MockConfigurationError(field: field, value: value.description, rule: rule) }
        }
        try check(!namespaces.isEmpty, "namespaces", "[]", "at least one namespace")
        try check(namespaces.count < 0xFFFF_FFFF, "namespaces.count", namespaces.count, "NSIDs FFFFFFFFh and above are reserved")
        for (index, namespace) in namespaces.enumerated() {
            try namespace.validate(field: "namespaces[\(index)]")
        }
        try check(mpsmin <= 15, "mpsmin", mpsmin, "CAP.MPSMIN is 4 bits, 0...15")
        try check(mpsmax <= 15, "mpsmax", mpsmax, "CAP.MPSMAX is 4 bits, 0...15")
        try check(mpsmin <= mpsmax, "mpsmin", mpsmin, "must not exceed mpsmax (\(mpsmax))")
        try check(12 + Int(mpsmin) + Int(mdts) <= 32 || mdts == 0, "mdts", mdts,
                  "2^mdts x the minimum page size (2^\(12 + Int(mpsmin))) must be at most 4 GiB")
        try check(doorbellStride <= 15, "doorbellStride", doorbellStride, "CAP.DSTRD is 4 bits, 0...15")
        try check((1...0xFFFF).contains(ioQueueCount), "ioQueueCount", ioQueueCount, "Number of Queues grants 1...65535 queues")
        try check((1...2048).contains(interruptVectors), "interruptVectors", interruptVectors, "an MSI-X table has 1...2048 vectors")
        try check(mqes >= 1, "mqes", mqes, "CAP.MQES is 0's based and a queue has at least 2 entries")
        try check((1...256).contains(errorLogEntries), "errorLogEntries", errorLogEntries, "ELPE is a 0's based byte: 1...256 entries")
        try check((1...32).contains(powerStates.count), "powerStates.count", powerStates.count, "NPSS is 0's based, at most 31: 1...32 states")
        try check(powerStates.first.map { !$0.nonOperational } ?? true, "powerStates[0].nonOperational", true,
                  "PS0 is the state after a reset and must be operational")
        let unimplemented = optionalNVMCommands.subtracting(Self.implementedOptionalNVMCommands)
        try check(unimplemented.isEmpty, "optionalNVMCommands", "ONCS \(hexCode(optionalNVMCommands.rawValue, width: 4))",
                  "ONCS bits \(hexCode(unimplemented.rawValue, width: 4)) name commands the mock does not implement "
                  + "(it implements Compare, Dataset Management, Write Zeroes and Verify: \(hexCode(Self.implementedOptionalNVMCommands.rawValue, width: 4)))")
        try check(!compareAndWrite || optionalNVMCommands.contains(.compare), "compareAndWrite", true,
                  "fused Compare and Write needs Compare (ONCS bit 0) in optionalNVMCommands")
        try check(serialNumber.utf8.count <= 20 && serialNumber.allSatisfy(\.isASCII), "serialNumber", serialNumber, "at most 20 ASCII characters")
        try check(modelNumber.utf8.count <= 40 && modelNumber.allSatisfy(\.isASCII), "modelNumber", modelNumber, "at most 40 ASCII characters")
        try check(firmwareRevision.utf8.count <= 8 && firmwareRevision.allSatisfy(\.isASCII), "firmwareRevision", firmwareRevision,
                  "at most 8 ASCII characters")
        if case .threaded(let latency, _) = executionMode {
            try check(latency >= .zero, "executionMode.latency", latency, "must not be negative")
        }
    }
}

extension MockNamespace {
    func validate(field: String) throws(MockConfigurationError) {
        func check(_ holds: Bool, _ name: String, _ value: String, _ rule: String) throws(MockConfigurationError) {
            if !holds { throw MockConfigurationError(field: "\(field).\(name)", value: value, rule: rule) }
        }
        try check(blockSize == 512 || blockSize == 4096, "blockSize", "\(blockSize)", "the mock models 512 or 4096-byte blocks")
        try check(blockCount > 0, "blockCount", "0", "a namespace needs at least one block")
        try check(blockCount <= UInt64(Int64.max) / UInt64(blockSize), "blockCount", "\(blockCount)",
                  "blockCount x blockSize must fit in 63 bits")
        let identifiers: [(String, [UInt8]?, NamespaceIdentifierType)] = [
            ("nguid", nguid, .nguid), ("eui64", eui64, .eui64), ("uuid", uuid, .uuid),
        ]
        for (name, value, type) in identifiers {
            guard let value else { continue }
            let length = type.length
            try check(value.count == length && value.contains { $0 != 0 }, name, "\(value)",
                      "\(length) bytes, not all zero (all zero means none: use nil)")
        }
    }
}
