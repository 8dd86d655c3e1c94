#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// PCI configuration space through the VFIO config region (pread/pwrite on the device fd at the
/// region's offset). VFIO virtualises parts of it (BARs, MSI-X), which is what we want: writes the
/// kernel must not see from user space are filtered there.
extension VFIODevice: PCIConfigurationSpace {
    /// Reads `count` bytes of config space at `offset`; a range outside the region is an error.
    public func readConfig(at offset: Int, count: Int) throws(PCIDeviceError) -> [UInt8] {
        try checkConfigRange(offset, count)
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { pread(descriptor.rawValue, $0.baseAddress, count, off_t(configOffset) + off_t(offset)) }
        guard got == count else {
            throw .vfioCallFailed(call: "pread of config space \(offset)+\(count) on \(address)", errno: got < 0 ? errno : EIO)
        }
        return bytes
    }

    /// Writes `bytes` to config space at `offset`; a range outside the region is an error.
    public func writeConfig(_ bytes: [UInt8], at offset: Int) throws(PCIDeviceError) {
        try checkConfigRange(offset, bytes.count)
        let put = bytes.withUnsafeBytes { pwrite(descriptor.rawValue, $0.baseAddress, bytes.count, off_t(configOffset) + off_t(offset)) }
        guard put == bytes.count else {
            throw .vfioCallFailed(call: "pwrite of config space \(offset)+\(bytes.count) on \(address)", errno: put < 0 ? errno : EIO)
        }
    }

    /// Little-endian 16-bit config read.
    public func readConfig16(at offset: Int) throws(PCIDeviceError) -> UInt16 {
        let b = try readConfig(at: offset, count: 2)
        return UInt16(b[0]) | UInt16(b[1]) << 8
    }

    /// Little-endian 32-bit config read.
    public func readConfig32(at offset: Int) throws(PCIDeviceError) -> UInt32 {
        let b = try readConfig(at: offset, count: 4)
        return b.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Little-endian 16-bit config write.
    public func writeConfig16(_ value: UInt16, at offset: Int) throws(PCIDeviceError) {
        try writeConfig([UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)], at: offset)
    }

    /// Refuses a range outside the region; written as `count <= size - offset` so no sum can overflow.
    private func checkConfigRange(_ offset: Int, _ count: Int) throws(PCIDeviceError) {
        guard offset >= 0, count >= 0, offset <= configSize, count <= configSize - offset else {
            throw .regionUnavailable("config space \(offset)+\(count) beyond its \(configSize) bytes on \(address)")
        }
    }
}
