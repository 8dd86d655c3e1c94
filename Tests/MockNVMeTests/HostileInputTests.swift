import DMAMapper
import MockNVMe
import NVMe
import SeededRandom
import Testing

/// A device must survive whatever a host writes into its queues: every command completes with
/// some status, the controller stays healthy, nothing traps. Seeded, so a failure replays.
@Suite("Hostile submission queue entries")
struct HostileInputTests {
    /// Memory the random pointers aim at: data pages, PRP list pages holding a mix of good page
    /// addresses, offsets and garbage, and SGL descriptor pages of random types and lengths.
    struct Arena {
        let data: DMABuffer
        let lists: DMABuffer
        let descriptors: DMABuffer

        init(_ harness: Harness, random: inout SplitMix64) throws {
            data = try harness.allocate(32 * 4096)
            lists = try harness.allocate(4 * 4096)
            descriptors = try harness.allocate(2 * 4096)
            for slot in 0..<(lists.length / 8) {
                let page = data.iova + (random.next() % 32) * 4096
                let entry: UInt64
                switch random.next() % 8 {
                case 0: entry = random.next()
                case 1: entry = page + (random.next() % 4096)
                case 2: entry = lists.iova + (random.next() % 4) * 4096
                default: entry = page
                }
                lists.address.storeBytes(of: entry, toByteOffset: slot * 8, as: UInt64.self)
            }
            for slot in 0..<(descriptors.length / 16) {
                let type = UInt8(truncatingIfNeeded: random.next() % 6)
                let address = random.next() % 2 == 0 ? data.iova + random.next() % UInt64(data.length) : descriptors.iova + (random.next() % 512) * 16
                let length = UInt32(truncatingIfNeeded: random.next() % 3 == 0 ? random.next() : (random.next() % 9) * 512)
                let subtype = UInt8(random.next() % 8 == 0 ? random.next() % 16 : 0)
                let descriptor = SGLDescriptor(type: SGLDescriptorType(rawValue: type)!, subtype: subtype, address: address, length: length)
                descriptors.address.storeBytes(of: descriptor, toByteOffset: slot * 16, as: SGLDescriptor.self)
            }
        }

        /// A pointer value a hostile or careless host might write.
        func pointer(_ random: inout SplitMix64) -> UInt64 {
            switch random.next() % 10 {
            case 0: return random.next()
            case 1: return 0
            case 2: return data.iova + (random.next() % 32) * 4096 + 4096 - 4 * (random.next() % 3)  // last dwords of a page
            case 3: return lists.iova + (random.next() % 4) * 4096 + 4096 - 4 * (1 + random.next() % 4)  // list pointer at page end
            case 4: return lists.iova + (random.next() % 4096) * 4
            case 5: return descriptors.iova + (random.next() % 512) * 16
            default: return data.iova + (random.next() % 32) * 4096 + (random.next() % 8 == 0 ? (random.next() % 1024) * 4 : 0)
            }
        }
    }

    static func randomIOEntry(_ random: inout SplitMix64, _ arena: Arena) -> SubmissionQueueEntry {
        var entry = SubmissionQueueEntry()
        let known: [UInt8] = [0x00, 0x01, 0x02, 0x04, 0x05, 0x08, 0x09, 0x0C, 0x0D, 0x19]
        entry.cdw0 = UInt32(truncatingIfNeeded: random.next())  // FUSE, PSDT and reserved bits at random
        entry.opcode = random.next() % 5 == 0 ? UInt8(truncatingIfNeeded: random.next()) : known[Int(random.next() % UInt64(known.count))]
        if random.next() % 4 != 0 { entry.cdw0 &= ~UInt32(0b11 << 8) }  // mostly not fused, to reach execution
        let nsids: [UInt32] = [1, 1, 1, 2, 0, 3, 0xFFFF_FFFF, UInt32(truncatingIfNeeded: random.next())]
        entry.nsid = nsids[Int(random.next() % UInt64(nsids.count))]
        entry.cdw2 = UInt32(truncatingIfNeeded: random.next())
        entry.cdw3 = UInt32(truncatingIfNeeded: random.next())
        entry.mptr = random.next()
        let psdt = random.next() % 4
        if psdt == 1 || psdt == 2 {
            let type = UInt8(truncatingIfNeeded: random.next() % 4)
            let length = UInt32(truncatingIfNeeded: random.next() % 2 == 0 ? random.next() : (random.next() % 20) * 512)
            entry.sgl1 = SGLDescriptor(type: SGLDescriptorType(rawValue: type)!, subtype: UInt8(random.next() % 10 == 0 ? 1 : 0),
                                       address: arena.pointer(&random), length: length)
        } else {
            entry.dptr1 = arena.pointer(&random)
            entry.dptr2 = arena.pointer(&random)
        }
        entry.cdw0 = entry.cdw0 & ~UInt32(0b11 << 14) | UInt32(psdt) << 14
        let lbas: [UInt64] = [0, 1, 2047, 2048, UInt64.max, random.next(), random.next() % 2048]
        entry.startingLBA = lbas[Int(random.next() % UInt64(lbas.count))]
        entry.cdw12 = UInt32(truncatingIfNeeded: random.next())
        if random.next() % 4 != 0 { entry.nlb = UInt16(random.next() % 40) }  // small enough for MDTS, mostly
        entry.cdw13 = UInt32(truncatingIfNeeded: random.next())
        entry.cdw14 = UInt32(truncatingIfNeeded: random.next())
        entry.cdw15 = UInt32(truncatingIfNeeded: random.next())
        if random.next() % 3 == 0 { entry.cdw10 = UInt32(truncatingIfNeeded: random.next()); entry.cdw11 = UInt32(truncatingIfNeeded: random.next()) }
        return entry
    }

