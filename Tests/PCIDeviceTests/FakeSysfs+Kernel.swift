import FakeSysfs
import Foundation
@testable import PCIDevice

/// The kernel's part for the shared `FakeSysfs` tree: PCIDevice's writer, reacting to each write.
extension FakeSysfs {
    /// A writer that writes the file, then reacts like the kernel (drivers/base/bus.c):
    /// - `drivers/X/unbind` removes the driver link if X holds the device, else fails with ENODEV;
    /// - `drivers_probe` binds an unbound device to its driver_override, or to
    ///   `nativeDrivers[address]` when none is set, and leaves a bound device alone;
    /// - `drivers/X/bind` fails with EBUSY while another driver holds the device, with ENODEV when
    ///   driver_override names another driver, and binds otherwise.
    /// `refuse` lets a test make the kernel ignore a step; `checkWritable` replaces the permission check.
    func kernelWriter(nativeDrivers: [String: String] = [:],
                      refuse: @escaping @Sendable (String) -> Bool = { _ in false },
                      log: WriteLog? = nil,
                      checkWritable: @escaping @Sendable (String) throws(PCIDeviceError) -> Void = SysfsWriter.accessCheck)
        -> SysfsWriter {
        SysfsWriter(write: { [self] path, value throws(PCIDeviceError) in
            try SysfsWriter.kernel.write(path, value)
            log?.append(path: path, value: value)
            guard !refuse(path) else { return }
            let address = value.trimmingCharacters(in: .whitespacesAndNewlines)
            let driverName = URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
            if path.hasSuffix("/unbind") {
                guard driver(of: address) == driverName else { throw .sysfsIOFailed(path: path, errno: ENODEV) }
                unbind(address)
            } else if path.hasSuffix("/drivers_probe") {
                guard driver(of: address) == nil else { return }
                if let override = override(of: address) {
                    try? bind(address, to: override)
                } else if let native = nativeDrivers[address] {
                    try? bind(address, to: native)
                }
            } else if path.hasSuffix("/bind") {
                guard driver(of: address) == nil else { throw .sysfsIOFailed(path: path, errno: EBUSY) }
                if let override = override(of: address), override != driverName {
                    throw .sysfsIOFailed(path: path, errno: ENODEV)
                }
                try? bind(address, to: driverName)
            }
        }, checkWritable: checkWritable)
    }
}

/// Records the writes a binder made, in order, so tests can check the sequence.
final class WriteLog: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var entries: [(path: String, value: String)] = []

    func append(path: String, value: String) {
        lock.withLock { entries.append((path, value)) }
    }

    var writes: [(path: String, value: String)] { lock.withLock { entries } }
}
