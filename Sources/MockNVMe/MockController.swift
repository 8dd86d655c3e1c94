import DMAMapper
import Logging
import NVMe
import PCIDevice
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A software NVMe controller (NVMe Base 2.0, NVM Command Set 1.0) behind `DeviceInterface`:
/// the device every test and CI run drives instead of hardware.
///
/// The host programs it exactly as a PCIe controller: registers in BAR0, queues and data in
/// memory mapped through `softwareIOMMU` (make a `DMAMapper` over `iommu`). Register writes may
/// come from several queue-pair threads: each I/O queue pair's doorbells on the inline null
/// device take that pair's lock alone, everything else the controller's (see `MockCore`).
/// In `.inline` mode a doorbell write runs the new commands before it returns; in `.threaded`
/// mode a device thread does, after the configured latency.
public final class MockController: DeviceInterface {
    /// The configuration the controller was made with.
    public let configuration: MockConfiguration
    /// The IOMMU the controller reaches host memory through; faults it refused are in `dmaFaults`.
    public let softwareIOMMU: SoftwareIOMMU
    private let core: MockCore
    private let engine: ThreadedEngine?
    /// The token of the IOMMU's barrier that waits for this controller's transfers in progress.
    private let unmapBarrier: Int
    /// The registers up to the doorbells of the last queue, rounded up to 16 KiB, as a BAR is sized.
    public let registerSpaceSize: Int
    /// Doorbell stride in bytes (4 << CAP.DSTRD) and whether commands run inline: what
    /// `fastPathQueue` needs, kept outside the locks (both are fixed at creation).
    private let strideBytes: Int
    private let inlineMode: Bool

    /// Makes a controller in the power-on state (CC.EN = 0).
    ///
    /// A configuration that `MockConfiguration.validate()` refuses, or a namespace's
    /// `backingFile` that cannot be opened, created or sized, stops the program with the error's
    /// text; use `open(configuration:iommu:)` to get either error thrown instead (a tool taking
    /// its geometry from a user should).
    /// - Parameter iommu: the IOMMU to use; a fresh `SoftwareIOMMU` over the whole 64-bit space by default.
    public convenience init(configuration: MockConfiguration = MockConfiguration(), iommu: SoftwareIOMMU = SoftwareIOMMU()) {
        let files: [BackingFile?]
        do {
            try configuration.validate()
            files = try Self.openBackingFiles(configuration)
        } catch {
            preconditionFailure("MockController: \(error) (use MockController.open to handle it)")
        }
        self.init(configuration: configuration, iommu: iommu, backingFiles: files)
    }

    /// Makes a controller in the power-on state (CC.EN = 0) after validating the configuration,
    /// first opening (creating if missing) the `backingFile` of each namespace that has one.
    /// - Throws: `MockConfigurationError` naming the field, its value and the rule it breaks;
    ///   `MockStorageError` naming the namespace, the path and the system's reason when a file
    ///   cannot be opened, created or sized (a missing directory, no permission, a file larger
    ///   than the namespace, a size the file system does not allow).
    public static func open(configuration: MockConfiguration = MockConfiguration(),
                            iommu: SoftwareIOMMU = SoftwareIOMMU()) throws -> MockController {
        try configuration.validate()
        let files = try openBackingFiles(configuration)
        return MockController(configuration: configuration, iommu: iommu, backingFiles: files)
    }

    private static func openBackingFiles(_ configuration: MockConfiguration) throws(MockStorageError) -> [BackingFile?] {
        var files: [BackingFile?] = []
        for (index, namespace) in configuration.namespaces.enumerated() {
            guard let path = namespace.backingFile else {
                files.append(nil)
                continue
            }
            files.append(try BackingFile.open(namespace, path: path, namespaceID: UInt32(index + 1), logger: configuration.logger))
        }
        return files
    }

    /// `configuration` has passed `validate()`.
    private init(configuration: MockConfiguration, iommu: SoftwareIOMMU, backingFiles: sending [BackingFile?]) {
        self.configuration = configuration
        self.softwareIOMMU = iommu
        let doorbells = 2 * (configuration.ioQueueCount + 1) * (4 << Int(configuration.doorbellStride))
        registerSpaceSize = (ControllerRegister.doorbellBase + doorbells + 0x3FFF) & ~0x3FFF
        strideBytes = 4 << Int(configuration.doorbellStride)
        if case .inline = configuration.executionMode { inlineMode = true } else { inlineMode = false }
        let core = MockCore(ControllerState(configuration: configuration, iommu: iommu, backingFiles: backingFiles))
        self.core = core
        // The host may unmap and free a buffer while the device thread or another queue's
        // doorbell is transferring into it: the unmap waits for that transfer (no write lands
        // in memory already given back), and later ones fault at the IOMMU.
        unmapBarrier = iommu.addUnmapBarrier { [weak core] in core?.waitForTransfersInProgress() }
        if case .threaded(_, let outOfOrder) = configuration.executionMode {
            let engine = ThreadedEngine(core: core, outOfOrder: outOfOrder)
            self.engine = engine
            engine.start()
        } else {
            engine = nil
        }
    }

