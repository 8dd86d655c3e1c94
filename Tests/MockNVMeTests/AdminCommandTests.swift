import DMAMapper
import MockNVMe
import NVMe
import Testing

@Suite("Admin commands")
struct AdminCommandTests {
    @Test func identifyController() throws {
        var configuration = MockConfiguration()
        configuration.serialNumber = "SN-42"
        configuration.modelNumber = "Test Model"
        configuration.firmwareRevision = "FW9"
        configuration.mdts = 6
        configuration.namespaces = [MockNamespace(blockCount: 1000), MockNamespace(blockCount: 2000, blockSize: 4096)]
        let harness = try Harness(configuration)
        let buffer = try harness.allocate(4096)
        let completion = harness.execute(.identify(.controller), buffer: buffer)
        #expect(completion.status.isSuccess)
        let data = IdentifyController(bytes: UnsafeRawBufferPointer(start: buffer.address, count: 4096))
        #expect(data.serialNumber == "SN-42")
        #expect(data.modelNumber == "Test Model")
        #expect(data.firmwareRevision == "FW9")
        #expect(data.mdts == 6)
        #expect(data.nn == 2)
        #expect(data.sqes == 0x66 && data.cqes == 0x44)
        #expect(data.volatileWriteCachePresent)
        #expect(data.supportsSGL)
        #expect(data.supportsCompareAndWrite)
        #expect(data.oncs.contains([.compare, .datasetManagement, .writeZeroes, .verify]))
    }

    @Test func identifyNamespaceAndList() throws {
        var configuration = MockConfiguration()
        configuration.namespaces = [MockNamespace(blockCount: 1000), MockNamespace(blockCount: 2000, blockSize: 4096)]
        let harness = try Harness(configuration)
        let buffer = try harness.allocate(4096)
        #expect(harness.execute(.identify(.namespace, nsid: 2), buffer: buffer).status.isSuccess)
        let namespace = IdentifyNamespace(bytes: UnsafeRawBufferPointer(start: buffer.address, count: 4096))
        #expect(namespace.nsze == 2000 && namespace.ncap == 2000)
        #expect(namespace.blockSize == 4096)
        #expect(namespace.deallocatedBlocksReadZero)

        #expect(harness.execute(.identify(.namespace, nsid: 3), buffer: buffer).status.matches(.invalidNamespaceOrFormat))
        #expect(harness.execute(.identify(.namespace, nsid: 0), buffer: buffer).status.matches(.invalidNamespaceOrFormat))

        #expect(harness.execute(.identify(.activeNamespaceList, nsid: 0), buffer: buffer).status.isSuccess)
        let list = UnsafeRawBufferPointer(start: buffer.address, count: 12)
        #expect(list.load(fromByteOffset: 0, as: UInt32.self) == 1)
        #expect(list.load(fromByteOffset: 4, as: UInt32.self) == 2)
        #expect(list.load(fromByteOffset: 8, as: UInt32.self) == 0)
        #expect(harness.execute(.identify(.activeNamespaceList, nsid: 1), buffer: buffer).status.isSuccess)
        #expect(list.load(fromByteOffset: 0, as: UInt32.self) == 2)
        #expect(harness.execute(.identify(.activeNamespaceList, nsid: 0xFFFF_FFFF), buffer: buffer).status.matches(.invalidNamespaceOrFormat))
        // A CNS value the controller does not implement (05h, I/O Command Set specific namespace).
        var unknownCNS = SubmissionQueueEntry.identify(.controller)
        unknownCNS.cdw10 = 0x05
        #expect(harness.execute(unknownCNS, buffer: buffer).status.matches(.invalidFieldInCommand))
    }

