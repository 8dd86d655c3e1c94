#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if FUZZING
/// libFuzzer's driver (compiler-rt, present when linking with -sanitize=fuzzer).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt
) -> CInt
#endif

/// The executable's entry point. SwiftPM names every executable's entry itself, so libFuzzer's
/// own `main` cannot be used; with -DFUZZING (scripts/fuzz-tcmu.sh) this hands control to
/// libFuzzer's driver instead. Without it (a plain `swift build`) it replays the corpus files
/// given as arguments, so a crash the fuzzer found can be reproduced under the debugger.
@main
struct Replay {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzz($0, $1) })
        #else
        var replayed = 0
        for path in CommandLine.arguments.dropFirst() {
            guard let file = fopen(path, "rb") else { continue }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let read = fread(&buffer, 1, buffer.count, file)
                if read <= 0 { break }
                bytes += buffer[0..<read]
            }
            fclose(file)
            bytes.withUnsafeBytes { _ = fuzz($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, $0.count) }
            replayed += 1
        }
        print("replayed \(replayed) inputs")
        #endif
    }
}
