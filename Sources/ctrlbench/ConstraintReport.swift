import Foundation
import HexFormat
import SCSIController

/// The nine effective HBA constraint keys of a running controller, each with its value and
/// where the value came from: overridden on the command line, or derived from which controller
/// field. Shared by `info` and `explain`.
struct ConstraintRow: Encodable, Equatable, Sendable {
    /// The DriverKit key name.
    var key: String
    var value: Int
    /// "overridden" or "derived".
    var source: String
    /// How the value was reached, in words.
    var from: String

    /// One row per key, in DriverKit's order.
    static func rows(of controller: NVMeController) -> [ConstraintRow] {
        let c = controller.constraints
        let overridden = controller.options.constraints != nil
        let alignment = "the dword alignment NVMe requires of PRP entries and SGL data blocks (4 bytes)"
        let mdts = controller.identify.mdts
        let perCommand = "the per-command limit, \(controller.maximumCommandBytes) bytes: "
            + (mdts == 0 ? "MDTS 0 (no limit), capped by the driver" : "Identify Controller MDTS \(mdts) -> 2^\(mdts) x CAP.MPSMIN "
                + "\(controller.capabilities.minimumPageSize) bytes") + ", whole blocks"
        let rows: [(HBAConstraintKey, Int, String)] = [
            (.maximumSegmentCountRead, c.maximumSegmentCountRead, "maxTransferSize / kIOMaximumSegmentByteCountReadKey"),
            (.maximumSegmentCountWrite, c.maximumSegmentCountWrite, "maxTransferSize / kIOMaximumSegmentByteCountWriteKey"),
            (.maximumSegmentByteCountRead, c.maximumSegmentByteCountRead, perCommand),
            (.maximumSegmentByteCountWrite, c.maximumSegmentByteCountWrite, perCommand),
            (.minimumSegmentAlignmentByteCount, c.minimumSegmentAlignmentByteCount, alignment),
            (.maximumSegmentAddressableBitCount, c.maximumSegmentAddressableBitCount,
             "the top of the IOVA windows the allocator hands out (\(controller.iovaBits) bits)"),
            (.minimumHBADataAlignmentMask, c.minimumHBADataAlignmentMask, "dword alignment - 1"),
            (.maxTransferSize, c.maxTransferSize, "the largest multiple of the segment byte count within 1 GiB"),
            (.dmaAlignment, c.dmaAlignment, alignment),
        ]
        return rows.map { key, value, derivation in
            overridden
                ? ConstraintRow(key: key.rawValue, value: value, source: "overridden", from: "--\(key.rawValue), checked against the controller")
                : ConstraintRow(key: key.rawValue, value: value, source: "derived", from: derivation)
        }
    }

    /// `key = value  (source: from)`, the mask in hex, keys padded to one column.
    static func lines(_ rows: [ConstraintRow], indent: String = "  ") -> [String] {
        let width = rows.map(\.key.count).max() ?? 0
        return rows.map { row in
            let value = row.key == HBAConstraintKey.minimumHBADataAlignmentMask.rawValue
                ? hex(row.value) : "\(row.value)"
            return indent + row.key.padding(toLength: width, withPad: " ", startingAt: 0) + " = " + value
                + "  (\(row.source): \(row.from))"
        }
    }
}
