import CVFIO
import Testing
@testable import PCIDevice

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The function removed under a running driver (the VM's `faults` scenario): vfio-pci asks for the
/// device back, waits for its fd to close, then detaches the group from its container, and every
/// unmap after that fails with EINVAL. Whatever order the engine drops the device and its DMA
/// buffers in, each buffer must be unmapped before the device fd closes. Run against
/// `FakeVFIOKernel`'s removal rule.
@Suite struct VFIORemovalTeardownTests {
    private static let page = 4096
    private static let address = try! PCIAddress(parsing: "0000:01:00.0")

    /// A page mapped through an IOMMU handle and unmapped when it goes: what `DMABuffer` and its
    /// `DMAMapper` keep of a device, which is the handle and nothing else.
    private final class MappedPage {
        let iommu: any IOMMU
        let iova: UInt64
        let memory = UnsafeMutableRawPointer.allocate(byteCount: page, alignment: page)

        init(through iommu: any IOMMU, iova: UInt64) throws {
            self.iommu = iommu
            self.iova = iova
            try iommu.map(hostAddress: memory, iova: iova, length: page, access: .readWrite)
        }

        deinit {
            // A refused unmap is recorded by the fake kernel; the test reads it there.
            try? iommu.unmap(iova: iova, length: page)
            memory.deallocate()
        }
    }

    /// The descriptors of a device, its group and its container (numbers only: holding them keeps
    /// nothing open), and the closes the fake kernel records for them, in order.
    private struct Descriptors {
        let device: Int32, group: Int32, container: Int32

        init(of opened: VFIODevice) {
            (device, group, container) = (opened.descriptor.rawValue, opened.group.descriptor.rawValue,
                                          opened.group.container.descriptor.rawValue)
        }

        var closes: [FakeVFIOKernel.Event] { [.closed(device), .closed(group), .closed(container)] }
    }

    /// Opens container, group 7 and the device on scratch files, against `kernel`.
    private func openDevice(_ scratch: ScratchDirectory, _ kernel: FakeVFIOKernel) throws -> VFIODevice {
        let container = try VFIOContainer(path: try scratch.file("vfio"), kernel: kernel)
        _ = try scratch.file("7")
        let group = try VFIOGroup(number: 7, container: container, vfioDirectory: scratch.path)
        return try VFIODevice(address: Self.address, group: group)
    }

    /// Waits (at most 10 s, so a broken watch fails instead of hanging) until `done()`.
    private func eventually(_ done: () -> Bool) -> Bool {
        for _ in 0..<10_000 where !done() { usleep(1000) }
        return done()
    }

    /// The engine's teardown after the kernel's request: it drops the device before its buffers
    /// (ControllerCore's own reference, then the queues' and the admin channel's, before the admin
    /// scratch page and the shadow doorbell buffers). The buffers still hold the device open, so
    /// their unmaps reach a live IOMMU, and only then does the device fd close and the group leave
    /// its container.
    @Test func buffersOutlivingARemovedDeviceAreUnmappedBeforeItsFdCloses() throws {
        try ScratchDirectory.use("vfio-removal") { scratch in
            let kernel = FakeVFIOKernel(deviceFile: try FakeVFIOKernel.deviceFile(in: scratch))
            var device: VFIODevice? = try openDevice(scratch, kernel)
            let fds = Descriptors(of: device!)
            #expect(device!.hearsRemovalRequests)
            let iovas: [UInt64] = [0x10_0000, 0x20_0000, 0x30_0000]
            var pages: [MappedPage]? = try iovas.map { try MappedPage(through: device!.iommu, iova: $0) }

            kernel.requestRemoval(of: fds.device)
            #expect(eventually { device!.removalRequested }, "the watch heard the kernel's request")
            #expect(device!.readRegister32(at: 0x1c) == 0xFFFF_FFFF, "the registers read as a removed device's")

            device = nil
            #expect(kernel.events.isEmpty, "the buffers keep the device open")
            #expect(kernel.isAttached(group: fds.group))
            #expect(pages?.count == iovas.count)
            pages = nil

            #expect(kernel.events == iovas.map { .unmapped(iova: $0) } + fds.closes)
            #expect(!kernel.isAttached(group: fds.group))
        }
    }

    /// A removal that finds no buffer left (the engine unmapped them all first) is the plain case:
    /// the device fd closes when the device goes, and the kernel's detach of the group leaves
    /// nothing behind.
    @Test func aRemovedDeviceWithoutBuffersClosesWhenItGoes() throws {
        try ScratchDirectory.use("vfio-removal") { scratch in
            let kernel = FakeVFIOKernel(deviceFile: try FakeVFIOKernel.deviceFile(in: scratch))
            var device: VFIODevice? = try openDevice(scratch, kernel)
            let fds = Descriptors(of: device!)
            var page: MappedPage? = try MappedPage(through: device!.iommu, iova: 0x10_0000)
            kernel.requestRemoval(of: fds.device)
            #expect(eventually { device!.removalRequested })
            #expect(page?.iova == 0x10_0000)
            page = nil
            #expect(kernel.events == [.unmapped(iova: 0x10_0000)])
            device = nil
            #expect(kernel.events == [.unmapped(iova: 0x10_0000)] + fds.closes)
            #expect(!kernel.isAttached(group: fds.group))
        }
    }
}
