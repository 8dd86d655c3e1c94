/// Why DMA memory could not be set up; each names the request and, for system calls, errno.
/// Everything `DMAMapper` throws is one of these, so a caller can tell the cases apart.
public enum DMAMapperError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The requested length must be positive.
    case invalidLength(Int)
    /// The requested length rounded up to whole pages would not fit an `Int`: `maximum` is the
    /// largest length that does.
    case lengthTooLarge(Int, maximum: Int)
    /// The page size must be a power of two of at least 4096.
    case invalidPageSize(Int)
    /// `mmap` refused the memory.
    case memoryUnavailable(length: Int, errno: Int32)
    /// `mlock` failed while pinning was required.
    case pinningFailed(length: Int, errno: Int32)
    /// The IOVA allocator refused: no usable range below the address width, or no free block
    /// left for the request.
    case iova(IOVAAllocatorError)
    /// The IOMMU refused to map the buffer; its own message (VFIO's call and errno, or the
    /// software IOMMU's rule), which names the IOVA and the length.
    case mappingFailed(String)

    /// The request, the rule it breaks or the call that failed, and the fix where there is one.
    public var description: String {
        switch self {
        case .invalidLength(let length):
            return "DMA buffer length \(length) breaks the rule: it must be positive"
        case .lengthTooLarge(let length, let maximum):
            return "DMA buffer length \(length) breaks the rule: rounded up to whole pages it must fit in "
                + "\(maximum) bytes"
        case .invalidPageSize(let size):
            return "page size \(size) breaks the rule: it must be a power of two of at least 4096"
        case .memoryUnavailable(let length, let code):
            return "cannot map \(length) bytes of DMA memory: mmap failed: \(errorText(code))"
        case .pinningFailed(let length, let code):
            return "cannot pin \(length) bytes of DMA memory: mlock failed: \(errorText(code)); "
                + "raise RLIMIT_MEMLOCK (ulimit -l) or run as root"
        case .iova(let error):
            return error.description
        case .mappingFailed(let message):
            return message
        }
    }
}
