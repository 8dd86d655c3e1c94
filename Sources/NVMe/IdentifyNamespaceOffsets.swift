extension IdentifyNamespace {
    /// Byte offsets of the fields (NVM Command Set 1.0, figure "Identify Namespace Data
    /// Structure, NVM Command Set"); each decoded field's width is the width of its property.
    public enum Offset {
        /// NSZE, Namespace Size: bytes 7:0.
        public static let nsze = 0
        /// NCAP, Namespace Capacity: bytes 15:8.
        public static let ncap = 8
        /// NUSE, Namespace Utilization: bytes 23:16.
        public static let nuse = 16
        /// NSFEAT, Namespace Features: byte 24.
        public static let nsfeat = 24
        /// NLBAF, Number of LBA Formats: byte 25.
        public static let nlbaf = 25
        /// FLBAS, Formatted LBA Size: byte 26.
        public static let flbas = 26
        /// MC, Metadata Capabilities: byte 27.
        public static let mc = 27
        /// DPC, End-to-end Data Protection Capabilities: byte 28.
        public static let dpc = 28
        /// DPS, End-to-end Data Protection Type Settings: byte 29.
        public static let dps = 29
        /// NMIC, Namespace Multi-path I/O and Namespace Sharing Capabilities: byte 30.
        public static let nmic = 30
        /// DLFEAT, Deallocate Logical Block Features: byte 33.
        public static let dlfeat = 33
        /// NAWUN, Namespace Atomic Write Unit Normal: bytes 35:34.
        public static let nawun = 34
        /// NAWUPF, Namespace Atomic Write Unit Power Fail: bytes 37:36.
        public static let nawupf = 36
        /// NACWU, Namespace Atomic Compare & Write Unit: bytes 39:38.
        public static let nacwu = 38
        /// NOIOB, Namespace Optimal I/O Boundary: bytes 47:46.
        public static let noiob = 46
        /// NVMCAP, NVM Capacity in bytes: bytes 63:48 (128 bits; not decoded).
        public static let nvmcap = 48
        /// NPWG, Namespace Preferred Write Granularity: bytes 65:64.
        public static let npwg = 64
        /// NPWA, Namespace Preferred Write Alignment: bytes 67:66 (not decoded).
        public static let npwa = 66
        /// NPDG, Namespace Preferred Deallocate Granularity: bytes 69:68.
        public static let npdg = 68
        /// NPDA, Namespace Preferred Deallocate Alignment: bytes 71:70 (not decoded).
        public static let npda = 70
        /// NOWS, Namespace Optimal Write Size: bytes 73:72.
        public static let nows = 72
        /// NGUID, Namespace Globally Unique Identifier: bytes 119:104.
        public static let nguid = 104
        /// EUI64, IEEE Extended Unique Identifier: bytes 127:120.
        public static let eui64 = 120
        /// LBAF0, the first of 64 four-byte LBA Format descriptors: bytes 131:128.
        public static let lbaf = 128
    }
}
