/// The TCMU shared map's layout (Linux include/uapi/linux/target_core_user.h, mailbox version 2):
/// a mailbox at offset 0, the command ring at `cmdr_off` for `cmdr_size` bytes, and the data area
/// after it. Every offset here is checked against the C header's `offsetof` by the tests.
public enum RingLayout {
    /// Mailbox version this handler speaks.
    public static let mailboxVersion: UInt16 = 2
    /// sizeof(struct tcmu_mailbox): cmd_tail sits alone on the second 64-byte line.
    public static let mailboxSize = 128
    static let versionOffset = 0
    static let flagsOffset = 2
    static let commandRingOffsetOffset = 4
    static let commandRingSizeOffset = 8
    static let headOffset = 12
    static let tailOffset = 64

    /// sizeof(struct tcmu_cmd_entry): the smallest command entry (the response part must fit).
    public static let entrySize = 112
    /// Entries are multiples of 8 bytes; the low 3 bits of `len_op` carry the opcode.
    public static let entryAlignment = 8
    static let opcodeMask: UInt32 = 0x7
    static let commandIDOffset = 4
    static let userFlagsOffset = 7
    // The request half of the entry's union is a plain struct inside the packed entry: `packed`
    // does not reach it, so cdb_off keeps its 8-byte alignment (24, not 20) and the iovecs start at 48.
    static let iovecCountOffset = 8
    static let bidirectionalIovecCountOffset = 12
    static let integrityIovecCountOffset = 16
    static let cdbOffsetOffset = 24
    static let iovecArrayOffset = 48
    /// sizeof(struct iovec) on a 64-bit kernel: base, then length.
    static let iovecSize = 16
    static let statusOffset = 8
    static let readLengthOffset = 12
    static let senseOffset = 16
    /// TCMU_SENSE_BUFFERSIZE.
    public static let senseCapacity = 96
    /// TCM_MAX_COMMAND_SIZE: LIO accepts no longer CDB.
    public static let maximumCDBLength = 32

    /// Entry opcodes (enum tcmu_opcode).
    enum Opcode: UInt32 {
        case pad = 0, command = 1, taskManagement = 2
    }

    /// Mailbox capability flags (TCMU_MAILBOX_FLAG_CAP_*).
    public struct Capabilities: OptionSet, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// Completions may come in any order: the response goes into the entry at cmd_tail.
        public static let outOfOrderCompletion = Capabilities(rawValue: 1 << 0)
        /// The response's read_len is honoured (a short data-in transfer reports its residual).
        public static let readLength = Capabilities(rawValue: 1 << 1)
    }

    /// TCMU_UFLAG_READ_LEN: read_len is valid.
    static let userFlagReadLength: UInt8 = 0x2
}
