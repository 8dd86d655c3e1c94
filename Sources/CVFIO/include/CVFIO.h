// Thin C shims for what Swift cannot import directly: the function-like ioctl
// macros of <linux/vfio.h>, volatile MMIO access, and CPU fences. <numaif.h> is only included
// so Swift sees move_pages (where a page lives) next to libnuma's placement calls. No logic lives
// here; every function is a one-line wrapper so the Swift side stays the source of truth.
#ifndef CVFIO_H
#define CVFIO_H

#include <errno.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdarg.h>
#include <setjmp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <linux/vfio.h>
#include <pci/pci.h>
#include <numa.h>
#include <numaif.h>

// MARK: - VFIO container ioctls

static inline int cvfio_get_api_version(int containerFD) {
    return ioctl(containerFD, VFIO_GET_API_VERSION);
}

static inline int cvfio_check_extension(int containerFD, unsigned long extension) {
    return ioctl(containerFD, VFIO_CHECK_EXTENSION, extension);
}

static inline int cvfio_set_iommu(int containerFD, unsigned long iommuType) {
    return ioctl(containerFD, VFIO_SET_IOMMU, iommuType);
}

/// `info->argsz` must hold the buffer size; the kernel fills the capability chain when it fits.
static inline int cvfio_iommu_get_info(int containerFD, struct vfio_iommu_type1_info *info) {
    return ioctl(containerFD, VFIO_IOMMU_GET_INFO, info);
}

static inline int cvfio_iommu_map_dma(int containerFD, struct vfio_iommu_type1_dma_map *map) {
    return ioctl(containerFD, VFIO_IOMMU_MAP_DMA, map);
}

static inline int cvfio_iommu_unmap_dma(int containerFD, struct vfio_iommu_type1_dma_unmap *unmap) {
    return ioctl(containerFD, VFIO_IOMMU_UNMAP_DMA, unmap);
}

// MARK: - VFIO group ioctls

static inline int cvfio_group_get_status(int groupFD, struct vfio_group_status *status) {
    return ioctl(groupFD, VFIO_GROUP_GET_STATUS, status);
}

static inline int cvfio_group_set_container(int groupFD, int containerFD) {
    return ioctl(groupFD, VFIO_GROUP_SET_CONTAINER, &containerFD);
}

static inline int cvfio_group_get_device_fd(int groupFD, const char *pciAddress) {
    return ioctl(groupFD, VFIO_GROUP_GET_DEVICE_FD, pciAddress);
}

// MARK: - VFIO device ioctls

static inline int cvfio_device_get_info(int deviceFD, struct vfio_device_info *info) {
    return ioctl(deviceFD, VFIO_DEVICE_GET_INFO, info);
}

static inline int cvfio_device_get_region_info(int deviceFD, struct vfio_region_info *info) {
    return ioctl(deviceFD, VFIO_DEVICE_GET_REGION_INFO, info);
}

static inline int cvfio_device_get_irq_info(int deviceFD, struct vfio_irq_info *info) {
    return ioctl(deviceFD, VFIO_DEVICE_GET_IRQ_INFO, info);
}

static inline int cvfio_device_reset(int deviceFD) {
    return ioctl(deviceFD, VFIO_DEVICE_RESET);
}

/// VFIO_DEVICE_SET_IRQS making `eventFD` the trigger of vector 0 of IRQ `index`. The request
/// struct ends in a flexible array (the eventfd), which Swift cannot build, hence the buffer here.
static inline int cvfio_device_set_irq_eventfd(int deviceFD, unsigned int index, int32_t eventFD) {
    uint32_t buffer[(sizeof(struct vfio_irq_set) + sizeof(int32_t) + 3) / 4];
    struct vfio_irq_set *set = (struct vfio_irq_set *)buffer;
    set->argsz = sizeof(struct vfio_irq_set) + sizeof(int32_t);
    set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    set->index = index;
    set->start = 0;
    set->count = 1;
    memcpy(set->data, &eventFD, sizeof(eventFD));
    return ioctl(deviceFD, VFIO_DEVICE_SET_IRQS, set);
}

/// VFIO_DEVICE_SET_IRQS making `eventFDs[i]` the trigger of vector `i` of IRQ `index`, for `count`
/// vectors from 0 (-1: that vector has none), which enables MSI/MSI-X with `count` vectors; with
/// `count` 0 it disables the IRQ index (VFIO_IRQ_SET_DATA_NONE). `count` is at most 2048 (MSI-X).
static inline int cvfio_device_set_irq_eventfds(int deviceFD, unsigned int index, const int32_t *eventFDs,
                                                unsigned int count) {
    if (count > 2048) { errno = EINVAL; return -1; }
    uint32_t buffer[(sizeof(struct vfio_irq_set) + 2048 * sizeof(int32_t) + 3) / 4];
    struct vfio_irq_set *set = (struct vfio_irq_set *)buffer;
    set->argsz = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
    set->flags = (count > 0 ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) | VFIO_IRQ_SET_ACTION_TRIGGER;
    set->index = index;
    set->start = 0;
    set->count = count;
    if (count > 0) memcpy(set->data, eventFDs, count * sizeof(int32_t));
    return ioctl(deviceFD, VFIO_DEVICE_SET_IRQS, set);
}

