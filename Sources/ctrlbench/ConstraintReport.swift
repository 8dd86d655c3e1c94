import Foundation
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
        let overridden = controller.options.constraints != nil
        return HBAConstraintKey.allCases.map { key in
            ConstraintRow(key: key.rawValue, value: controller.constraints[key], source: overridden ? "overridden" : "derived",
                          from: overridden ? "--\(key.rawValue), checked against the controller" : key.presentation.derivation(controller))
        }
    }

    /// `key = value  (source: from)`, the mask in hex, keys padded to one column.
    static func lines(_ rows: [ConstraintRow], indent: String = "  ") -> [String] {
        alignedRows(rows.map { row in
            let value = HBAConstraintKey(rawValue: row.key)?.text(row.value) ?? "\(row.value)"
            return [row.key, "= \(value)  (\(row.source): \(row.from))"]
        }, separator: " ", indent: indent)
    }
}
