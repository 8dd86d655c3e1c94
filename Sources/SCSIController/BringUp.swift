import DMAMapper
import NVMe
import PCIDevice

/// Everything bring-up establishes, computed before the controller object exists so that the
/// controller's properties can all be constants.
struct BringUp {
    let cap: ControllerCapabilities
    let version: ControllerVersion
    let pageSize: Int
    let mapper: DMAMapper
    let admin: AdminChannel
    let identify: IdentifyController
    let namespaces: [Namespace]
    let maximumCommandBytes: Int
    let iovaBits: Int
    let constraints: HBAConstraints
    let usesSGL: Bool
    let writeCacheEnabled: Bool
    let queuePairs: [QueuePair]

    init(device: any DeviceInterface, options: ControllerOptions) throws {
        cap = ControllerCapabilities(rawValue: device.readRegister64(at: ControllerRegister.cap))
        guard cap.rawValue != .max else { throw ControllerError.deviceGone(during: "reading CAP") }
        version = ControllerVersion(rawValue: device.readRegister32(at: ControllerRegister.vs))
        guard cap.supportsNVMCommandSet else {
            throw ControllerError.unsupported("CAP.CSS does not include the NVM command set (CAP=\(hex(cap.rawValue)))")
        }
        pageSize = min(max(options.pageSize, cap.minimumPageSize), cap.maximumPageSize)
        let scratch: DMABuffer
        do {
            mapper = try DMAMapper(iommu: device.iommu, numaNode: device.numaNode, addressableBits: options.addressableBits,
                                   pageSize: pageSize, logger: options.logger, pinning: options.pinning)
            scratch = try mapper.allocate(length: 8192, access: .readWrite)
        } catch {
            throw ControllerError.dma("setting up DMA for \(device.name): \(error)")
        }
        let top = mapper.iovaRanges.map(\.last).max() ?? 0
        iovaBits = 64 - top.leadingZeroBitCount

        // Disable, program the admin queue, enable (NVMe Base 2.0, 3.5.1 "Memory-based Controller Initialization").
        try RegisterWaits.disable(device: device, cap: cap)
        let adminDepth = min(options.adminQueueDepth, cap.maximumQueueEntries, 4096)
        let adminQueue = try QueuePair(id: 0, depth: adminDepth, device: device, mapper: mapper, doorbellStride: Int(cap.dstrd),
                                       pageSize: pageSize, maximumCommandBytes: 8192, useSGL: false)
        Self.programAdminQueue(adminQueue, device: device)
        Self.enable(device: device, pageSize: pageSize)
        try RegisterWaits.waitReady(true, device: device, cap: cap)
        admin = AdminChannel(queue: adminQueue, device: device, scratch: scratch,
                             timeoutMilliseconds: options.commandTimeoutMilliseconds)

        identify = try admin.runReturningData(.identify(.controller), name: "Identify Controller")
            .withUnsafeBytes { IdentifyController(bytes: $0) }
        let list = try admin.runReturningData(.identify(.activeNamespaceList), name: "Identify Active Namespace List")
        let ids = list.withUnsafeBytes { raw in
            (0..<1024).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian }.prefix { $0 != 0 }
        }
        var found: [Namespace] = []
        for nsid in ids {
            let data = try admin.runReturningData(.identify(.namespace, nsid: nsid), name: "Identify Namespace \(nsid)")
            let ns = data.withUnsafeBytes { IdentifyNamespace(bytes: $0) }
            if ns.nsze > 0 { found.append(Namespace(id: nsid, identify: ns)) }
        }
        namespaces = found
        guard !found.isEmpty else { throw ControllerError.unsupported("the controller reports no active namespace") }

        switch options.dataPointerMode {
        case .automatic: usesSGL = identify.supportsSGL
        case .prp: usesSGL = false
        case .sgl:
            guard identify.supportsSGL else {
                throw ControllerError.unsupported("SGLs were asked for but Identify Controller SGLS bits 1:0 are 00b")
            }
            usesSGL = true
        }
        let blockSize = found.map(\.blockSize).max() ?? 512
        let mdtsBytes = identify.maximumTransferBytes(minimumPageSize: cap.minimumPageSize)
        maximumCommandBytes = (mdtsBytes ?? options.maximumCommandBytesWhenUnlimited) / blockSize * blockSize
        guard maximumCommandBytes >= blockSize else {
            throw ControllerError.unsupported("MDTS allows \(mdtsBytes ?? 0) bytes per command, less than one \(blockSize)-byte block")
        }
        let limits = HBAConstraints.ControllerLimits(maximumCommandBytes: maximumCommandBytes, blockSize: blockSize, iovaBits: iovaBits)
        if let overrides = options.constraints {
            constraints = try HBAConstraints.validated(overrides, against: limits)
        } else {
            constraints = HBAConstraints.derived(from: limits)
        }

        if identify.volatileWriteCachePresent {
            let current = try admin.run(.getFeatures(.volatileWriteCache), name: "Get Features (Volatile Write Cache)")
            writeCacheEnabled = current.dw0 & 1 == 1
        } else {
            writeCacheEnabled = false
        }

        let asked = max(1, options.ioQueueCount)
        let granted = try admin.run(.setNumberOfQueues(submission: asked, completion: asked), name: "Set Features (Number of Queues)")
        let count = min(asked, Int(granted.dw0 & 0xFFFF) + 1, Int(granted.dw0 >> 16) + 1)
        let depth = max(2, min(options.ioQueueDepth, cap.maximumQueueEntries))
        var pairs: [QueuePair] = []
        for id in 1...count {
            let pair = try QueuePair(id: UInt16(id), depth: depth, device: device, mapper: mapper, doorbellStride: Int(cap.dstrd),
                                     pageSize: pageSize, maximumCommandBytes: maximumCommandBytes, useSGL: usesSGL)
            try Self.createIOQueue(pair, admin: admin)
            pairs.append(pair)
        }
        queuePairs = pairs
    }

    static func programAdminQueue(_ queue: QueuePair, device: any DeviceInterface) {
        device.writeRegister32(AdminQueueAttributes(submissionEntries: queue.depth, completionEntries: queue.depth).rawValue,
                               at: ControllerRegister.aqa)
        device.writeRegister64(queue.submissionRingIOVA, at: ControllerRegister.asq)
        device.writeRegister64(queue.completionRingIOVA, at: ControllerRegister.acq)
    }

    static func enable(device: any DeviceInterface, pageSize: Int) {
        var cc = NVMe.ControllerConfiguration()
        cc.css = 0
        cc.mps = UInt8(pageSize.trailingZeroBitCount - 12)
        cc.ams = 0
        cc.iosqes = 6
        cc.iocqes = 4
        cc.en = true
        device.writeRegister32(cc.rawValue, at: ControllerRegister.cc)
    }

    /// Creates the completion queue, then the submission queue bound to it.
    static func createIOQueue(_ pair: QueuePair, admin: AdminChannel) throws(ControllerError) {
        try admin.run(.createIOCompletionQueue(id: pair.id, entries: pair.depth, baseIOVA: pair.completionRingIOVA),
                      name: "Create I/O Completion Queue \(pair.id)")
        try admin.run(.createIOSubmissionQueue(id: pair.id, entries: pair.depth, baseIOVA: pair.submissionRingIOVA,
                                               completionQueueID: pair.id),
                      name: "Create I/O Submission Queue \(pair.id)")
    }
}
