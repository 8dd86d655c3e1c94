import TCMUExport

// libFuzzer entry point for the TCMU ring parser; the input layout and invariants are
// `RingFuzzing`'s (in TCMUExport, so the unit tests replay inputs through the same code).

/// libFuzzer's `LLVMFuzzerTestOneInput`: traps when an invariant breaks; returns 0 otherwise.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    if let violation = RingFuzzing.violation(in: UnsafeRawBufferPointer(start: start, count: count)) { fatalError(violation) }
    return 0
}
