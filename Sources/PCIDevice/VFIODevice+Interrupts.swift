import CVFIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// MSI-X through VFIO: the device's vectors signal eventfds (VFIO_DEVICE_SET_IRQS with
/// VFIO_IRQ_SET_DATA_EVENTFD on VFIO_PCI_MSIX_IRQ_INDEX), so a thread can sleep in `poll(2)` until
/// its completion queue's vector fires instead of spinning on the queue.
extension VFIODevice {
    /// `msixVectorCount`: the MSI-X vectors vfio-pci offers.
    public var interruptVectorCount: Int { msixVectorCount }

    /// Enables MSI-X with `eventfds.count` vectors, each triggering its eventfd (-1: none), or
    /// disables it for an empty array. vfio-pci sizes MSI-X when it enables it, so triggers set
    /// earlier are dropped first (the device keeps working meanwhile; a vector raised in between
    /// is lost, which a waiter's timeout covers).
    public func setInterruptTriggers(_ eventfds: [Int32]) throws(InterruptTriggerError) {
        let index = cvfio_pci_msix_irq_index()
        guard eventfds.count <= msixVectorCount else {
            throw InterruptTriggerError(description: "\(address) offers \(msixVectorCount) MSI-X vector(s); \(eventfds.count) were asked for")
        }
        if msixEnabledVectors.load(ordering: .acquiring) > 0 {
            guard kernel.setIRQEventfds(device: descriptor.rawValue, index: index, eventfds: []) == 0 else {
                throw InterruptTriggerError(description: "VFIO_DEVICE_SET_IRQS disabling MSI-X of \(address) failed: \(String(cString: strerror(errno)))")
            }
            msixEnabledVectors.store(0, ordering: .releasing)
        }
        guard !eventfds.isEmpty else { return }
        guard kernel.setIRQEventfds(device: descriptor.rawValue, index: index, eventfds: eventfds) == 0 else {
            throw InterruptTriggerError(description: "VFIO_DEVICE_SET_IRQS enabling \(eventfds.count) MSI-X vector(s) of \(address) failed: \(String(cString: strerror(errno)))")
        }
        msixEnabledVectors.store(eventfds.count, ordering: .releasing)
    }
}
