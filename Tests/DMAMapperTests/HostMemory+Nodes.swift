#if canImport(Glibc)
import Glibc
#endif
import CVFIO
@testable import DMAMapper

/// Only the NUMA placement tests ask where memory landed.
extension HostMemory {
    /// The NUMA node of each of the first `count` system pages, as the kernel reports it
    /// (`move_pages` without target nodes only queries); nil for a page not yet faulted in.
    func nodesOfPages(count: Int) -> [Int?] {
        let systemPage = Int(sysconf(Int32(_SC_PAGESIZE)))
        var pages: [UnsafeMutableRawPointer?] = (0..<count).map { base + $0 * systemPage }
        var status = [Int32](repeating: -1, count: count)
        guard move_pages(0, UInt(count), &pages, nil, &status, 0) == 0 else { return Array(repeating: nil, count: count) }
        return status.map { $0 >= 0 ? Int($0) : nil }
    }
}