    deinit {
        engine?.stop()
        softwareIOMMU.removeUnmapBarrier(unmapBarrier)
        for fd in core.withController({ $0.interruptTriggers }) where fd >= 0 { close(fd) }
    }

    /// Runs `body` on the controller path (for the extensions in other files).
    func withControllerState<Result>(_ body: (inout ControllerState) -> Result) -> Result { core.withController(body) }

    // MARK: DeviceInterface

    /// `MockConfiguration.name`.
    public var name: String { configuration.name }
    /// Always nil: the mock's memory is the process's, on no particular node.
    public var numaNode: Int? { nil }
    /// `softwareIOMMU`, as the protocol's existential.
    public var iommu: any IOMMU { softwareIOMMU }

    /// Whether `bytes` at `offset` lie inside BAR0: what lies outside reads all ones and takes no
    /// writes, as `DeviceInterface` requires (a PCIe read nobody claims completes as all ones).
    @inline(__always) private func inBAR(_ offset: Int, _ bytes: Int) -> Bool {
        offset >= 0 && offset <= registerSpaceSize - bytes
    }

    /// Reads a BAR0 register under the controller lock: all ones once the device is removed or
    /// beyond BAR0, zero for reserved registers and doorbells.
    public func readRegister32(at offset: Int) -> UInt32 {
        guard inBAR(offset, 4) else { return .max }
        return core.withController { $0.read32(offset) }
    }

    /// Reads a 64-bit register (CAP, ASQ, ACQ) as two 32-bit reads, low dword first, in one
    /// critical section.
    public func readRegister64(at offset: Int) -> UInt64 {
        guard inBAR(offset, 8) else { return .max }
        return core.withController { $0.read64(offset) }
    }

    /// Writes a BAR0 register; a doorbell write runs the new commands before returning (inline
    /// mode) or wakes the device thread (threaded mode). An I/O queue pair's doorbell goes to its
    /// fast path first, under its own lock; what that declines or hands on takes the controller lock.
    public func writeRegister32(_ value: UInt32, at offset: Int) {
        guard inBAR(offset, 4) else { return }
        if let qid = fastPathQueue(offset) {
            switch core.fastPathDoorbell(value, offset: offset, qid: qid) {
            case .handled: return
            case .declined: break
            case .continueOnController:
                core.withController { state in
                    state.epoch &+= 1
                    state.processSubmissions(qid)
                }
                return
            case .fatal(let fault):
                core.withController { $0.fastPathFailed(qid, fault) }
                return
            }
        }
        let wake = core.withController { state in
            state.epoch &+= 1
            state.write32(value, offset)
            return state.engineWork || state.engineStopRequested
        }
        if wake { engine?.signal() }
    }

    /// The I/O queue pair whose doorbell `offset` is, when its fast path may take it: inline
    /// mode, a doorbell of an I/O queue the controller has (the fast path checks the rest).
    @inline(__always) private func fastPathQueue(_ offset: Int) -> Int? {
        guard inlineMode, offset >= ControllerRegister.doorbellBase else { return nil }
        let relative = offset - ControllerRegister.doorbellBase
        guard relative & (strideBytes - 1) == 0 else { return nil }
        let qid = relative / strideBytes / 2
        return qid >= 1 && qid <= configuration.ioQueueCount ? qid : nil
    }

    /// Writes a 64-bit register (ASQ, ACQ) as two 32-bit writes, low dword first, in one
    /// critical section; wakes the device thread if that created work.
    public func writeRegister64(_ value: UInt64, at offset: Int) {
        guard inBAR(offset, 8) else { return }
        let wake = core.withController { state in
            state.epoch &+= 1
            state.write64(value, offset)
            return state.engineWork || state.engineStopRequested
        }
        if wake { engine?.signal() }
    }

    /// A controller reset: the effects of CC.EN 1 -> 0 (queues deleted, outstanding commands
    /// dropped, CSTS.RDY and CFS cleared) with CC cleared; AQA, ASQ and ACQ keep their values.
    public func reset() throws {
        core.withController { state in
            guard !state.removed else { return }
            state.controllerReset()
            state.cc = ControllerConfiguration()
            state.csts = ControllerStatus()
        }
    }

