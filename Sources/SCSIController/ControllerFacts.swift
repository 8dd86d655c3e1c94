import NVMe

/// What bring-up read from the controller and settled on, fixed for the controller's life.
/// Each member is reachable as the controller's own (`controller.namespaces`,
/// `controller.constraints`), so `NVMeController` states them once, here, rather than forwarding
/// each one.
public struct ControllerFacts: Sendable {
    /// CAP as read at bring-up.
    public let capabilities: ControllerCapabilities
    /// VS as read at bring-up.
    public let version: ControllerVersion
    /// Identify Controller data.
    public let identify: IdentifyController
    /// Active namespaces the driver can serve, in NSID order.
    public let namespaces: [Namespace]
    /// Active namespaces left out of `namespaces`, each with the reason (an unusable format).
    public let unusableNamespaces: [UnusableNamespace]
    /// The memory page size configured in CC.MPS.
    public let pageSize: Int
    /// Largest transfer of one NVMe command, in bytes.
    public let maximumCommandBytes: Int
    /// Address width of the IOVAs the mapper hands out.
    public let iovaBits: Int
    /// The validated HBA constraints every request is cut by.
    public let constraints: HBAConstraints
    /// Whether commands carry SGLs rather than PRPs.
    public let usesSGL: Bool
    /// How long stop waits for the shutdown handshake: RTD3E when reported, else the option.
    public let shutdownMilliseconds: Int
    /// Options the controller was brought up with.
    public let options: ControllerOptions

    /// The namespace with identifier `nsid`.
    public func namespace(_ nsid: UInt32) -> Namespace? { namespaces.first { $0.id == nsid } }
}

/// A namespace bring-up found but cannot serve, and why (it is left out of `namespaces`).
public struct UnusableNamespace: Sendable, Equatable {
    /// Namespace identifier.
    public let id: UInt32
    /// What is wrong with it, naming the field, value and rule.
    public let reason: ControllerError
}
