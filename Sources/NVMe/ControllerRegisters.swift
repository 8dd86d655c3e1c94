/// Controller register offsets in BAR0 (NVMe Base 2.0, section 3.1.4).
public enum ControllerRegister {
    /// Controller Capabilities, 64-bit.
    public static let cap = 0x00
    /// Version, 32-bit.
    public static let vs = 0x08
    /// Interrupt Mask Set, 32-bit.
    public static let intms = 0x0C
    /// Interrupt Mask Clear, 32-bit.
    public static let intmc = 0x10
    /// Controller Configuration, 32-bit.
    public static let cc = 0x14
    /// Controller Status, 32-bit.
    public static let csts = 0x1C
    /// NVM Subsystem Reset, 32-bit.
    public static let nssr = 0x20
    /// Admin Queue Attributes, 32-bit.
    public static let aqa = 0x24
    /// Admin Submission Queue Base Address, 64-bit.
    public static let asq = 0x28
    /// Admin Completion Queue Base Address, 64-bit.
    public static let acq = 0x30
    /// First doorbell register.
    public static let doorbellBase = 0x1000

    /// Submission Queue `queueID` Tail Doorbell: 1000h + (2y * (4 << CAP.DSTRD)).
    @inlinable public static func submissionTailDoorbell(queueID: Int, stride dstrd: Int) -> Int {
        doorbellBase + (2 * queueID) * (4 << dstrd)
    }

    /// Completion Queue `queueID` Head Doorbell: 1000h + ((2y + 1) * (4 << CAP.DSTRD)).
    @inlinable public static func completionHeadDoorbell(queueID: Int, stride dstrd: Int) -> Int {
        doorbellBase + (2 * queueID + 1) * (4 << dstrd)
    }
}

/// CAP - Controller Capabilities.
public struct ControllerCapabilities: Sendable, Hashable {
    /// The register as read from BAR0 offset 00h.
    public var rawValue: UInt64
    /// Wraps a CAP value read from the controller (or built by a device model).
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Maximum Queue Entries Supported, 0's based (bits 15:0).
    public var mqes: UInt16 { get { UInt16(bits(rawValue, 0, 16)) } set { rawValue = setting(rawValue, 0, 16, to: UInt64(newValue)) } }
    /// Contiguous Queues Required (bit 16).
    public var cqr: Bool { get { bits(rawValue, 16, 1) == 1 } set { rawValue = setting(rawValue, 16, 1, to: newValue ? 1 : 0) } }
    /// Arbitration Mechanism Supported (bits 18:17).
    public var ams: UInt8 { get { UInt8(bits(rawValue, 17, 2)) } set { rawValue = setting(rawValue, 17, 2, to: UInt64(newValue)) } }
    /// Timeout in 500 ms units (bits 31:24): worst case for CSTS.RDY to change after CC.EN changes.
    public var to: UInt8 { get { UInt8(bits(rawValue, 24, 8)) } set { rawValue = setting(rawValue, 24, 8, to: UInt64(newValue)) } }
    /// Doorbell Stride: doorbells are (4 << DSTRD) bytes apart (bits 35:32).
    public var dstrd: UInt8 { get { UInt8(bits(rawValue, 32, 4)) } set { rawValue = setting(rawValue, 32, 4, to: UInt64(newValue)) } }
    /// NVM Subsystem Reset Supported (bit 36).
    public var nssrs: Bool { get { bits(rawValue, 36, 1) == 1 } set { rawValue = setting(rawValue, 36, 1, to: newValue ? 1 : 0) } }
    /// Command Sets Supported (bits 44:37); bit 0 of the field is the NVM command set.
    public var css: UInt8 { get { UInt8(bits(rawValue, 37, 8)) } set { rawValue = setting(rawValue, 37, 8, to: UInt64(newValue)) } }
    /// Memory Page Size Minimum: 2^(12 + MPSMIN) bytes (bits 51:48).
    public var mpsmin: UInt8 { get { UInt8(bits(rawValue, 48, 4)) } set { rawValue = setting(rawValue, 48, 4, to: UInt64(newValue)) } }
    /// Memory Page Size Maximum: 2^(12 + MPSMAX) bytes (bits 55:52).
    public var mpsmax: UInt8 { get { UInt8(bits(rawValue, 52, 4)) } set { rawValue = setting(rawValue, 52, 4, to: UInt64(newValue)) } }

