import CVFIO
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Waits, on a small thread of its own, for vfio-pci's device request: the kernel's signal that
/// it wants a device back from user space because the function is being removed or unbound
/// (`echo 1 > .../remove`, a driver change). The kernel's remove blocks until every user of the
/// device has let go of it, asking again every 10 seconds, so a driver that never hears the
/// request keeps the remove waiting for as long as the process runs.
///
/// The kernel signals an eventfd (`requestDescriptor`, registered with VFIO_DEVICE_SET_IRQS for
/// VFIO_PCI_REQ_IRQ_INDEX). The thread blocks in `poll` on it and on a second eventfd that
/// `stop()` signals, so it costs nothing while it waits and nothing on the I/O path. On the
/// first request it calls `onRequest` once and ends; later requests have nothing to add.
public final class DeviceRequestWatch: Sendable {
    /// The eventfd the kernel signals; register it as the device request trigger.
    public let requestDescriptor: Int32
    private let stopDescriptor: Int32
    private let thread: pthread_t
    private let stopped = Atomic<Bool>(false)
    private let requests: Requests

    /// Whether the kernel has asked for the device (so `onRequest` has run or is running).
    public var requested: Bool { requests.seen.load(ordering: .acquiring) }

    /// Creates the eventfds and starts the thread; `onRequest` runs on that thread.
    public init(onRequest: @escaping @Sendable () -> Void) throws(PCIDeviceError) {
        let request = cvfio_eventfd()
        guard request >= 0 else { throw .vfioCallFailed(call: "eventfd for the device request", errno: errno) }
        let stop = cvfio_eventfd()
        guard stop >= 0 else {
            let error = errno
            close(request)
            throw .vfioCallFailed(call: "eventfd to stop the device request thread", errno: error)
        }
        let requests = Requests(request: request, stop: stop, onRequest: onRequest)
        let context = Unmanaged.passRetained(requests).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { raw in
            Unmanaged<Requests>.fromOpaque(raw!).takeRetainedValue().wait()
            return nil
        }, context)
        guard created == 0 else {
            Unmanaged<Requests>.fromOpaque(context).release()
            close(request)
            close(stop)
            throw .vfioCallFailed(call: "pthread_create for the device request thread", errno: created)
        }
        requestDescriptor = request
        stopDescriptor = stop
        self.thread = thread
        self.requests = requests
    }

    deinit {
        stop()
        close(requestDescriptor)
        close(stopDescriptor)
    }

    /// Ends the thread and waits for it (after a request, once `onRequest` has returned).
    /// Later calls return at once. Must not be called from `onRequest`.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var one: UInt64 = 1
        _ = write(stopDescriptor, &one, MemoryLayout<UInt64>.size)
        pthread_join(thread, nil)
    }

    /// What the thread holds: the two descriptors (owned by the watch, which joins the thread
    /// before closing them) and the callback.
    private final class Requests: Sendable {
        let request: Int32
        let stop: Int32
        let onRequest: @Sendable () -> Void
        let seen = Atomic<Bool>(false)

        init(request: Int32, stop: Int32, onRequest: @escaping @Sendable () -> Void) {
            self.request = request
            self.stop = stop
            self.onRequest = onRequest
        }

        /// Blocks until a request or a stop; runs `onRequest` on a request.
        func wait() {
            var descriptors = [pollfd(fd: request, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: stop, events: Int16(POLLIN), revents: 0)]
            while true {
                let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
                if ready < 0 {
                    if errno == EINTR { continue }
                    return  // cannot wait any more (a bad descriptor): the remove waits for the process
                }
                if descriptors[1].revents != 0 { return }
                if descriptors[0].revents & Int16(POLLIN) != 0 {
                    var count: UInt64 = 0
                    _ = read(request, &count, MemoryLayout<UInt64>.size)
                    seen.store(true, ordering: .releasing)
                    onRequest()
                    return
                }
            }
        }
    }
}