    /// 30,000 random I/O entries in batches: each completes exactly once, the controller stays
    /// ready and healthy, and a plain write and read still work afterwards.
    @Test(arguments: [UInt64(0x1234_5678), 0xDEAD_BEEF])
    func randomIOCommandsAllComplete(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let harness = try Harness.withQueuePair {
            $0.namespaces = [MockNamespace(blockCount: 2048), MockNamespace(blockCount: 256, blockSize: 4096)]
            $0.randomSeed = seed
        }
        let arena = try Arena(harness, random: &random)
        var statuses: [UInt16: Int] = [:]
        for batch in 0..<1000 {
            var expected: [UInt16: Int] = [:]
            for _ in 0..<30 {
                expected[harness.place(Self.randomIOEntry(&random, arena), qid: 1), default: 0] += 1
            }
            harness.ring(qid: 1)
            let completions = harness.poll(qid: 1)
            var seen: [UInt16: Int] = [:]
            for completion in completions {
                seen[completion.commandID, default: 0] += 1
                statuses[completion.status.rawValue & 0x7FF, default: 0] += 1
            }
            #expect(seen == expected, "seed \(seed) batch \(batch)")
            #expect(completions.allSatisfy { $0.sqID == 1 })
            if seen != expected { break }
        }
        // The mix reached execution and many distinct checks, not only the first one.
        #expect(statuses[0, default: 0] > 500, "successes: \(statuses[0, default: 0])")
        #expect(statuses.count >= 12, "distinct statuses: \(statuses.keys.sorted())")
        #expect(harness.csts.rdy && !harness.csts.cfs)
        let (written, pattern) = try harness.writePattern(lba: 7, blocks: 2, seed: 3, fua: true)
        #expect(written.isSuccess)
        #expect(try harness.read(lba: 7, blocks: 2) == (.success, pattern))
    }

    /// Random admin entries (Asynchronous Event Requests aside, which wait for events by design)
    /// complete exactly once and leave the admin queue working.
    @Test func randomAdminCommandsAllComplete() throws {
        var random = SplitMix64(seed: 0xAD_0017)
        let harness = try Harness.withQueuePair { $0.contiguousQueuesRequired = false }
        let arena = try Arena(harness, random: &random)
        let known: [UInt8] = [0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0A, 0x10, 0x18, 0x80]
        for batch in 0..<1000 {
            var expected: [UInt16: Int] = [:]
            for _ in 0..<8 {
                var entry = Self.randomIOEntry(&random, arena)
                entry.opcode = random.next() % 6 == 0 ? UInt8(truncatingIfNeeded: random.next()) : known[Int(random.next() % UInt64(known.count))]
                if entry.opcode == AdminOpcode.asynchronousEventRequest.rawValue { entry.opcode = 0x7F }
                entry.cdw10 = UInt32(truncatingIfNeeded: random.next() % 2 == 0 ? random.next() : random.next() % 16)
                entry.cdw11 = UInt32(truncatingIfNeeded: random.next() % 2 == 0 ? random.next() : random.next() % 4)
                if random.next() % 2 == 0 { entry.cdw0 &= ~UInt32(0b1111 << 8) }  // normal PRP commands, mostly
                expected[harness.place(entry), default: 0] += 1
            }
            harness.ring()
            var seen: [UInt16: Int] = [:]
            for completion in harness.poll() { seen[completion.commandID, default: 0] += 1 }
            #expect(seen == expected, "batch \(batch)")
            if seen != expected { break }
        }
        #expect(harness.csts.rdy && !harness.csts.cfs)
        #expect(harness.execute(.identify(.controller), buffer: try harness.allocate(4096)).status.isSuccess)
    }
}