    /// NVMe Base 2.0, 5.27.1.5: NSQA/NCQA (0's based) may be fewer than requested; the value
    /// allocated does not change between resets; NSQR/NCQR = FFFFh is Invalid Field (02h); after
    /// an I/O queue exists, Set Features Number of Queues is a Command Sequence Error (0Ch).
    @Test func numberOfQueuesIsAllocatedOncePerReset() throws {
        var configuration = MockConfiguration()
        configuration.ioQueueCount = 8
        let harness = try Harness(configuration)
        let small = try harness.execute(.setNumberOfQueues(submissionQueueCount: 4, completionQueueCount: 2))
        #expect(small.status.isSuccess)
        #expect(small.dw0 & 0xFFFF == 3 && small.dw0 >> 16 == 1)
        // A second request before any queue exists: the allocation stands.
        let again = try harness.execute(.setNumberOfQueues(submissionQueueCount: 100, completionQueueCount: 100))
        #expect(again.status.isSuccess)
        #expect(again.dw0 == 0x0001_0003)
        #expect(harness.execute(.getFeatures(.numberOfQueues)).dw0 == 0x0001_0003)
        #expect(harness.execute(.getFeatures(.numberOfQueues, select: 1)).dw0 == 0x0007_0007)  // default
        // 65536 queues (FFFFh 0's based) is an invalid value.
        #expect(harness.execute(.setFeatures(.numberOfQueues, value: 0xFFFF)).status.matches(.invalidFieldInCommand))
        #expect(harness.execute(.setFeatures(.numberOfQueues, value: 0xFFFF_0000)).status.matches(.invalidFieldInCommand))
        // After an I/O queue exists the number cannot change.
        try harness.createQueuePair(1)
        let late = try harness.execute(.setNumberOfQueues(submissionQueueCount: 2, completionQueueCount: 2))
        #expect(late.status.matches(.commandSequenceError))
        #expect(late.status.code == 0x0C && late.status.type == .generic)

        // A reset (CC.EN 1 -> 0) ends the allocation: the next request is granted afresh.
        try harness.resetController()
        #expect(harness.execute(.getFeatures(.numberOfQueues)).dw0 == 0x0007_0007)
        #expect(try harness.execute(.setNumberOfQueues(submissionQueueCount: 100, completionQueueCount: 3)).dw0 == 0x0002_0007)
    }

    @Test func grantedCountLimitsQueueIdentifiers() throws {
        let harness = try Harness()
        _ = try harness.execute(.setNumberOfQueues(submissionQueueCount: 2, completionQueueCount: 2))
        #expect(try harness.createQueuePair(2) == (.success, .success))
        let (cq, _) = try harness.createQueuePair(3)
        #expect(cq.matches(.invalidQueueIdentifier))
    }

    @Test func volatileWriteCacheFeature() throws {
        let harness = try Harness()
        #expect(harness.execute(.getFeatures(.volatileWriteCache)).dw0 == 1)
        #expect(harness.execute(.setFeatures(.volatileWriteCache, value: 0)).status.isSuccess)
        #expect(harness.execute(.getFeatures(.volatileWriteCache)).dw0 == 0)

        var absent = MockConfiguration()
        absent.volatileWriteCache = false
        let noCache = try Harness(absent)
        #expect(noCache.execute(.getFeatures(.volatileWriteCache)).status.matches(.invalidFieldInCommand))
        #expect(noCache.execute(.setFeatures(.volatileWriteCache, value: 1)).status.matches(.invalidFieldInCommand))
    }

    @Test func arbitrationFeatureAndUnknownFeature() throws {
        let harness = try Harness()
        #expect(harness.execute(.setFeatures(.arbitration, value: 0x0302_0103)).status.isSuccess)
        #expect(harness.execute(.getFeatures(.arbitration)).dw0 == 0x0302_0103)
        #expect(harness.execute(.getFeatures(.arbitration, select: 1)).dw0 == 0)
        #expect(harness.execute(.getFeatures(.temperatureThreshold)).status.matches(.invalidFieldInCommand))
        #expect(harness.execute(.setFeatures(.arbitration, value: 0, save: true)).status.matches(.featureIdentifierNotSaveable))
    }

