import CVFIO
import Logging
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Answering the kernel's request for the device (vfio-pci's device request IRQ), so that
/// removing or unbinding the function under a running driver ends in a named error rather than
/// a remove that waits for the process to exit.
extension VFIODevice {
    /// Whether the kernel has asked for the device back (removal or unbind); from then on its
    /// registers read all ones and writes reach nothing, so the engine fails requests with
    /// "device gone". Release the device (drop every reference) to let the kernel finish.
    public var removalRequested: Bool { requestWatch?.requested ?? false }

    /// Whether the kernel's device request is heard (vfio-pci offers it, and it was registered).
    public var hearsRemovalRequests: Bool { requestWatch != nil }

    /// Registers an eventfd as the trigger of VFIO_PCI_REQ_IRQ_INDEX, watched on a thread that,
    /// at the first request, turns `bar` into a removed device's registers. Nil, with a warning,
    /// when the kernel does not offer the request IRQ or refuses the registration: the device
    /// works all the same, only a removal then waits until the process lets go of it.
    static func watchRemovalRequests(_ fd: FileDescriptor, _ kernel: any VFIOKernel, irqIndexCount: UInt32, bar: MMIORegion,
                                     address: PCIAddress, logger: Logger) -> DeviceRequestWatch? {
        let index = cvfio_pci_req_irq_index()
        var irq = vfio_irq_info()
        irq.argsz = UInt32(MemoryLayout<vfio_irq_info>.size)
        irq.index = index
        guard irqIndexCount > index, kernel.irqInfo(device: fd.rawValue, &irq) == 0, irq.count >= 1 else {
            logger.warning("\(address): vfio-pci offers no device request IRQ, so removing the function waits until this process releases it")
            return nil
        }
        let watch: DeviceRequestWatch
        do {
            watch = try DeviceRequestWatch { [bar, logger] in
                do {
                    try bar.behaveAsRemoved()
                    logger.warning("\(address): the kernel asks for the device back (the function is being removed or unbound); its registers now read as a removed device's, so requests fail with \"device gone\" and the kernel finishes once this process releases the device")
                } catch {
                    logger.error("\(address): the kernel asks for the device back, but its registers could not be detached: \(error)")
                }
            }
        } catch {
            logger.warning("\(address): cannot watch for the kernel's device request (\(error)); removing the function waits until this process releases it")
            return nil
        }
        guard kernel.setIRQEventfd(device: fd.rawValue, index: index, eventfd: watch.requestDescriptor) == 0 else {
            let error = errno
            watch.stop()
            logger.warning("\(address): VFIO_DEVICE_SET_IRQS for the device request failed (errno \(error)); removing the function waits until this process releases it")
            return nil
        }
        return watch
    }
}
