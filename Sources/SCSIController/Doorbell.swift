import CVFIO
import DMAMapper
import NVMe
import PCIDevice
import Synchronization

/// One doorbell of a queue pair (its SQ tail or its CQ head), owned by the queue pair's thread.
///
/// The register is written straight into the mapped BAR0 when the device has one (VFIO), else
/// through `DeviceInterface.writeRegister32` (the mock). With shadow doorbells (Doorbell Buffer
/// Config, see `ShadowDoorbells`) every new value goes to the doorbell's shadow slot in host memory
/// first, and the register is written only when the controller's EventIdx for it lies between the
/// previous value and the new one - what it asked to be told about.
@usableFromInline struct Doorbell {
    /// The register's offset in BAR0 (for the protocol path and for messages).
    @usableFromInline let offset: Int
    /// The register in the mapped BAR0, or nil to write through the device protocol.
    @usableFromInline let register: UnsafeMutableRawPointer?
    /// This doorbell's slot in the shadow doorbell buffer; nil while shadow doorbells are off.
    @usableFromInline var shadow: UnsafeMutableRawPointer?
    /// The controller's EventIdx slot for this doorbell. Nil while `shadow` is set means the
    /// shadow is only mirrored and the register always written (the admin queue).
    @usableFromInline var eventIndex: UnsafeMutableRawPointer?
    /// The value last announced (the EventIdx rule's "old"); 0 when the queue is (re)created.
    @usableFromInline var last: UInt16 = 0

    init(offset: Int, device: any DeviceInterface) {
        self.offset = offset
        register = device.registerAddress32(at: offset)
    }

    /// Whether the new value `value` must reach the register, given the controller's `event`
    /// index and the previous value `old` (NVMe Base 2.0, Doorbell Buffer Config; the same rule
    /// as virtio's event index): only when `event` lies in [old, value), circularly. Both sides
    /// wrap at 2^16; ring indexes wrap earlier, at the queue size, and the rule still holds
    /// because all three values lie below it.
    @inlinable @inline(__always)
    static func mustWrite(_ value: UInt16, old: UInt16, event: UInt16) -> Bool {
        value &- event &- 1 < value &- old
    }

    /// Writes `last` into the shadow slot and 0 into the EventIdx slot, for a queue the controller
    /// does not have yet (before it is created) or is just being told about (the admin queue's
    /// mirror, whose EventIdx is left alone).
    func syncSlots() {
        if let shadow { Self.storeSlot(last, at: shadow) }
        if let eventIndex { Self.storeSlot(0, at: eventIndex) }
    }

    /// A sequentially consistent store: on top of the store fence that orders the queue entries
    /// before it, it is the full barrier Linux's `mb()` is here - the shadow value must be visible
    /// before EventIdx is read, or host and controller can each miss the other's update.
    @inlinable @inline(__always)
    static func storeSlot(_ value: UInt16, at slot: UnsafeMutableRawPointer) {
        slot.assumingMemoryBound(to: Atomic<UInt32>.self).pointee.store(UInt32(value).littleEndian, ordering: .sequentiallyConsistent)
    }

    @inlinable @inline(__always)
    static func loadSlot(at slot: UnsafeMutableRawPointer) -> UInt16 {
        UInt16(truncatingIfNeeded: UInt32(littleEndian: slot.assumingMemoryBound(to: Atomic<UInt32>.self).pointee
            .load(ordering: .sequentiallyConsistent)))
    }
}

extension QueuePair {
    /// Announces `value` on `bell` (the caller has fenced the stores the value publishes):
    /// through the shadow slot and EventIdx when they are set, else straight to the register.
    /// Counts the register writes in `mmioDoorbellWrites`.
    @inlinable @inline(__always)
    func ring(_ bell: UnsafeMutablePointer<Doorbell>, _ value: UInt16) {
        let old = bell.pointee.last
        bell.pointee.last = value
        if let shadow = bell.pointee.shadow {
            Doorbell.storeSlot(value, at: shadow)
            if let eventIndex = bell.pointee.eventIndex,
               !Doorbell.mustWrite(value, old: old, event: Doorbell.loadSlot(at: eventIndex)) {
                return
            }
        }
        state.pointee.mmioDoorbellWrites &+= 1
        if let register = bell.pointee.register {
            cvfio_mmio_write32(register, UInt32(value))
        } else {
            device.writeRegister32(UInt32(value), at: bell.pointee.offset)
        }
    }