static inline unsigned int cvfio_device_flags_reset(void) { return VFIO_DEVICE_FLAGS_RESET; }
static inline unsigned int cvfio_group_flags_viable(void) { return VFIO_GROUP_FLAGS_VIABLE; }
static inline unsigned int cvfio_iommu_info_caps(void) { return VFIO_IOMMU_INFO_CAPS; }
static inline unsigned int cvfio_dma_map_flag_read(void) { return VFIO_DMA_MAP_FLAG_READ; }
static inline unsigned int cvfio_dma_map_flag_write(void) { return VFIO_DMA_MAP_FLAG_WRITE; }
static inline unsigned int cvfio_region_info_flag_mmap(void) { return VFIO_REGION_INFO_FLAG_MMAP; }
static inline unsigned int cvfio_pci_msix_irq_index(void) { return VFIO_PCI_MSIX_IRQ_INDEX; }
static inline unsigned int cvfio_pci_req_irq_index(void) { return VFIO_PCI_REQ_IRQ_INDEX; }

// MARK: - Constants Swift cannot see through macros

static inline unsigned long cvfio_type1v2_iommu(void) { return VFIO_TYPE1v2_IOMMU; }
static inline int cvfio_api_version(void) { return VFIO_API_VERSION; }
static inline unsigned int cvfio_pci_bar0_region_index(void) { return VFIO_PCI_BAR0_REGION_INDEX; }
static inline unsigned int cvfio_pci_config_region_index(void) { return VFIO_PCI_CONFIG_REGION_INDEX; }
static inline unsigned int cvfio_iova_range_capability_id(void) { return VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE; }

// MARK: - Eventfds (the Glibc module does not show <sys/eventfd.h>)

/// A blocking, close-on-exec eventfd with a count of zero; -1 with errno on failure.
static inline int cvfio_eventfd(void) { return eventfd(0, EFD_CLOEXEC); }
/// An eventfd whose read returns EAGAIN instead of blocking while its count is 0.
static inline int cvfio_eventfd_nonblocking(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

// MARK: - Replacing a mapping (mremap is variadic, and glibc declares it only under _GNU_SOURCE,
// which the Glibc module is not built with; the flag values are Linux's ABI, <linux/mman.h>)

#ifndef MREMAP_FIXED
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
extern void *mremap(void *oldAddress, size_t oldSize, size_t newSize, int flags, ...);
#endif

/// Moves the mapping at `source` over the one at `target` (both `size` bytes), in one step: a
/// thread touching `target` meanwhile sees either the old pages or the new ones, never a hole.
static inline void *cvfio_mremap_over(void *source, size_t size, void *target) {
    return mremap(source, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
}

// MARK: - MMIO access (volatile, so the compiler neither merges, reorders nor elides it)

static inline uint32_t cvfio_mmio_read32(const void *address) {
    return *(const volatile uint32_t *)address;
}

static inline uint64_t cvfio_mmio_read64(const void *address) {
    return *(const volatile uint64_t *)address;
}

static inline void cvfio_mmio_write32(void *address, uint32_t value) {
    *(volatile uint32_t *)address = value;
}

static inline void cvfio_mmio_write64(void *address, uint64_t value) {
    *(volatile uint64_t *)address = value;
}

// MARK: - libpci error containment
// libpci's default error handler calls exit(); its callers also assume it never returns. These shims
// replace it with one that records the message and longjmps back to a C frame set up right before the
// libpci call, so a broken or fake sysfs tree becomes a Swift error instead of ending the process.
// The state is process-wide: callers must serialise all libpci use (PCIDiscovery holds a Mutex).
// Jumping out may leak a directory or file libpci had open; that only happens on the error path.

static inline char *cvfio_pci_error_text(void) { static char text[512]; return text; }
static inline jmp_buf *cvfio_pci_jump(void) { static jmp_buf jump; return &jump; }
__attribute__((noreturn)) static inline void cvfio_pci_error(char *msg, ...) { va_list ap; va_start(ap, msg); vsnprintf(cvfio_pci_error_text(), 512, msg, ap); va_end(ap); longjmp(*cvfio_pci_jump(), 1); }
static inline void cvfio_pci_quiet(char *msg, ...) { (void)msg; }
/// Installs the handlers on a fresh `pci_access`; warnings are dropped (missing optional files are normal).
static inline void cvfio_pci_install_handlers(struct pci_access *a) { a->error = cvfio_pci_error; a->warning = cvfio_pci_quiet; a->debug = cvfio_pci_quiet; }
/// pci_init + pci_scan_bus; returns -1 (message in cvfio_pci_error_text) if libpci reported an error.
static inline int cvfio_pci_guarded_init_scan(struct pci_access *a) { if (setjmp(*cvfio_pci_jump())) return -1; pci_init(a); pci_scan_bus(a); return 0; }
/// pci_fill_info; returns the known fields, or -1 if libpci reported an error.
static inline int cvfio_pci_guarded_fill_info(struct pci_dev *d, int flags) { if (setjmp(*cvfio_pci_jump())) return -1; return pci_fill_info(d, flags); }
/// pci_get_string_property; returns NULL when the property is absent or libpci reported an error.
static inline char *cvfio_pci_guarded_string_property(struct pci_dev *d, unsigned int prop) { if (setjmp(*cvfio_pci_jump())) return NULL; return pci_get_string_property(d, prop); }

// MARK: - Fences for DMA / MMIO ordering

/// Orders earlier stores (queue entries in DMA memory) before later stores (a doorbell write).
static inline void cvfio_store_fence(void) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("sfence" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("dmb oshst" ::: "memory");
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/// Orders every earlier load and store before every later one.
static inline void cvfio_full_fence(void) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("mfence" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("dmb osh" ::: "memory");
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/// Orders earlier loads (a completion's phase bit) before later loads (the rest of the entry).
static inline void cvfio_load_fence(void) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("dmb oshld" ::: "memory");
#else
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
#endif
}

#endif
