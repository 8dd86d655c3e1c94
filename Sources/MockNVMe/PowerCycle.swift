import SeededRandom
import NVMe

extension ControllerState {
    /// Power goes away and comes back (power cut, surprise removal and reinsertion): the cache
    /// loses all but a seeded `survivingFraction` of its blocks, an unsafe shutdown is counted
    /// unless CSTS.SHST said the shutdown was complete, and the registers are at power-on values.
    mutating func losePower(survivingFraction: Double, seed: UInt64) {
        var random = SplitMix64(seed: seed)
        for index in namespaces.indices {
            // A backing file that fails to take a surviving block was logged by the file; the
            // block is lost, as a torn cache may lose any block.
            do throws(CommandFailure) {
                try namespaces[index].losePower(survivingFraction: survivingFraction, random: &random)
            } catch {
                health.mediaErrors += 1
            }
        }
        if csts.shst != .complete { health.unsafeShutdowns += 1 }
        removed = false
        powerOff()
    }

    /// Power-on register values: also the state after a power cut.
    mutating func powerOff() {
        controllerReset()
        cc = ControllerConfiguration()
        csts = ControllerStatus()
        aqa = 0
        asq = 0
        acq = 0
        intms = 0
        health.powerCycles += 1
    }
}
