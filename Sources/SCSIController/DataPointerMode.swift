/// How a command's data pointer is encoded (by `DataPointerEncoder`, Sources/NVMe).
public enum DataPointerMode: Sendable, Equatable {
    /// SGL when the controller supports it, PRP otherwise.
    case automatic
    /// Always PRP entries (PRP1, PRP2, PRP lists).
    case prp
    /// Always one SGL Data Block descriptor; refused at start when the controller lacks SGL support.
    case sgl
}