    /// Timeout in milliseconds.
    public var timeoutMilliseconds: Int { Int(to) * 500 }
    /// Largest queue the controller accepts, in entries.
    public var maximumQueueEntries: Int { Int(mqes) + 1 }
    /// Smallest memory page size in bytes.
    public var minimumPageSize: Int { 1 << (12 + Int(mpsmin)) }
    /// Largest memory page size in bytes.
    public var maximumPageSize: Int { 1 << (12 + Int(mpsmax)) }
    /// Whether the NVM command set is supported (CSS bit 0).
    public var supportsNVMCommandSet: Bool { css & 1 == 1 }
}

/// VS - Version.
public struct ControllerVersion: Sendable, Hashable, CustomStringConvertible {
    /// The register as read from BAR0 offset 08h (or Identify Controller VER).
    public var rawValue: UInt32
    /// Wraps a VS value read from the controller.
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Builds the value a controller of version `major.minor.tertiary` reports.
    public init(major: UInt16, minor: UInt8, tertiary: UInt8 = 0) {
        rawValue = UInt32(major) << 16 | UInt32(minor) << 8 | UInt32(tertiary)
    }
    /// Major version (bits 31:16).
    public var major: UInt16 { UInt16(rawValue >> 16) }
    /// Minor version (bits 15:8).
    public var minor: UInt8 { UInt8(truncatingIfNeeded: rawValue >> 8) }
    /// Tertiary version (bits 7:0).
    public var tertiary: UInt8 { UInt8(truncatingIfNeeded: rawValue) }
    /// `major.minor.tertiary`, as the specification names versions.
    public var description: String { "\(major).\(minor).\(tertiary)" }
}

/// CC - Controller Configuration.
public struct ControllerConfiguration: Sendable, Hashable {
    /// The register as written to (or read from) BAR0 offset 14h.
    public var rawValue: UInt32
    /// Wraps a CC value; the default, 0, is a disabled controller with every field at its reset value.
    public init(rawValue: UInt32 = 0) { self.rawValue = rawValue }

    /// Enable (bit 0).
    public var en: Bool { get { bits(rawValue, 0, 1) == 1 } set { rawValue = setting(rawValue, 0, 1, to: newValue ? 1 : 0) } }
    /// I/O Command Set Selected (bits 6:4); 000b is the NVM command set.
    public var css: UInt8 { get { UInt8(bits(rawValue, 4, 3)) } set { rawValue = setting(rawValue, 4, 3, to: UInt32(newValue)) } }
    /// Memory Page Size: 2^(12 + MPS) bytes (bits 10:7).
    public var mps: UInt8 { get { UInt8(bits(rawValue, 7, 4)) } set { rawValue = setting(rawValue, 7, 4, to: UInt32(newValue)) } }
    /// Arbitration Mechanism Selected (bits 13:11).
    public var ams: UInt8 { get { UInt8(bits(rawValue, 11, 3)) } set { rawValue = setting(rawValue, 11, 3, to: UInt32(newValue)) } }
    /// Shutdown Notification (bits 15:14).
    public var shn: ShutdownNotification {
        get { ShutdownNotification(rawValue: UInt8(bits(rawValue, 14, 2))) ?? .none }
        set { rawValue = setting(rawValue, 14, 2, to: UInt32(newValue.rawValue)) }
    }
    /// I/O Submission Queue Entry Size: 2^n bytes (bits 19:16); 6 for 64-byte entries.
    public var iosqes: UInt8 { get { UInt8(bits(rawValue, 16, 4)) } set { rawValue = setting(rawValue, 16, 4, to: UInt32(newValue)) } }
    /// I/O Completion Queue Entry Size: 2^n bytes (bits 23:20); 4 for 16-byte entries.
    public var iocqes: UInt8 { get { UInt8(bits(rawValue, 20, 4)) } set { rawValue = setting(rawValue, 20, 4, to: UInt32(newValue)) } }

