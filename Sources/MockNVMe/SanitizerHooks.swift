#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tells the thread sanitizer about the controller lock.
///
/// `Synchronization.Mutex` locks through the standard library's futex code, which is not built
/// with the sanitizer, so under `--sanitize=thread` every access made under the lock looks like a
/// race. When the sanitizer runtime is loaded, its annotation entry points are found once with
/// `dlsym` and called on lock and unlock; otherwise the hooks are nil and cost one check.
enum SanitizerHooks {
    typealias Hook = @convention(c) (UnsafeRawPointer?) -> Void

    /// `__tsan_acquire`, when running under the thread sanitizer.
    static let acquire: Hook? = lookup("__tsan_acquire")
    /// `__tsan_release`, when running under the thread sanitizer.
    static let release: Hook? = lookup("__tsan_release")

    private static func lookup(_ name: String) -> Hook? {
        // RTLD_DEFAULT is a null handle: search every loaded object.
        guard let symbol = dlsym(nil, name) else { return nil }
        return unsafeBitCast(symbol, to: Hook.self)
    }
}
