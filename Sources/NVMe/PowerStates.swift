/// A Power State Descriptor (NVMe Base 2.0, figure "Identify - Power State Descriptor Data
/// Structure"): 32 bytes, one per power state, at Identify Controller byte 2048 + 32 x n.
public struct PowerStateDescriptor: Sendable, Hashable {
    /// Byte offsets inside one descriptor.
    public enum Offset {
        /// MP (bytes 1:0), the MXPS/NOPS flags (byte 3), ENLAT (7:4), EXLAT (11:8), and RRT, RRL,
        /// RWT, RWL (bytes 12-15, bits 4:0 of each).
        public static let mp = 0, flags = 3, enlat = 4, exlat = 8, rrt = 12, rrl = 13, rwt = 14, rwl = 15
        /// IDLP (bytes 17:16), IPS (byte 18 bits 7:6), ACTP (21:20), and APW with APS (byte 22).
        public static let idlp = 16, ips = 18, actp = 20, apw = 22
    }
    /// Bytes per descriptor; PSD0...PSD31 follow one another from Identify Controller byte 2048.
    public static let size = 32

    /// Maximum Power (MP): the most the controller draws in this state, in units of 0.01 W
    /// (MXPS = 0) or 0.0001 W (MXPS = 1).
    public var maximumPower: UInt16 = 0
    /// Max Power Scale (MXPS, byte 3 bit 0): MP is in 0.0001 W units.
    public var maximumPowerScale: Bool = false
    /// Non-Operational State (NOPS, byte 3 bit 1): no I/O is processed in this state.
    public var nonOperational: Bool = false
    /// Entry Latency (ENLAT) in microseconds; 0 means not reported.
    public var entryLatency: UInt32 = 0
    /// Exit Latency (EXLAT) in microseconds; 0 means not reported.
    public var exitLatency: UInt32 = 0
    /// Relative Read Throughput (RRT, 0 = best) among the power states.
    public var relativeReadThroughput: UInt8 = 0
    /// Relative Read Latency (RRL, 0 = best).
    public var relativeReadLatency: UInt8 = 0
    /// Relative Write Throughput (RWT, 0 = best).
    public var relativeWriteThroughput: UInt8 = 0
    /// Relative Write Latency (RWL, 0 = best).
    public var relativeWriteLatency: UInt8 = 0
    /// Idle Power (IDLP), scaled by `idlePowerScale`.
    public var idlePower: UInt16 = 0
    /// Idle Power Scale (IPS, byte 18 bits 7:6): 00b not reported, 01b 0.0001 W, 10b 0.01 W.
    public var idlePowerScale: UInt8 = 0
    /// Active Power (ACTP), scaled by `activePowerScale`.
    public var activePower: UInt16 = 0
    /// Active Power Workload (APW, byte 22 bits 2:0).
    public var activePowerWorkload: UInt8 = 0
    /// Active Power Scale (APS, byte 22 bits 7:6): as IPS.
    public var activePowerScale: UInt8 = 0

    /// A descriptor with every field zero: operational, power and latencies not reported.
    public init() {}

    /// An operational or non-operational state drawing at most `centiwatts` x 0.01 W.
    public init(maximumPowerCentiwatts centiwatts: UInt16, nonOperational: Bool = false,
                entryLatency: UInt32 = 0, exitLatency: UInt32 = 0, relativePerformance: UInt8 = 0) {
        maximumPower = centiwatts
        self.nonOperational = nonOperational
        self.entryLatency = entryLatency
        self.exitLatency = exitLatency
        relativeReadThroughput = relativePerformance
        relativeReadLatency = relativePerformance
        relativeWriteThroughput = relativePerformance
        relativeWriteLatency = relativePerformance
    }

    /// Decodes one descriptor from the 32 bytes at `base`.
    public init(bytes: UnsafeRawBufferPointer, at base: Int) {
        maximumPower = bytes.le(UInt16.self, at: base + Offset.mp)
        let flags = bytes[base + Offset.flags]
        maximumPowerScale = flags & 0b01 != 0
        nonOperational = flags & 0b10 != 0
        entryLatency = bytes.le(UInt32.self, at: base + Offset.enlat)
        exitLatency = bytes.le(UInt32.self, at: base + Offset.exlat)
        relativeReadThroughput = bytes[base + Offset.rrt] & 0x1F
        relativeReadLatency = bytes[base + Offset.rrl] & 0x1F
        relativeWriteThroughput = bytes[base + Offset.rwt] & 0x1F
        relativeWriteLatency = bytes[base + Offset.rwl] & 0x1F
        idlePower = bytes.le(UInt16.self, at: base + Offset.idlp)
        idlePowerScale = bytes[base + Offset.ips] >> 6
        activePower = bytes.le(UInt16.self, at: base + Offset.actp)
        activePowerWorkload = bytes[base + Offset.apw] & 0b111
        activePowerScale = bytes[base + Offset.apw] >> 6
    }

    /// Writes the descriptor at `base` (the caller has zeroed the reserved bytes).
    public func encode(into bytes: UnsafeMutableRawBufferPointer, at base: Int) {
        bytes.storeLE(maximumPower, at: base + Offset.mp)
        bytes[base + Offset.flags] = (maximumPowerScale ? 0b01 : 0) | (nonOperational ? 0b10 : 0)
        bytes.storeLE(entryLatency, at: base + Offset.enlat)
        bytes.storeLE(exitLatency, at: base + Offset.exlat)
        bytes[base + Offset.rrt] = relativeReadThroughput & 0x1F
        bytes[base + Offset.rrl] = relativeReadLatency & 0x1F
        bytes[base + Offset.rwt] = relativeWriteThroughput & 0x1F
        bytes[base + Offset.rwl] = relativeWriteLatency & 0x1F
        bytes.storeLE(idlePower, at: base + Offset.idlp)
        bytes[base + Offset.ips] = (idlePowerScale & 0b11) << 6
        bytes.storeLE(activePower, at: base + Offset.actp)
        bytes[base + Offset.apw] = activePowerWorkload & 0b111 | (activePowerScale & 0b11) << 6
    }
}

/// Power Management feature (Feature Identifier 02h) Dword 11 / completion Dword 0 fields.
public enum PowerManagementField {
    /// Power State (PS), bits 4:0.
    public static let powerStateMask: UInt32 = 0x1F
    /// Workload Hint (WH), bits 7:5.
    public static let workloadHintShift = 5
}
