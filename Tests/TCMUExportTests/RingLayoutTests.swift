import CTCMU
import Testing
@testable import TCMUExport

/// The parser's layout constants against linux/target_core_user.h itself (offsetof/sizeof through CTCMU).
@Suite struct RingLayoutTests {
    @Test func mailboxMatchesTheUAPIHeader() {
        #expect(RingLayout.mailboxSize == ctcmu_mailbox_size())
        #expect(RingLayout.versionOffset == ctcmu_mailbox_version_offset())
        #expect(RingLayout.flagsOffset == ctcmu_mailbox_flags_offset())
        #expect(RingLayout.commandRingOffsetOffset == ctcmu_mailbox_cmdr_off_offset())
        #expect(RingLayout.commandRingSizeOffset == ctcmu_mailbox_cmdr_size_offset())
        #expect(RingLayout.headOffset == ctcmu_mailbox_cmd_head_offset())
        #expect(RingLayout.tailOffset == ctcmu_mailbox_cmd_tail_offset())
        #expect(UInt32(RingLayout.mailboxVersion) == ctcmu_mailbox_version())
        #expect(UInt32(RingLayout.Capabilities.outOfOrderCompletion.rawValue) == ctcmu_flag_ooo_completion())
        #expect(UInt32(RingLayout.Capabilities.readLength.rawValue) == ctcmu_flag_read_len())
    }

    @Test func commandEntryMatchesTheUAPIHeader() {
        #expect(RingLayout.entrySize == ctcmu_entry_size())
        #expect(RingLayout.commandIDOffset == ctcmu_entry_cmd_id_offset())
        #expect(RingLayout.userFlagsOffset == ctcmu_entry_uflags_offset())
        #expect(RingLayout.iovecCountOffset == ctcmu_entry_iov_cnt_offset())
        #expect(RingLayout.bidirectionalIovecCountOffset == ctcmu_entry_iov_bidi_cnt_offset())
        #expect(RingLayout.integrityIovecCountOffset == ctcmu_entry_iov_dif_cnt_offset())
        #expect(RingLayout.cdbOffsetOffset == ctcmu_entry_cdb_off_offset())
        #expect(RingLayout.iovecArrayOffset == ctcmu_entry_iov_offset())
        #expect(RingLayout.iovecSize == ctcmu_iovec_size())
        #expect(RingLayout.statusOffset == ctcmu_entry_scsi_status_offset())
        #expect(RingLayout.readLengthOffset == ctcmu_entry_read_len_offset())
        #expect(RingLayout.senseOffset == ctcmu_entry_sense_offset())
        #expect(RingLayout.senseCapacity == ctcmu_sense_buffer_size())
        #expect(UInt32(RingLayout.userFlagReadLength) == ctcmu_uflag_read_len())
        #expect(RingLayout.Opcode.pad.rawValue == ctcmu_op_pad())
        #expect(RingLayout.Opcode.command.rawValue == ctcmu_op_cmd())
        #expect(RingLayout.Opcode.taskManagement.rawValue == ctcmu_op_tmr())
    }
}
