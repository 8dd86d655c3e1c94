/// Lines whose columns line up, for every text table ctrlbench prints (`list`'s table, the HBA
/// constraint keys of `info` and `explain`): each column but the last is padded to its widest
/// cell, the cells are joined by `separator`, and a line ends without trailing spaces.
func alignedRows(_ rows: [[String]], separator: String = "  ", indent: String = "") -> [String] {
    let columns = rows.map(\.count).max() ?? 0
    let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
    return rows.map { row in
        let cells = row.enumerated().map { column, cell in
            column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
        }
        var line = indent + cells.joined(separator: separator)
        while line.last == " " { line.removeLast() }
        return line
    }
}