    /// CC.SHN values.
    public enum ShutdownNotification: UInt8, Sendable {
        /// 00b: no notification.
        case none = 0b00
        /// 01b: normal shutdown (flush, then stop).
        case normal = 0b01
        /// 10b: abrupt shutdown (stop as soon as possible).
        case abrupt = 0b10
    }
}

/// CSTS - Controller Status.
public struct ControllerStatus: Sendable, Hashable {
    /// The register as read from BAR0 offset 1Ch.
    public var rawValue: UInt32
    /// Wraps a CSTS value read from the controller; the default, 0, is not ready and not failed.
    public init(rawValue: UInt32 = 0) { self.rawValue = rawValue }

    /// Ready (bit 0).
    public var rdy: Bool { get { bits(rawValue, 0, 1) == 1 } set { rawValue = setting(rawValue, 0, 1, to: newValue ? 1 : 0) } }
    /// Controller Fatal Status (bit 1).
    public var cfs: Bool { get { bits(rawValue, 1, 1) == 1 } set { rawValue = setting(rawValue, 1, 1, to: newValue ? 1 : 0) } }
    /// Shutdown Status (bits 3:2).
    public var shst: ShutdownStatus {
        get { ShutdownStatus(rawValue: UInt8(bits(rawValue, 2, 2))) ?? .normal }
        set { rawValue = setting(rawValue, 2, 2, to: UInt32(newValue.rawValue)) }
    }
    /// NVM Subsystem Reset Occurred (bit 4).
    public var nssro: Bool { get { bits(rawValue, 4, 1) == 1 } set { rawValue = setting(rawValue, 4, 1, to: newValue ? 1 : 0) } }
    /// Processing Paused (bit 5).
    public var pp: Bool { get { bits(rawValue, 5, 1) == 1 } set { rawValue = setting(rawValue, 5, 1, to: newValue ? 1 : 0) } }

    /// A read of all ones: the device no longer answers (surprise removal, link down).
    public var isAllOnes: Bool { rawValue == 0xFFFF_FFFF }

    /// CSTS.SHST values.
    public enum ShutdownStatus: UInt8, Sendable {
        /// 00b: normal operation, no shutdown requested.
        case normal = 0b00
        /// 01b: shutdown processing is under way.
        case occurring = 0b01
        /// 10b: shutdown processing is complete.
        case complete = 0b10
    }
}

/// AQA - Admin Queue Attributes. Sizes are 0's based in the register; these accessors take entry counts.
public struct AdminQueueAttributes: Sendable, Hashable {
    /// The register as written to (or read from) BAR0 offset 24h.
    public var rawValue: UInt32
    /// Wraps an AQA value read from the register.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The register for admin queues of the given sizes in entries.
    /// - Throws: `CommandFieldError` when a count is outside `CommandLimits.adminQueueEntries` (2...4096).
    public init(submissionEntryCount: Int, completionEntryCount: Int) throws(CommandFieldError) {
        let submission = try CommandLimits.check(submissionEntryCount, in: CommandLimits.adminQueueEntries,
                                                 field: "AQA.ASQS (admin submission queue entries)")
        let completion = try CommandLimits.check(completionEntryCount, in: CommandLimits.adminQueueEntries,
                                                 field: "AQA.ACQS (admin completion queue entries)")
        // Both sizes now lie in `CommandLimits.adminQueueEntries`, so each 0's based value fits 12 bits.
        rawValue = UInt32(submission - 1) & 0xFFF | (UInt32(completion - 1) & 0xFFF) << 16
    }

    /// Admin Submission Queue Size, 0's based (bits 11:0).
    public var asqs: UInt16 { UInt16(bits(rawValue, 0, 12)) }
    /// Admin Completion Queue Size, 0's based (bits 27:16).
    public var acqs: UInt16 { UInt16(bits(rawValue, 16, 12)) }
}
