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
/// previous value and the new one - what it asked to be told about. The write itself
/// (`QueuePair.ring`, with the EventIdx rule) is on the hot path, in QueuePair.swift; this file
/// holds the doorbell's state and its setup.
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

    /// Writes `last` into the shadow slot and 0 into the EventIdx slot, for a queue the controller
    /// does not have yet (before it is created) or is just being told about (the admin queue's
    /// mirror, whose EventIdx is left alone).
    func syncSlots() {
        if let shadow { Self.storeSlot(last, at: shadow) }
        if let eventIndex { Self.storeSlot(0, at: eventIndex) }
    }
}

extension QueuePair {
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
