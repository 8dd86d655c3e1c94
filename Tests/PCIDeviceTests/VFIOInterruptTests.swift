import CVFIO
import Testing
@testable import PCIDevice

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// MSI-X through VFIO (`VFIODevice.setInterruptTriggers`), against `FakeVFIOKernel`'s copy of
/// vfio-pci's rules: eventfds for vectors 0 to n - 1 enable MSI-X with n vectors; while it is on,
/// no vector beyond them can be set; an empty set disables it.
@Suite struct VFIOInterruptTests {
    private static let address = try! PCIAddress(parsing: "0000:01:00.0")

    private func withDevice(_ kernel: (String) -> FakeVFIOKernel, _ body: (VFIODevice, FakeVFIOKernel) throws -> Void) throws {
        try ScratchDirectory.use("vfio-msix") { scratch in
            let fake = kernel(try FakeVFIOKernel.deviceFile(in: scratch))
            let container = try VFIOContainer(path: try scratch.file("vfio"), kernel: fake)
            _ = try scratch.file("7")
            let group = try VFIOGroup(number: 7, container: container, vfioDirectory: scratch.path)
            try body(try VFIODevice(address: Self.address, group: group), fake)
        }
    }

    @Test func theVectorsVFIOReportsAreTheDevicesAndEachGetsItsEventfd() throws {
        try withDevice({ FakeVFIOKernel(deviceFile: $0, msixVectors: 9) }) { device, kernel in
            #expect(device.interruptVectorCount == 9)
            try device.setInterruptTriggers([-1, 40, 41])
            #expect(kernel.msixSets == [.init(index: cvfio_pci_msix_irq_index(), eventfds: [-1, 40, 41])])
            #expect(kernel.msixEnabled == 3)
        }
    }

    @Test func settingTriggersAgainDisablesMSIXFirstSoTheCountMayChange() throws {
        try withDevice({ FakeVFIOKernel(deviceFile: $0, msixVectors: 9) }) { device, kernel in
            try device.setInterruptTriggers([-1, 40])
            try device.setInterruptTriggers([-1, 40, 41, 42])
            try device.setInterruptTriggers([])
            let index = cvfio_pci_msix_irq_index()
            #expect(kernel.msixSets == [.init(index: index, eventfds: [-1, 40]), .init(index: index, eventfds: []),
                                        .init(index: index, eventfds: [-1, 40, 41, 42]), .init(index: index, eventfds: [])])
            #expect(kernel.msixEnabled == 0)
        }
    }

    @Test func moreVectorsThanOfferedAreRefusedBeforeTheKernelIsAsked() throws {
        try withDevice({ FakeVFIOKernel(deviceFile: $0, msixVectors: 2) }) { device, kernel in
            #expect(throws: InterruptTriggerError.self) { try device.setInterruptTriggers([-1, 40, 41]) }
            #expect(kernel.msixSets.isEmpty)
        }
    }

    @Test func aKernelRefusalIsThrownWithItsErrnoAndLeavesMSIXOff() throws {
        try withDevice({ FakeVFIOKernel(deviceFile: $0, msixVectors: 9, msixFailure: ENOSPC) }) { device, kernel in
            let error = #expect(throws: InterruptTriggerError.self) { try device.setInterruptTriggers([-1, 40]) }
            #expect(error?.description.contains(String(cString: strerror(ENOSPC))) == true)
            #expect(kernel.msixEnabled == 0 && kernel.msixSets.isEmpty)
        }
    }

    @Test func aDeviceWithoutMSIXOffersNoVector() throws {
        try withDevice({ FakeVFIOKernel(deviceFile: $0) }) { device, _ in
            #expect(device.interruptVectorCount == 0)
            #expect(throws: InterruptTriggerError.self) { try device.setInterruptTriggers([-1, 40]) }
        }
    }
}
