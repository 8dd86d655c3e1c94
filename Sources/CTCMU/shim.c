// The layout facts of linux/target_core_user.h, answered by the header itself (offsetof, sizeof).
#include <linux/target_core_user.h>
#include "CTCMU.h"

size_t ctcmu_mailbox_size(void) { return sizeof(struct tcmu_mailbox); }
size_t ctcmu_mailbox_version_offset(void) { return offsetof(struct tcmu_mailbox, version); }
size_t ctcmu_mailbox_flags_offset(void) { return offsetof(struct tcmu_mailbox, flags); }
size_t ctcmu_mailbox_cmdr_off_offset(void) { return offsetof(struct tcmu_mailbox, cmdr_off); }
size_t ctcmu_mailbox_cmdr_size_offset(void) { return offsetof(struct tcmu_mailbox, cmdr_size); }
size_t ctcmu_mailbox_cmd_head_offset(void) { return offsetof(struct tcmu_mailbox, cmd_head); }
size_t ctcmu_mailbox_cmd_tail_offset(void) { return offsetof(struct tcmu_mailbox, cmd_tail); }
size_t ctcmu_entry_size(void) { return sizeof(struct tcmu_cmd_entry); }
size_t ctcmu_entry_cmd_id_offset(void) { return offsetof(struct tcmu_cmd_entry, hdr.cmd_id); }
size_t ctcmu_entry_uflags_offset(void) { return offsetof(struct tcmu_cmd_entry, hdr.uflags); }
size_t ctcmu_entry_iov_cnt_offset(void) { return offsetof(struct tcmu_cmd_entry, req.iov_cnt); }
size_t ctcmu_entry_iov_bidi_cnt_offset(void) { return offsetof(struct tcmu_cmd_entry, req.iov_bidi_cnt); }
size_t ctcmu_entry_iov_dif_cnt_offset(void) { return offsetof(struct tcmu_cmd_entry, req.iov_dif_cnt); }
size_t ctcmu_entry_cdb_off_offset(void) { return offsetof(struct tcmu_cmd_entry, req.cdb_off); }
size_t ctcmu_entry_iov_offset(void) { return offsetof(struct tcmu_cmd_entry, req.iov); }
size_t ctcmu_entry_scsi_status_offset(void) { return offsetof(struct tcmu_cmd_entry, rsp.scsi_status); }
size_t ctcmu_entry_read_len_offset(void) { return offsetof(struct tcmu_cmd_entry, rsp.read_len); }
size_t ctcmu_entry_sense_offset(void) { return offsetof(struct tcmu_cmd_entry, rsp.sense_buffer); }
size_t ctcmu_iovec_size(void) { return sizeof(struct iovec); }
uint32_t ctcmu_mailbox_version(void) { return TCMU_MAILBOX_VERSION; }
uint32_t ctcmu_flag_ooo_completion(void) { return TCMU_MAILBOX_FLAG_CAP_OOOC; }
uint32_t ctcmu_flag_read_len(void) { return TCMU_MAILBOX_FLAG_CAP_READ_LEN; }
uint32_t ctcmu_uflag_read_len(void) { return TCMU_UFLAG_READ_LEN; }
uint32_t ctcmu_op_pad(void) { return TCMU_OP_PAD; }
uint32_t ctcmu_op_cmd(void) { return TCMU_OP_CMD; }
uint32_t ctcmu_op_tmr(void) { return TCMU_OP_TMR; }
size_t ctcmu_sense_buffer_size(void) { return TCMU_SENSE_BUFFERSIZE; }
