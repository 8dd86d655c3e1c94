import Translation

// libFuzzer entry point for the translation layer. The input layout and the invariants are
// `TranslationFuzzing`'s (in the Translation module, so the unit tests replay the corpus through
// the same code); a broken invariant traps, which is what libFuzzer records as a finding.

/// Runs one input; traps when an invariant breaks.
public func fuzzTranslation(_ input: UnsafeRawBufferPointer) {
    if let violation = TranslationFuzzing.violation(in: input) { fatalError(violation) }
}

/// libFuzzer's `LLVMFuzzerTestOneInput`: runs the `count` bytes at `start` through
/// `fuzzTranslation(_:)`; returns 0, as libFuzzer requires (non-zero values are reserved).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    fuzzTranslation(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