    // MARK: Test controls

    /// Every DMA access the IOMMU refused since creation or `clearDMAFaults()`.
    public var dmaFaults: [DMAFault] { softwareIOMMU.faults }

    /// Forgets the recorded DMA faults.
    public func clearDMAFaults() { softwareIOMMU.clearFaults() }

    /// Arms a fault (see `InjectedFault`). Per-command faults apply to commands fetched from now
    /// on; `.controllerFatal` and `.surpriseRemoval` take effect at once.
    public func inject(_ fault: InjectedFault) {
        core.withController { $0.arm(fault) }
    }

    /// Disarms every per-command fault (held commands stay held).
    public func removeInjectedFaults() {
        core.withController { $0.faultRules.removeAll() }
    }

    /// Ends a surprise removal: the device answers again, in the state after a power cycle.
    /// A device pulled from the bus lost power: what its write cache held is gone and the
    /// SMART log counts an unsafe shutdown (unless it had been shut down first), as `powerCut()`.
    public func reinsert() {
        core.withController { state in
            guard state.removed else { return }
            state.losePower(survivingFraction: 0, seed: 0)
        }
    }

    /// Loses power: what the volatile write cache holds is thrown away, except a seeded random
    /// `survivingFraction` of its blocks (a torn cache), and the controller is left as at power
    /// on (every register reset, no queues, no outstanding commands). Flushed, FUA-written and
    /// shut-down data always survives (shut-down data only while `shutdownPersistsWriteCache`);
    /// with no cache or the cache disabled every write does.
    public func powerCut(survivingFraction: Double = 0, seed: UInt64 = 0) {
        precondition((0...1).contains(survivingFraction), "powerCut: survivingFraction must be in 0...1")
        core.withController { $0.losePower(survivingFraction: survivingFraction, seed: seed) }
    }

    /// Every data or queue pointer the controller refused for breaking a PRP or SGL rule, oldest
    /// first (the newest 4096), since creation or `clearDataPointerFaults()`. Addresses the IOMMU
    /// refused are in `dmaFaults`.
    public var dataPointerFaults: [DataPointerFault] { core.withController { $0.dataPointerFaults } }

    /// Forgets the recorded data pointer faults.
    public func clearDataPointerFaults() { core.withController { $0.dataPointerFaults.removeAll() } }

    /// A snapshot of the counters and cache state, for assertions.
    public var statistics: MockStatistics {
        core.withController { state in
            MockStatistics(
                hostReadCommands: state.hostIO.readCommands,
                hostWriteCommands: state.hostIO.writeCommands,
                dataUnitsRead512: state.hostIO.unitsRead,
                dataUnitsWritten512: state.hostIO.unitsWritten,
                dirtyCachedBlocks: state.namespaces.reduce(0) { $0 + $1.dirtyBlockCount },
                storedChunks: state.namespaces.reduce(0) { $0 + $1.storedChunkCount },
                heldCommands: state.held.count,
                outstandingAsyncEventRequests: state.asyncEventRequests.count,
                errorCount: state.errorLog.errorCount,
                mmioDoorbellWrites: state.mmioDoorbellWritesTotal,
                submissionTailDoorbellWrites: state.queueCounters.map { $0!.submissionTailWrites },
                completionHeadDoorbellWrites: state.queueCounters.map { $0!.completionHeadWrites })
        }
    }

    /// MMIO doorbell writes received since creation, all queues (`MockStatistics.mmioDoorbellWrites`
    /// without the rest of the snapshot: no allocation, for per-run figures).
    public var mmioDoorbellWrites: UInt64 { core.withController { $0.mmioDoorbellWritesTotal } }

    /// Reads `count` blocks at `lba` of namespace `nsid` as the media holds them now (cache
    /// first), without going through a queue: for tests that check what was stored. A backing
    /// file that cannot be read stops the program (its reason is logged).
    public func mediaContents(nsid: UInt32, lba: UInt64, count: Int) -> [UInt8] {
        core.withController { state in
            let storage = state.namespaces[Int(nsid) - 1]
            var out = [UInt8](repeating: 0, count: count * storage.blockSize)
            out.withUnsafeMutableBytes { bytes in
                for block in 0..<count {
                    let stored: UnsafeRawPointer?
                    do throws(CommandFailure) {
                        stored = try storage.block(lba + UInt64(block))
                    } catch {
                        preconditionFailure("mediaContents: namespace \(nsid) block \(lba + UInt64(block)) unreadable")
                    }
                    if let source = stored {
                        (bytes.baseAddress! + block * storage.blockSize).copyMemory(from: source, byteCount: storage.blockSize)
                    }
                }
            }
            return out
        }
    }
}
