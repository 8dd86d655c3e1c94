import SeededRandom

/// Draws the property tests need from the shared seeded generator.
extension SplitMix64 {
    /// A power of two 2^e with e drawn uniformly from `exponents`.
    mutating func powerOfTwo(_ exponents: ClosedRange<Int>) -> Int {
        1 << Int.random(in: exponents, using: &self)
    }

    /// A value spread evenly over orders of magnitude, so tiny and huge values both occur often.
    mutating func logUniform(upTo maximum: Int) -> Int {
        let bits = Int.random(in: 0...(Int.bitWidth - 1 - maximum.leadingZeroBitCount), using: &self)
        return Int.random(in: 0...Swift.min(maximum, (1 << bits) * 2 - 1), using: &self)
    }
}