    @Test func createQueueValidation() throws {
        var configuration = MockConfiguration()
        configuration.mqes = 63
        configuration.ioQueueCount = 4
        let harness = try Harness(configuration)
        let memory = try harness.allocate(64 * 64)
        func createCQ(_ id: UInt16, _ entries: Int, contiguous: Bool = true) throws -> CompletionStatus {
            var entry = try SubmissionQueueEntry.createIOCompletionQueue(id: id, entryCount: entries, baseIOVA: memory.iova)
            if !contiguous { entry.cdw11 &= ~1 }
            return harness.execute(entry).status
        }
        func createSQ(_ id: UInt16, _ entries: Int, cq: UInt16) throws -> CompletionStatus {
            try harness.execute(.createIOSubmissionQueue(id: id, entryCount: entries, baseIOVA: memory.iova, completionQueueID: cq)).status
        }
        // A one-entry queue, QSIZE 0h (CDW10 bits 31:16, 0's based), is an Invalid Queue Size: a
        // full queue is one entry short of its size, so it could never hold a command. The builders
        // refuse to encode it, so these commands are built valid and given the field's raw value.
        var oneEntryCQ = try SubmissionQueueEntry.createIOCompletionQueue(id: 1, entryCount: 16, baseIOVA: memory.iova)
        oneEntryCQ.cdw10 = 0x0000_0001  // QSIZE 0h, QID 1
        var oneEntrySQ = try SubmissionQueueEntry.createIOSubmissionQueue(id: 1, entryCount: 16, baseIOVA: memory.iova,
                                                                          completionQueueID: 1)
        oneEntrySQ.cdw10 = 0x0000_0001  // QSIZE 0h, QID 1

        #expect(try createCQ(0, 16).matches(.invalidQueueIdentifier))
        #expect(try createCQ(5, 16).matches(.invalidQueueIdentifier))
        #expect(harness.execute(oneEntryCQ).status.matches(.invalidQueueSize))
        #expect(try createCQ(1, 65).matches(.invalidQueueSize))  // one more than CAP.MQES (63, 0's based) allows
        #expect(try createCQ(1, 16, contiguous: false).matches(.invalidFieldInCommand))
        #expect(try createCQ(1, 64).isSuccess)
        #expect(try createCQ(1, 16).matches(.invalidQueueIdentifier))

        #expect(try createSQ(0, 16, cq: 1).matches(.invalidQueueIdentifier))
        #expect(try createSQ(5, 16, cq: 1).matches(.invalidQueueIdentifier))
        #expect(harness.execute(oneEntrySQ).status.matches(.invalidQueueSize))
        #expect(try createSQ(1, 65, cq: 1).matches(.invalidQueueSize))
        #expect(try createSQ(1, 16, cq: 2).matches(.completionQueueInvalid))
        #expect(try createSQ(1, 16, cq: 0).matches(.completionQueueInvalid))
        #expect(try createSQ(1, 16, cq: 1).isSuccess)
        #expect(try createSQ(1, 16, cq: 1).matches(.invalidQueueIdentifier))

        #expect(harness.execute(.deleteIOCompletionQueue(id: 1)).status.matches(.invalidQueueDeletion))
        #expect(harness.execute(.deleteIOSubmissionQueue(id: 0)).status.matches(.invalidQueueIdentifier))
        #expect(harness.execute(.deleteIOCompletionQueue(id: 0)).status.matches(.invalidQueueIdentifier))
        #expect(harness.execute(.deleteIOSubmissionQueue(id: 2)).status.matches(.invalidQueueIdentifier))
        #expect(harness.execute(.deleteIOSubmissionQueue(id: 1)).status.isSuccess)
        #expect(harness.execute(.deleteIOCompletionQueue(id: 1)).status.isSuccess)
        #expect(harness.execute(.deleteIOCompletionQueue(id: 1)).status.matches(.invalidQueueIdentifier))
    }

    @Test func queueEntrySizesAreCheckedAtCreation() throws {
        let harness = try Harness(enable: false)
        var cc = ControllerConfiguration()
        cc.en = true
        harness.controller.writeRegister32(cc.rawValue, at: ControllerRegister.cc)  // IOSQES = IOCQES = 0
        #expect(harness.csts.rdy)
        let memory = try harness.allocate(4096)
        #expect(try harness.execute(.createIOCompletionQueue(id: 1, entryCount: 16, baseIOVA: memory.iova)).status.matches(.invalidFieldInCommand))
    }

