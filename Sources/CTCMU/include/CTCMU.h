#ifndef CTCMU_H
#define CTCMU_H

// The TCMU ring as Linux's uapi header defines it, for Swift: the layout's offsets (the Swift
// parser restates them as constants; the tests check both agree) and the ordered accesses to the
// two mailbox words the kernel and the handler share (cmd_head written by the kernel, cmd_tail by us).

#include <stddef.h>
#include <stdint.h>

/// Loads the 32-bit word at `address` with acquire ordering: entries the kernel wrote before
/// publishing cmd_head are visible after this load.
static inline uint32_t ctcmu_load_acquire(const void *address) {
    return __atomic_load_n((const uint32_t *)address, __ATOMIC_ACQUIRE);
}

/// Stores `value` at `address` with release ordering: responses written before cmd_tail moves
/// are visible to the kernel before the new cmd_tail.
static inline void ctcmu_store_release(void *address, uint32_t value) {
    __atomic_store_n((uint32_t *)address, value, __ATOMIC_RELEASE);
}

// Layout facts from linux/target_core_user.h, for the tests; defined in shim.c, which includes the
// uapi header (kept out of this one: its struct iovec clashes with glibc's in Swift modules).
size_t ctcmu_mailbox_size(void);
size_t ctcmu_mailbox_version_offset(void);
size_t ctcmu_mailbox_flags_offset(void);
size_t ctcmu_mailbox_cmdr_off_offset(void);
size_t ctcmu_mailbox_cmdr_size_offset(void);
size_t ctcmu_mailbox_cmd_head_offset(void);
size_t ctcmu_mailbox_cmd_tail_offset(void);
size_t ctcmu_entry_size(void);
size_t ctcmu_entry_cmd_id_offset(void);
size_t ctcmu_entry_uflags_offset(void);
size_t ctcmu_entry_iov_cnt_offset(void);
size_t ctcmu_entry_iov_bidi_cnt_offset(void);
size_t ctcmu_entry_iov_dif_cnt_offset(void);
size_t ctcmu_entry_cdb_off_offset(void);
size_t ctcmu_entry_iov_offset(void);
size_t ctcmu_entry_scsi_status_offset(void);
size_t ctcmu_entry_read_len_offset(void);
size_t ctcmu_entry_sense_offset(void);
size_t ctcmu_iovec_size(void);
uint32_t ctcmu_mailbox_version(void);
uint32_t ctcmu_flag_ooo_completion(void);
uint32_t ctcmu_flag_read_len(void);
uint32_t ctcmu_uflag_read_len(void);
uint32_t ctcmu_op_pad(void);
uint32_t ctcmu_op_cmd(void);
uint32_t ctcmu_op_tmr(void);
size_t ctcmu_sense_buffer_size(void);

#endif
