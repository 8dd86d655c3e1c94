import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A `Mutex` whose critical sections the thread sanitizer can see.
///
/// `Synchronization.Mutex` locks through the standard library's futex code, which is not built
/// with the sanitizer, so under `--sanitize=thread` every access made under it looks like a race.
/// This wrapper tells the sanitizer about each acquire and release (through its annotation entry
/// points, looked up once and absent - one nil check - in ordinary builds). Every lock in the
/// driver, the DMA layer and the mock uses it, so a TSan report is always a real finding.
///
/// `withLock` is inlinable so each client specialises it for its own value type: called as an
/// unspecialised generic across the module boundary it looked up the type's metadata at run
/// time on every call (about 330 instructions, more than the rest of a mock doorbell).
public struct SanitizedMutex<Value: ~Copyable>: ~Copyable, @unchecked Sendable {
    @usableFromInline let mutex: Mutex<Value>
    /// A unique address naming this lock to the sanitizer.
    @usableFromInline let token: UnsafeMutableRawPointer

    /// A lock guarding `initialValue`.
    public init(_ initialValue: consuming sending Value) {
        mutex = Mutex(initialValue)
        token = .allocate(byteCount: 1, alignment: 1)
    }

    deinit { token.deallocate() }

    /// Runs `body` with exclusive access to the value.
    @inlinable @inline(__always)
    public borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        let token = token
        return try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            SanitizerHooks.acquire?(token)
            defer { SanitizerHooks.release?(token) }
            return try body(&value)
        }
    }
}

/// The sanitizer's annotation entry points, when its runtime is loaded.
@usableFromInline enum SanitizerHooks {
    @usableFromInline typealias Hook = @convention(c) (UnsafeRawPointer?) -> Void

    /// `__tsan_acquire`: the calling thread synchronises with the last release of the address.
    @usableFromInline static let acquire: Hook? = lookup("__tsan_acquire")
    /// `__tsan_release`.
    @usableFromInline static let release: Hook? = lookup("__tsan_release")

    private static func lookup(_ name: String) -> Hook? {
        // A null handle is RTLD_DEFAULT: search every loaded object.
        guard let symbol = dlsym(nil, name) else { return nil }
        return unsafeBitCast(symbol, to: Hook.self)
    }
}
