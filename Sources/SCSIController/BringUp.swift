import DMAMapper
import HexFormat
import Logging
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
    let epoch: ControllerEpoch
    let identify: IdentifyController
    let namespaces: [Namespace]
    let unusableNamespaces: [UnusableNamespace]
    let maximumCommandBytes: Int
    let iovaBits: Int
    let constraints: HBAConstraints
    let usesSGL: Bool
    let writeCacheEnabled: Bool
    let shutdownMilliseconds: Int
    let queuePairs: [QueuePair]
    /// The shadow doorbell buffers, when the controller accepted Doorbell Buffer Config.
    let shadowDoorbells: ShadowDoorbells?

    /// DMA memory the controller may reach once enabled: kept alive until it is disabled again.
    private final class ReachableMemory { var objects: [AnyObject] = [] }

    init(device: any DeviceInterface, options: ControllerOptions) throws(ControllerError) {
        try DeviceValidation.check(options)
        let cap = device.capabilities
        self.cap = cap
        guard cap.rawValue != .max else { throw ControllerError.deviceGone(during: "reading CAP") }
        version = device.version
        guard cap.supportsNVMCommandSet else {
            throw ControllerError.unsupported("CAP.CSS does not include the NVM command set (CAP=\(hex(cap.rawValue, uppercase: true)))")
        }
        try DeviceValidation.check(cap, registerSpaceSize: device.registerSpaceSize)
        pageSize = min(max(options.pageSize, cap.minimumPageSize), cap.maximumPageSize)
        let scratch: DMABuffer
        do {
            mapper = try DMAMapper(iommu: device.iommu, numaNode: device.numaNode, addressableBits: options.addressableBits,
                                   pageSize: pageSize, logger: options.logger, pinning: options.pinning)
            scratch = try mapper.allocate(length: 8192, access: .readWrite)
        } catch {
            throw ControllerError.dma(error, during: "setting up DMA for \(device.name)")
        }
        let top = mapper.iovaRanges.map(\.last).max() ?? 0
        iovaBits = 64 - top.leadingZeroBitCount
        epoch = ControllerEpoch()

        // Disable, program the admin queue, enable (NVMe Base 2.0, 3.5.1 "Memory-based Controller Initialization").
        try RegisterWaits.disable(device: device, cap: cap)
        let adminDepth = min(options.adminQueueDepth, cap.maximumQueueEntries, CommandLimits.adminQueueEntries.upperBound)
        // The admin queue's epoch never changes: recovery, holding the admin lock, resets it itself.
        let adminQueue = try QueuePair(id: 0, depth: adminDepth, device: device, epoch: ControllerEpoch(), mapper: mapper,
                                       doorbellStride: Int(cap.dstrd), pageSize: pageSize, maximumCommandBytes: 8192, useSGL: false)
        admin = AdminChannel(queue: adminQueue, device: device, scratch: scratch, timeoutMilliseconds: options.commandTimeoutMilliseconds)
        let reachable = ReachableMemory()
        reachable.objects = [adminQueue, scratch]
        try Self.programAdminQueue(adminQueue, device: device)
        Self.enable(device: device, pageSize: pageSize)
        // From here the controller may write our rings: any failure disables it before the memory goes.
        do throws(ControllerError) {
            try RegisterWaits.waitReady(true, device: device, cap: cap)
            let rawIdentify = try admin.runReturningData(.identify(.controller), name: "Identify Controller")
            identify = rawIdentify.withUnsafeBytes { IdentifyController(bytes: $0) }
            shutdownMilliseconds = DeviceValidation.shutdownMilliseconds(rtd3eMicroseconds: identify.rtd3e,
                                                                         option: options.shutdownTimeoutMilliseconds)

            let ids = try NamespaceDiscovery.activeIDs(admin: admin, version: version, namespaceCount: identify.nn, logger: options.logger)
            var (usable, unusable) = try NamespaceDiscovery.identify(ids, admin: admin)
            let perCommand = try DeviceValidation.maximumCommandBytes(
                mdts: identify.mdts, minimumPageSize: cap.minimumPageSize,
                whenUnlimited: options.maximumCommandBytesWhenUnlimited, blockSize: 512)
            for ns in usable where ns.blockSize > perCommand {
                unusable.append(UnusableNamespace(id: ns.id, reason: DeviceValidation.refuse(
                    "Identify Namespace \(ns.id) block size", ns.blockSize, "exceeds the \(perCommand) bytes one command may carry (MDTS)")))
            }
            usable.removeAll { $0.blockSize > perCommand }
            for problem in unusable { options.logger.error("namespace \(problem.id) skipped: \(problem.reason)") }
            namespaces = usable
            unusableNamespaces = unusable
            guard !usable.isEmpty else {
                throw ControllerError.unsupported("the controller reports no usable active namespace"
                    + (unusable.isEmpty ? "" : " (\(unusable.map { "\($0.id): \($0.reason)" }.joined(separator: "; ")))"))
            }

            switch options.dataPointerMode {
            case .automatic: usesSGL = identify.supportsSGL
            case .prp: usesSGL = false
            case .sgl:
                guard identify.supportsSGL else {
                    throw ControllerError.unsupported("SGLs were asked for but Identify Controller SGLS bits 1:0 are 00b")
                }
                usesSGL = true
            }
            let blockSize = usable.map(\.blockSize).max() ?? 512
            maximumCommandBytes = perCommand / blockSize * blockSize
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
            (queuePairs, shadowDoorbells) = try Self.createIOQueues(
                device: device, cap: cap, options: options, identify: identify, admin: admin, epoch: epoch, mapper: mapper,
                pageSize: pageSize, maximumCommandBytes: maximumCommandBytes, useSGL: usesSGL, reachable: reachable)
        } catch {
            withExtendedLifetime(reachable) {
                do { try RegisterWaits.disable(device: device, cap: cap) } catch {
                    options.logger.error("disabling the controller after a failed bring-up: \(error)")
                }
            }
            throw error
        }
    }

    /// Set Features Number of Queues, Doorbell Buffer Config when offered and wanted, then the I/O
    /// queue pairs: as many as asked, granted and with doorbells inside the register space; depth
    /// at most CAP.MQES + 1.
    private static func createIOQueues(device: any DeviceInterface, cap: ControllerCapabilities, options: ControllerOptions,
                                       identify: IdentifyController, admin: AdminChannel, epoch: ControllerEpoch,
                                       mapper: DMAMapper, pageSize: Int, maximumCommandBytes: Int, useSGL: Bool,
                                       reachable: ReachableMemory) throws(ControllerError) -> ([QueuePair], ShadowDoorbells?) {
        let asked = options.ioQueueCount
        let request = try ControllerError.encoding { () throws(CommandFieldError) in
            try SubmissionQueueEntry.setNumberOfQueues(submissionQueueCount: asked, completionQueueCount: asked)
        }
        let granted = try admin.run(request, name: "Set Features (Number of Queues)")
        let wanted = min(asked, Int(granted.dw0 & 0xFFFF) + 1, Int(granted.dw0 >> 16) + 1)
        let count = try DeviceValidation.queuesWithDoorbells(wanted, cap: cap, registerSpaceSize: device.registerSpaceSize)
        let depth = max(2, min(options.ioQueueDepth, cap.maximumQueueEntries))
        var shadowDoorbells: ShadowDoorbells?
        if options.shadowDoorbells && identify.supportsDoorbellBufferConfig {
            let buffers = try ShadowDoorbells(mapper: mapper, highestQueueID: count, doorbellStride: Int(cap.dstrd), pageSize: pageSize)
            reachable.objects.append(buffers)
            if try configureShadowDoorbells(buffers, admin: admin, logger: options.logger) { shadowDoorbells = buffers }
        }
        let interrupts = options.completionInterrupts ? CompletionInterrupt.arm(queues: count, device: device, logger: options.logger) : nil
        var pairs: [QueuePair] = []
        for id in 1...count {
            let pair = try QueuePair(id: UInt16(id), depth: depth, device: device, epoch: epoch, mapper: mapper,
                                     doorbellStride: Int(cap.dstrd), pageSize: pageSize,
                                     maximumCommandBytes: maximumCommandBytes, useSGL: useSGL)
            reachable.objects.append(pair)
            pair.useShadowDoorbells(shadowDoorbells)
            pair.completionInterrupt = interrupts?[id - 1]
            try createIOQueue(pair, admin: admin)
            pairs.append(pair)
        }
        return (pairs, shadowDoorbells)
    }

    /// Sends Doorbell Buffer Config for `buffers` (at bring-up and after every reset, before any
    /// I/O queue is created) and mirrors the admin queue's doorbells into them. A controller that
    /// fails the command is logged and used with plain doorbells: returns false.
    static func configureShadowDoorbells(_ buffers: ShadowDoorbells, admin: AdminChannel, logger: Logger) throws(ControllerError) -> Bool {
        do {
            try admin.run(buffers.command, name: "Doorbell Buffer Config")
        } catch {
            guard case .adminCommandFailed = error else { throw error }
            logger.warning("shadow doorbells not used; every doorbell is a register write", metadata: ["error": "\(error)"])
            admin.queue.useShadowDoorbells(nil)
            return false
        }
        admin.queue.useShadowDoorbells(buffers)
        return true
    }

    static func programAdminQueue(_ queue: QueuePair, device: any DeviceInterface) throws(ControllerError) {
        let attributes = try ControllerError.encoding { () throws(CommandFieldError) in
            try AdminQueueAttributes(submissionEntryCount: queue.depth, completionEntryCount: queue.depth)
        }
        device.programAdminQueue(attributes, submissionRing: queue.submissionRingIOVA, completionRing: queue.completionRingIOVA)
    }

    static func enable(device: any DeviceInterface, pageSize: Int) {
        var cc = NVMe.ControllerConfiguration()
        cc.css = 0
        cc.mps = UInt8(pageSize.trailingZeroBitCount - 12)
        cc.ams = 0
        cc.iosqes = 6
        cc.iocqes = 4
        cc.en = true
        device.configuration = cc
    }

    /// Creates the completion queue (raising its MSI-X vector when it has one), then the
    /// submission queue bound to it; when the submission queue fails, the completion queue is
    /// deleted again so no half-made pair is left behind.
    static func createIOQueue(_ pair: QueuePair, admin: AdminChannel) throws(ControllerError) {
        let vector = pair.completionInterrupt?.vector
        let createCompletion = try ControllerError.encoding { () throws(CommandFieldError) in
            try SubmissionQueueEntry.createIOCompletionQueue(id: pair.id, entryCount: pair.depth, baseIOVA: pair.completionRingIOVA,
                                                             interruptsEnabled: vector != nil, vector: vector ?? 0)
        }
        let createSubmission = try ControllerError.encoding { () throws(CommandFieldError) in
            try SubmissionQueueEntry.createIOSubmissionQueue(id: pair.id, entryCount: pair.depth, baseIOVA: pair.submissionRingIOVA,
                                                             completionQueueID: pair.id)
        }
        try admin.run(createCompletion, name: "Create I/O Completion Queue \(pair.id)")
        do {
            try admin.run(createSubmission, name: "Create I/O Submission Queue \(pair.id)")
        } catch {
            _ = try? admin.run(.deleteIOCompletionQueue(id: pair.id), name: "Delete I/O Completion Queue \(pair.id)")
            throw error
        }
    }
}
