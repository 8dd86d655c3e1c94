import CVFIO
import HexFormat
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A VFIO container (`/dev/vfio/vfio`): one IOMMU address space shared by the groups attached to it.
///
/// The type1 v2 IOMMU can only be selected once a group is attached, so the container starts
/// unconfigured and `VFIOGroup` configures it on attach; `iovaRanges` is empty until then.
/// Thread-safe: the descriptor is immutable and the little mutable state sits behind a Mutex.
public final class VFIOContainer: IOMMU {
    /// The character device this container was opened from.
    public let path: String
    /// The container's file descriptor; closed in deinit.
    let descriptor: FileDescriptor
    /// Where the VFIO calls go: the kernel, or a fake of it in tests.
    let kernel: any VFIOKernel
    private let configuration = Mutex<Configuration?>(nil)

    /// What the kernel told us once the IOMMU type was set.
    struct Configuration: Sendable {
        var iovaRanges: [IOVARange]
        var pageSizes: UInt64
    }

    /// Opens the container, checks the API version and that type1 v2 is offered.
    public convenience init(path: String = "/dev/vfio/vfio") throws(PCIDeviceError) {
        try self.init(path: path, kernel: LinuxVFIOKernel())
    }

    /// The public initialiser with the VFIO calls chosen, so tests can run it against a fake kernel.
    init(path: String, kernel: any VFIOKernel) throws(PCIDeviceError) {
        self.path = path
        self.kernel = kernel
        descriptor = try VFIOFile.open(path)
        // From here on deinit closes the descriptor if a check below throws.
        let version = kernel.apiVersion(container: descriptor.rawValue)
        guard version >= 0 else { throw .vfioCallFailed(call: "VFIO_GET_API_VERSION on \(path)", errno: errno) }
        guard version == cvfio_api_version() else {
            throw .vfioAPIMismatch(found: version, expected: cvfio_api_version())
        }
        guard kernel.checkExtension(container: descriptor.rawValue, cvfio_type1v2_iommu()) == 1 else {
            throw .vfioType1v2Unsupported
        }
    }

    deinit { kernel.close(descriptor.rawValue) }

    /// Selects type1 v2 and reads the IOMMU info; called by the first group attached. Idempotent.
    func configureIfNeeded() throws(PCIDeviceError) {
        try configuration.withLock { (config: inout Configuration?) throws(PCIDeviceError) in
            guard config == nil else { return }
            guard kernel.setIOMMU(container: descriptor.rawValue, type: cvfio_type1v2_iommu()) == 0 else {
                throw .vfioCallFailed(call: "VFIO_SET_IOMMU(TYPE1v2) on \(path)", errno: errno)
            }
            config = try readInfo()
        }
    }

    /// VFIO_IOMMU_GET_INFO, asked twice when the capability chain does not fit the first buffer.
    private func readInfo() throws(PCIDeviceError) -> Configuration {
        var size = MemoryLayout<vfio_iommu_type1_info>.size
        for _ in 0..<2 {
            var buffer = [UInt8](repeating: 0, count: size)
            let result = buffer.withUnsafeMutableBytes { raw -> Int32 in
                let info = raw.baseAddress!.assumingMemoryBound(to: vfio_iommu_type1_info.self)
                info.pointee.argsz = UInt32(raw.count)
                return kernel.iommuInfo(container: descriptor.rawValue, info)
            }
            guard result == 0 else { throw .vfioCallFailed(call: "VFIO_IOMMU_GET_INFO on \(path)", errno: errno) }
            let needed = Int(IOMMUInfo.load(UInt32.self, from: buffer, at: 0))
            if needed > buffer.count {
                size = needed
                continue
            }
            let pageSizes = IOMMUInfo.load(UInt64.self, from: buffer, at: 8)
            return Configuration(iovaRanges: IOMMUInfo.iovaRanges(fromInfo: buffer), pageSizes: pageSizes)
        }
        throw .vfioCallFailed(call: "VFIO_IOMMU_GET_INFO on \(path) (size kept growing)", errno: EOVERFLOW)
    }

    /// The IOVA windows the IOMMU accepts; empty until a group is attached.
    public var iovaRanges: [IOVARange] {
        configuration.withLock { $0?.iovaRanges ?? [] }
    }

    /// Bitmap of IOMMU page sizes (bit n set: 2^n bytes supported); 0 until a group is attached.
    public var pageSizes: UInt64 {
        configuration.withLock { $0?.pageSizes ?? 0 }
    }

    /// Maps host memory for the device through VFIO_IOMMU_MAP_DMA (which pins it).
    public func map(hostAddress: UnsafeMutableRawPointer, iova: UInt64, length: Int, access: DMAAccess) throws {
        guard length > 0 else {
            throw PCIDeviceError.vfioCallFailed(call: "VFIO_IOMMU_MAP_DMA(iova \(hex(iova)), \(length) bytes)",
                                                errno: EINVAL)
        }
        var request = vfio_iommu_type1_dma_map()
        request.argsz = UInt32(MemoryLayout<vfio_iommu_type1_dma_map>.size)
        request.flags = (access.contains(.deviceReads) ? cvfio_dma_map_flag_read() : 0)
            | (access.contains(.deviceWrites) ? cvfio_dma_map_flag_write() : 0)
        request.vaddr = UInt64(UInt(bitPattern: hostAddress))
        request.iova = iova
        request.size = UInt64(length)
        guard kernel.mapDMA(container: descriptor.rawValue, &request) == 0 else {
            throw PCIDeviceError.vfioCallFailed(
                call: "VFIO_IOMMU_MAP_DMA(iova \(hex(iova)), \(length) bytes)", errno: errno)
        }
    }

    /// Removes a mapping made by `map`.
    public func unmap(iova: UInt64, length: Int) throws {
        guard length > 0 else {
            throw PCIDeviceError.vfioCallFailed(call: "VFIO_IOMMU_UNMAP_DMA(iova \(hex(iova)), \(length) bytes)",
                                                errno: EINVAL)
        }
        var request = vfio_iommu_type1_dma_unmap()
        request.argsz = UInt32(MemoryLayout<vfio_iommu_type1_dma_unmap>.size)
        request.iova = iova
        request.size = UInt64(length)
        guard kernel.unmapDMA(container: descriptor.rawValue, &request) == 0 else {
            throw PCIDeviceError.vfioCallFailed(
                call: "VFIO_IOMMU_UNMAP_DMA(iova \(hex(iova)), \(length) bytes)", errno: errno)
        }
    }
}

/// Opening VFIO character devices with errors that say what to do.
enum VFIOFile {
    static func open(_ path: String) throws(PCIDeviceError) -> FileDescriptor {
        do {
            return try FileDescriptor.open(FilePath(path), .readWrite, options: [.closeOnExec])
        } catch let error as Errno {
            throw failure(for: error, path: path)
        } catch {
            throw .vfioCallFailed(call: "open \(path)", errno: EIO)
        }
    }

    /// The error for a failed open of a VFIO file: missing means VFIO is not set up, EACCES or
    /// EPERM a missing permission on that file.
    static func failure(for error: Errno, path: String) -> PCIDeviceError {
        switch error {
        case .noSuchFileOrDirectory: .vfioUnavailable(path: path)
        case .permissionDenied, .notPermitted: .permissionDenied(path: path)
        default: .vfioCallFailed(call: "open \(path)", errno: error.rawValue)
        }
    }
}
