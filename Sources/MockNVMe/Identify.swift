import NVMe

/// Identify (NVMe Base 2.0, 5.17): CNS 00h namespace, 01h controller, 02h active namespace list,
/// 03h namespace identification descriptor list. Every structure is 4096 bytes.
extension ControllerState {
    mutating func identify(_ entry: SubmissionQueueEntry) throws(CommandFailure) {
        var page = [UInt8](repeating: 0, count: 4096)
        switch IdentifyCNS(rawValue: UInt8(truncatingIfNeeded: entry.cdw10)) {
        case .controller?:
            page.withUnsafeMutableBytes { identifyController.encode(into: $0) }
        case .namespace?:
            let data = IdentifyData.namespace(configuration.namespaces[try activeNamespaceIndex(entry.nsid)])
            page.withUnsafeMutableBytes { data.encode(into: $0) }
        case .activeNamespaceList?:
            // Active NSIDs greater than the one given, ascending; FFFFFFFEh and above are invalid.
            guard entry.nsid < 0xFFFF_FFFE else { throw CommandFailure(.invalidNamespaceOrFormat) }
            var position = 0
            for nsid in 1...UInt32(configuration.namespaces.count) where nsid > entry.nsid && position < 1024 {
                page.withUnsafeMutableBytes { $0.storeBytes(of: nsid.littleEndian, toByteOffset: position * 4, as: UInt32.self) }
                position += 1
            }
        case .namespaceIdentificationDescriptors?:
            let namespace = configuration.namespaces[try activeNamespaceIndex(entry.nsid)]
            page.withUnsafeMutableBytes { IdentifyData.identificationDescriptors(namespace, into: $0) }
        default:
            throw CommandFailure(.invalidFieldInCommand)
        }
        try sendToHost(entry, page, from: 0, length: 4096)
    }

    /// The index of active namespace `nsid` (in `namespaces` and `configuration.namespaces`
    /// alike: one storage per configured namespace); 0, FFFFFFFFh and unknown NSIDs are Invalid
    /// Namespace or Format (every namespace of the mock is active).
    func activeNamespaceIndex(_ nsid: UInt32) throws(CommandFailure) -> Int {
        try checks.activeNamespaceIndex(nsid)
    }
}
