/// Whether DMA memory must be locked into RAM (`mlock`).
///
/// Real devices need pinned pages (VFIO pins on map as well, but an unlocked page can still be
/// migrated by the kernel before that); the software IOMMU does not, and pinning a sparse
/// 1 GiB test buffer would fault in every page of it.
public enum DMAPinning: Sendable, Hashable {
    /// `mlock` must succeed, else allocation throws.
    case required
    /// Try `mlock`; on failure log once how to fix it (raise RLIMIT_MEMLOCK or run as root) and go on.
    case bestEffort
    /// Do not lock (tests, the software IOMMU).
    case disabled
}