    @Test func nonContiguousQueuesWhenAllowed() throws {
        var configuration = MockConfiguration()
        configuration.contiguousQueuesRequired = false
        let harness = try Harness(configuration)
        // A 512-entry SQ spans 8 pages; PRP1 points to the list of them (here in reverse order,
        // so only a device that follows the list finds the entries where the host put them).
        let pair = try Harness.QueuePair(id: 1, mapper: harness.mapper, sqEntries: 512, cqEntries: 256)
        let list = try harness.allocate(4096)
        let order = Array((0..<8).reversed())
        for (index, page) in order.enumerated() {
            list.address.storeBytes(of: pair.sq.iova + UInt64(page * 4096), toByteOffset: index * 8, as: UInt64.self)
        }
        var cq = try SubmissionQueueEntry.createIOCompletionQueue(id: 1, entryCount: 256, baseIOVA: list.iova)
        cq.cdw11 &= ~1
        let cqList = try harness.allocate(4096)
        cqList.address.storeBytes(of: pair.cq.iova, toByteOffset: 0, as: UInt64.self)
        cq.dptr1 = cqList.iova
        #expect(harness.execute(cq).status.isSuccess)
        var sq = try SubmissionQueueEntry.createIOSubmissionQueue(id: 1, entryCount: 512, baseIOVA: list.iova, completionQueueID: 1)
        sq.cdw11 &= ~1
        #expect(harness.execute(sq).status.isSuccess)
        // Entry 64 lives in host page 1, which the list names 7th: put it where the list says.
        harness.queues[1] = pair
        let buffer = try harness.allocate(4096)
        var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 1)
        read.dptr1 = buffer.iova
        read.commandID = 77
        let slotOffset = 7 * 4096  // list entry 0 -> host page 7
        pair.sq.address.storeBytes(of: read, toByteOffset: slotOffset, as: SubmissionQueueEntry.self)
        harness.controller.writeRegister32(1, at: ControllerRegister.submissionTailDoorbell(queueID: 1, stride: 0))
        let completions = harness.poll(qid: 1)
        #expect(completions.map(\.commandID) == [77])
        #expect(completions.first?.status.isSuccess == true)
    }

    @Test func logPages() throws {
        let harness = try Harness()
        try harness.createQueuePair(1)
        try harness.writePattern(lba: 0, blocks: 8, seed: 1)
        try harness.writePattern(lba: 8, blocks: 1, seed: 2)
        _ = try harness.read(lba: 0, blocks: 4)
        // One failing command for the error log.
        #expect(harness.execute(.io(.read, nsid: 9, lba: 0, blocks: 1), qid: 1).status.matches(.invalidNamespaceOrFormat))

        let buffer = try harness.allocate(4096)
        #expect(try harness.execute(.getLogPage(.smartHealth, byteCount: 512), buffer: buffer).status.isSuccess)
        let smart = UnsafeRawBufferPointer(start: buffer.address, count: 512)
        #expect(smart.load(fromByteOffset: 32, as: UInt64.self) == 1)  // 4 units read: 1 thousand, rounded up
        #expect(smart.load(fromByteOffset: 48, as: UInt64.self) == 1)
        #expect(smart.load(fromByteOffset: 64, as: UInt64.self) == 1)  // host read commands: the one that reached the media
        #expect(smart.load(fromByteOffset: 80, as: UInt64.self) == 2)  // host write commands

        #expect(try harness.execute(.getLogPage(.errorInformation, byteCount: 64), buffer: buffer).status.isSuccess)
        let error = UnsafeRawBufferPointer(start: buffer.address, count: 64)
        #expect(error.load(fromByteOffset: 0, as: UInt64.self) == 1)
        #expect(error.load(fromByteOffset: 8, as: UInt16.self) == 1)  // SQID
        let status = CompletionStatus(rawValue: error.load(fromByteOffset: 12, as: UInt16.self) >> 1)
        #expect(status.matches(.invalidNamespaceOrFormat))

        #expect(try harness.execute(.getLogPage(.firmwareSlot, byteCount: 512), buffer: buffer).status.matches(.invalidLogPage))
        #expect(try harness.execute(.getLogPage(.smartHealth, byteCount: 512, nsid: 1), buffer: buffer).status.matches(.invalidFieldInCommand))
    }

    @Test func abortHeldCommandAndMissingCommand() throws {
        let harness = try Harness()
        try harness.createQueuePair(1)
        harness.controller.inject(.neverComplete(.io(.read, count: 1)))
        let buffer = try harness.allocate(4096)
        var read = SubmissionQueueEntry.io(.read, nsid: 1, lba: 0, blocks: 1)
        read.dptr1 = buffer.iova
        let victim = harness.submit(read, qid: 1)
        #expect(harness.poll(qid: 1).isEmpty)
        #expect(harness.controller.statistics.heldCommands == 1)

        let abort = harness.execute(.abort(queueID: 1, commandID: victim))
        #expect(abort.status.isSuccess)
        #expect(abort.dw0 & 1 == 0)
        let aborted = harness.poll(qid: 1)
        #expect(aborted.count == 1)
        #expect(aborted.first?.commandID == victim)
        #expect(aborted.first?.status.matches(.abortRequested) == true)

        let notFound = harness.execute(.abort(queueID: 1, commandID: 999))
        #expect(notFound.status.isSuccess)
        #expect(notFound.dw0 & 1 == 1)
    }

    @Test func unknownAdminOpcode() throws {
        let harness = try Harness()
        var entry = SubmissionQueueEntry()
        entry.opcode = 0x7F
        #expect(harness.execute(entry).status.matches(.invalidCommandOpcode))
        // Admin commands must use PRPs.
        var sgl = SubmissionQueueEntry.identify(.controller)
        sgl.psdt = .sglContiguousMetadata
        #expect(harness.execute(sgl).status.matches(.invalidFieldInCommand))
    }

    @Test func deletingSubmissionQueueAbortsHeldCommands() throws {
        let harness = try Harness()
        try harness.createQueuePair(1)
        harness.controller.inject(.neverComplete(.io(.flush)))
        let held = harness.submit(.flush(nsid: 1), qid: 1)
        #expect(harness.execute(.deleteIOSubmissionQueue(id: 1)).status.isSuccess)
        let completions = harness.poll(qid: 1)
        #expect(completions.map(\.commandID) == [held])
        #expect(completions.first?.status.matches(.abortedSQDeletion) == true)
    }
}
