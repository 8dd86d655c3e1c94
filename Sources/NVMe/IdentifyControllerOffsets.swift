extension IdentifyController {
    /// Byte offsets of the decoded fields (NVMe Base 2.0, figure "Identify Controller Data
    /// Structure"); each field's width is the width of its property.
    public enum Offset {
        /// VID, PCI Vendor ID: bytes 1:0.
        public static let vid = 0
        /// SSVID, PCI Subsystem Vendor ID: bytes 3:2.
        public static let ssvid = 2
        /// SN, Serial Number: bytes 23:4 (20 ASCII characters).
        public static let sn = 4
        /// MN, Model Number: bytes 63:24 (40 ASCII characters).
        public static let mn = 24
        /// FR, Firmware Revision: bytes 71:64 (8 ASCII characters).
        public static let fr = 64
        /// RAB, Recommended Arbitration Burst: byte 72.
        public static let rab = 72
        /// IEEE OUI Identifier: bytes 75:73.
        public static let ieee = 73
        /// CMIC, Controller Multi-Path I/O and Namespace Sharing Capabilities: byte 76.
        public static let cmic = 76
        /// MDTS, Maximum Data Transfer Size: byte 77.
        public static let mdts = 77
        /// CNTLID, Controller ID: bytes 79:78.
        public static let cntlid = 78
        /// VER, Version: bytes 83:80.
        public static let ver = 80
        /// RTD3R, RTD3 Resume Latency: bytes 87:84.
        public static let rtd3r = 84
        /// RTD3E, RTD3 Entry Latency: bytes 91:88.
        public static let rtd3e = 88
        /// OACS, Optional Admin Command Support: bytes 257:256.
        public static let oacs = 256
        /// ACL, Abort Command Limit: byte 258.
        public static let acl = 258
        /// AERL, Asynchronous Event Request Limit: byte 259.
        public static let aerl = 259
        /// LPA, Log Page Attributes: byte 261.
        public static let lpa = 261
        /// ELPE, Error Log Page Entries: byte 262.
        public static let elpe = 262
        /// NPSS, Number of Power States Support: byte 263.
        public static let npss = 263
        /// SQES, Submission Queue Entry Size: byte 512.
        public static let sqes = 512
        /// CQES, Completion Queue Entry Size: byte 513.
        public static let cqes = 513
        /// MAXCMD, Maximum Outstanding Commands: bytes 515:514.
        public static let maxcmd = 514
        /// NN, Number of Namespaces: bytes 519:516.
        public static let nn = 516
        /// ONCS, Optional NVM Command Support: bytes 521:520.
        public static let oncs = 520
        /// FUSES, Fused Operation Support: bytes 523:522.
        public static let fuses = 522
        /// FNA, Format NVM Attributes: byte 524.
        public static let fna = 524
        /// VWC, Volatile Write Cache: byte 525.
        public static let vwc = 525
        /// AWUN, Atomic Write Unit Normal: bytes 527:526.
        public static let awun = 526
        /// AWUPF, Atomic Write Unit Power Fail: bytes 529:528.
        public static let awupf = 528
        /// ACWU, Atomic Compare & Write Unit: bytes 533:532.
        public static let acwu = 532
        /// SGLS, SGL Support: bytes 539:536.
        public static let sgls = 536
        /// MNAN, Maximum Number of Allowed Namespaces: bytes 543:540.
        public static let mnan = 540
        /// SUBNQN, NVM Subsystem NVMe Qualified Name: bytes 1023:768 (NUL-terminated UTF-8).
        public static let subnqn = 768
        /// PSD0, Power State 0 Descriptor: bytes 2079:2048; descriptor n is at `psd + 32 * n`.
        public static let psd = 2048
    }
}