    /// Points this queue's doorbells at their shadow slots, or back at the registers alone (nil).
    /// Each shadow slot starts at the doorbell's current value and each EventIdx slot at 0, which
    /// is what the controller must find when it creates the queue. The admin queue only mirrors its
    /// values into its slots and always writes the registers. Runs on the owner thread (for the
    /// admin queue, under the admin lock), before the controller creates the queue.
    func useShadowDoorbells(_ buffers: ShadowDoorbells?) {
        let slots = buffers?.slots(queueID: Int(id))
        let mirrorOnly = id == 0
        submissionDoorbell.pointee.shadow = slots?.submissionShadow
        submissionDoorbell.pointee.eventIndex = mirrorOnly ? nil : slots?.submissionEventIndex
        completionDoorbell.pointee.shadow = slots?.completionShadow
        completionDoorbell.pointee.eventIndex = mirrorOnly ? nil : slots?.completionEventIndex
        submissionDoorbell.pointee.syncSlots()
        completionDoorbell.pointee.syncSlots()
    }

    /// Whether this queue's doorbells currently go through shadow slots and EventIdx.
    public var usesShadowDoorbells: Bool { submissionDoorbell.pointee.eventIndex != nil }
}

/// The two buffers of Doorbell Buffer Config (NVMe Base 2.0, admin opcode 7Ch, offered when
/// Identify Controller OACS bit 8 is set): the shadow doorbells the host writes, and the EventIdx
/// values the controller writes. Both are laid out like the doorbell registers: queue y's SQ tail
/// at 2y strides, its CQ head at 2y + 1 strides (a stride is 4 << CAP.DSTRD bytes). The controller
/// forgets them at every reset (CC.EN = 0), so recovery configures them again.
final class ShadowDoorbells: @unchecked Sendable {
    let shadow: DMABuffer
    let eventIndex: DMABuffer
    let stride: Int

    /// Room for queues 0...`highestQueueID`: at least one memory page each.
    init(mapper: DMAMapper, highestQueueID: Int, doorbellStride: Int, pageSize: Int) throws(ControllerError) {
        stride = 4 << doorbellStride
        let needed = (highestQueueID + 1) * 2 * stride
        let length = (needed + pageSize - 1) / pageSize * pageSize
        // Both ways for both buffers: controllers seed the shadow slots with the queues' current
        // values when configured (QEMU's nvme does), and may read EventIdx back.
        do {
            shadow = try mapper.allocate(length: length, access: .readWrite)
            eventIndex = try mapper.allocate(length: length, access: .readWrite)
        } catch {
            throw .dma(error, during: "allocating the shadow doorbell and EventIdx buffers (\(length) bytes each)")
        }
    }

    /// The Doorbell Buffer Config command naming both buffers.
    var command: SubmissionQueueEntry {
        .doorbellBufferConfig(shadowDoorbellIOVA: shadow.iova, eventIndexIOVA: eventIndex.iova)
    }

    struct Slots {
        var submissionShadow: UnsafeMutableRawPointer
        var submissionEventIndex: UnsafeMutableRawPointer
        var completionShadow: UnsafeMutableRawPointer
        var completionEventIndex: UnsafeMutableRawPointer
    }

    func slots(queueID: Int) -> Slots {
        let submission = 2 * queueID * stride
        return Slots(submissionShadow: shadow.address + submission, submissionEventIndex: eventIndex.address + submission,
                     completionShadow: shadow.address + submission + stride,
                     completionEventIndex: eventIndex.address + submission + stride)
    }
}
