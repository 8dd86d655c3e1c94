// Thin C shims for what Swift cannot import directly: the function-like ioctl
// macros of <linux/vfio.h>, volatile MMIO access, and CPU fences. No logic lives
// here; every function is a one-line wrapper so the Swift side stays the source of truth.
#ifndef CVFIO_H
#define CVFIO_H

#include <stdint.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>
#include <pci/pci.h>
#include <numa.h>

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

// MARK: - Constants Swift cannot see through macros

static inline unsigned long cvfio_type1v2_iommu(void) { return VFIO_TYPE1v2_IOMMU; }
static inline int cvfio_api_version(void) { return VFIO_API_VERSION; }
static inline unsigned int cvfio_pci_bar0_region_index(void) { return VFIO_PCI_BAR0_REGION_INDEX; }
static inline unsigned int cvfio_pci_config_region_index(void) { return VFIO_PCI_CONFIG_REGION_INDEX; }
static inline unsigned int cvfio_iova_range_capability_id(void) { return VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE; }

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
