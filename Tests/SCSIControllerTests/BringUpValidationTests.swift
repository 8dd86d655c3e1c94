import DMAMapper
import MockNVMe
import NVMe
import PCIDevice
import Testing
@testable import SCSIController

/// Values the device reports (or the caller gives) that would crash, overrun or hang the driver
/// are refused at bring-up with a named error; a failed bring-up leaves the controller disabled.
@Suite struct BringUpValidationTests {
    /// Brings a controller up through an interposed device and returns the error it throws.
    func bringUpError(_ configure: (inout MockConfiguration) -> Void = { _ in },
                      options: (inout ControllerOptions) -> Void = { _ in }, iommu: SoftwareIOMMU = SoftwareIOMMU(),
                      hooks: (inout InterposedDevice.Hooks) -> Void) -> (ControllerError?, MockController) {
        var configuration = MockConfiguration()
        configure(&configuration)
        let mock = MockController(configuration: configuration, iommu: iommu)
        let device = InterposedDevice(mock)
        device.configure(hooks)
        do {
            _ = try NVMeController(device: device, options: testOptions(options))
            return (nil, mock)
        } catch {
            return (error, mock)  // typed: bring-up throws nothing but ControllerError
        }
    }

    /// Whether the mock's controller is disabled (CC.EN = 0 and CSTS.RDY = 0).
    func isDisabled(_ mock: MockController) -> Bool {
        !ControllerConfiguration(rawValue: mock.readRegister32(at: ControllerRegister.cc)).en
            && !mock.status.rdy
    }

    static func changingCAP(_ change: @escaping @Sendable (inout ControllerCapabilities) -> Void) -> (inout InterposedDevice.Hooks) -> Void {
        { hooks in
            hooks.read64 = { offset, value in
                guard offset == ControllerRegister.cap else { return value }
                var cap = ControllerCapabilities(rawValue: value)
                change(&cap)
                return cap.rawValue
            }
        }
    }

    @Test func capMQESZeroIsRefusedByName() {
        let (error, mock) = bringUpError(hooks: Self.changingCAP { $0.mqes = 0 })
        guard case let .unusableValue(key, value, rule) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(key == .field("CAP.MQES") && value == "0" && rule.contains("at least 2 entries"))
        #expect(isDisabled(mock))
    }

    @Test func doorbellStrideBeyondTheRegisterSpaceIsRefused() {
        let (error, mock) = bringUpError(hooks: Self.changingCAP { $0.dstrd = 12 })
        guard case let .unusableValue(key, value, rule) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(key == .field("CAP.DSTRD") && value == "12")
        #expect(rule.contains("\(mock.registerSpaceSize)-byte register space"))
        #expect(isDisabled(mock))
    }

    /// Doorbells 1 KiB apart in a 16 KiB BAR: queues 0...5 fit (the last CQ doorbell ends at
    /// 0x1000 + 11 KiB + 4), queue 6 would not, so 8 asked for give 5.
    @Test func onlyQueuesWhoseDoorbellsFitAreCreated() throws {
        let rig = try Rig({ $0.doorbellStride = 8; $0.ioQueueCount = 16 }, options: { $0.ioQueueCount = 8 },
                          interposed: { $0.registerSpaceSize = 16 << 10 })
        #expect(rig.controller.ioQueues.map(\.id) == [1, 2, 3, 4, 5])
        let sink = try rig.controller.mapper.allocate(length: 4096)
        #expect(rig.controller.ioQueues[4].read(nsid: rig.nsid, lba: 0, blocks: 8, into: sink).succeeded)
    }

    /// LBADS outside 9...16 (a block size of 2^LBADS bytes) would divide by zero or overflow later.
    @Test(arguments: [UInt8(0), 3, 8, 17, 64])
    func aNamespaceWithAnUnusableBlockSizeIsReportedAndSkipped(lbads: UInt8) throws {
        let rig = try Rig({ $0.namespaces = [MockNamespace(blockCount: 1000), MockNamespace(blockCount: 1000)] },
                          interposed: { hooks in
                              hooks.patchAdminData = { entry, data in
                                  guard entry.opcode == AdminOpcode.identify.rawValue, entry.cdw10 & 0xFF == 0, entry.nsid == 2 else { return }
                                  data[IdentifyNamespace.Offset.lbaf + 2] = lbads
                              }
                          })
        #expect(rig.controller.namespaces.map(\.id) == [1])
        let skipped = try #require(rig.controller.unusableNamespaces.first)
        #expect(skipped.id == 2)
        guard case let .unusableValue(key, value, rule) = skipped.reason else { Issue.record("got \(skipped.reason)"); return }
        #expect(key == .field("Identify Namespace 2 LBAF0.LBADS") && value == "\(lbads)" && rule.contains("9...16"))
        let sink = try rig.controller.mapper.allocate(length: 4096)
        #expect(rig.queue.read(nsid: 1, lba: 0, blocks: 8, into: sink).succeeded)
        #expect(rig.queue.read(nsid: 2, lba: 0, blocks: 8, into: sink).error == .requestRefused(reason: "no active namespace 2"))
    }

    @Test func withNoUsableNamespaceBringUpFailsSayingWhy() {
        let (error, mock) = bringUpError(hooks: { hooks in
            hooks.patchAdminData = { entry, data in
                if entry.opcode == AdminOpcode.identify.rawValue, entry.cdw10 & 0xFF == 0 { data[IdentifyNamespace.Offset.lbaf + 2] = 0 }
            }
        })
        guard case let .unsupported(what) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(what.contains("no usable active namespace") && what.contains("LBADS"))
        #expect(isDisabled(mock))
    }

    /// MDTS 40 would be 4 TiB per command: capped at 8 MiB, and a 16 MiB + 4 KiB request is three commands.
    @Test func mdtsIsCappedAtTheDriverMaximum() throws {
        let rig = try Rig({ $0.mdts = 0; $0.namespaces = [MockNamespace(blockCount: 1 << 16, blockSize: 4096)] },
                          options: { $0.dataPointerMode = .prp },
                          interposed: { hooks in
                              hooks.patchAdminData = { entry, data in
                                  if entry.opcode == AdminOpcode.identify.rawValue, entry.cdw10 & 0xFF == 1 {
                                      data[IdentifyController.Offset.mdts] = 40
                                  }
                              }
                          })
        #expect(rig.controller.identify.mdts == 40)
        #expect(rig.controller.maximumCommandBytes == DeviceValidation.maximumCommandBytesCap)
        let bytes = (16 << 20) + 4096
        let source = try rig.patterned(bytes: bytes, seed: 40)
        let written = rig.queue.write(nsid: rig.nsid, lba: 0, blocks: bytes / 4096, from: source)
        #expect(written.succeeded && written.commands == 3)
        let sink = try rig.controller.mapper.allocate(length: bytes)
        #expect(rig.queue.read(nsid: rig.nsid, lba: 0, blocks: bytes / 4096, into: sink).succeeded)
        #expect(same(source.address, sink.address, count: bytes))
    }

    @Test func unreasonableOptionsAreRefusedAtStart() {
        func refusal(_ change: @escaping (inout ControllerOptions) -> Void) -> (String, String)? {
            guard case let .unusableValue(.field(key), value, _) = bringUpError(options: change, hooks: { _ in }).0 else { return nil }
            return (key, value)
        }
        #expect(refusal { $0.pageSize = 12288 }! == ("ControllerOptions.pageSize", "12288"))
        #expect(refusal { $0.pageSize = 2048 }! == ("ControllerOptions.pageSize", "2048"))
        #expect(refusal { $0.maximumCommandBytesWhenUnlimited = 64 << 20 }! == ("ControllerOptions.maximumCommandBytesWhenUnlimited", "\(64 << 20)"))
        #expect(refusal { $0.ioQueueDepth = 1 }! == ("ControllerOptions.ioQueueDepth", "1"))
        #expect(refusal { $0.commandTimeoutMilliseconds = 0 }! == ("ControllerOptions.commandTimeoutMilliseconds", "0"))
    }

    /// RTD3E (Identify Controller bytes 91:88, microseconds) bounds the shutdown wait when reported.
    @Test func rtd3eSetsTheShutdownBound() throws {
        let reported = try Rig(options: { $0.shutdownTimeoutMilliseconds = 1234 }, interposed: { hooks in
            hooks.patchAdminData = { entry, data in
                if entry.opcode == AdminOpcode.identify.rawValue, entry.cdw10 & 0xFF == 1 {
                    data.storeBytes(of: UInt32(250_500).littleEndian, toByteOffset: 88, as: UInt32.self)
                }
            }
        })
        #expect(reported.controller.shutdownMilliseconds == 251)
        let unreported = try Rig(options: { $0.shutdownTimeoutMilliseconds = 1234 })
        #expect(unreported.controller.shutdownMilliseconds == 1234)
    }

    @Test func enableThatNeverSetsReadyTimesOutNamingTheRegisters() {
        let (error, mock) = bringUpError({ $0.timeout = 1 }, hooks: { hooks in
            hooks.read32 = { offset, value in offset == ControllerRegister.csts ? value & ~1 : value }
        })
        guard case let .readyTimeout(expected, milliseconds, cap, cc, csts) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(expected && milliseconds == 500)
        #expect(ControllerConfiguration(rawValue: cc).en && !ControllerStatus(rawValue: csts).rdy)
        let text = "\(error!)"
        #expect(text.contains("CAP=0x\(String(cap, radix: 16, uppercase: true))") && text.contains("CC=0x") && text.contains("CSTS=0x"))
        #expect(isDisabled(mock))
    }

    @Test func fatalStatusWhileEnablingIsNamed() {
        let (error, mock) = bringUpError(hooks: { hooks in
            hooks.read32 = { offset, value in offset == ControllerRegister.csts && value & 1 == 1 ? value | 0b10 : value }
        })
        guard case let .controllerFatal(during, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(during == "enable" && "\(error!)".contains("CSTS.CFS"))
        #expect(!ControllerConfiguration(rawValue: mock.readRegister32(at: ControllerRegister.cc)).en)
    }

    /// The controller fails right after Identify Controller: the next admin command is never
    /// answered, the wait sees CSTS.CFS and says so, and the controller is disabled again.
    @Test func fatalStatusDuringIdentifyIsNamedAndTheControllerDisabled() {
        let mock = MockController()
        let device = InterposedDevice(mock)
        device.configure { hooks in
            hooks.patchAdminData = { [mock] entry, _ in
                if entry.opcode == AdminOpcode.identify.rawValue, entry.cdw10 & 0xFF == 1 { mock.inject(.controllerFatal) }
            }
        }
        do {
            _ = try NVMeController(device: device, options: testOptions())
            Issue.record("bring-up survived a fatal controller")
        } catch {
            guard case let .controllerFatal(during, _) = error else { Issue.record("got \(error)"); return }
            #expect(during.hasPrefix("Identify Active Namespace List"))
        }
        #expect(isDisabled(mock))
    }

    @Test func aFailedIdentifyLeavesTheControllerDisabled() {
        let mock = MockController()
        mock.inject(.failCommands(.admin(.identify, count: 1), status: CompletionStatus(.internalError)))
        do {
            _ = try NVMeController(device: mock, options: testOptions())
            Issue.record("bring-up ignored a failed Identify")
        } catch {
            guard case let .adminCommandFailed(command, _) = error else { Issue.record("got \(error)"); return }
            #expect(command == "Identify Controller")
        }
        #expect(isDisabled(mock))
        #expect(mock.dmaFaults.isEmpty)
    }

    /// 256 KiB of IOVA space holds the admin queue but not queue 1's PRP list pages: the
    /// allocation fails after the controller was enabled, which is disabled again first.
    @Test func anAllocationFailureAfterEnableLeavesTheControllerDisabled() {
        let iommu = SoftwareIOMMU(iovaRanges: [IOVARange(first: 1 << 20, last: (1 << 20) + (256 << 10) - 1)])
        let (error, mock) = bringUpError(options: { $0.dataPointerMode = .prp }, iommu: iommu, hooks: { _ in })
        guard case let .dma(cause, during) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(during.hasPrefix("allocating queue 1 "))
        guard case .iova(.exhausted) = cause else { Issue.record("got \(cause)"); return }
        // The message names the step and the allocator's reason, with the largest block left.
        let text = ControllerError.dma(cause, during: during).description
        #expect(text.hasPrefix("DMA: allocating queue 1 ") && text.contains("IOVA space exhausted") && text.contains("largest free block"))
        #expect(isDisabled(mock))
        #expect(mock.dmaFaults.isEmpty)
    }

    /// Identify CNS 02h lists at most 1024 IDs: the next list starts after the last one.
    @Test func moreThan1024NamespacesAreAllFound() throws {
        let rig = try Rig({ $0.namespaces = Array(repeating: MockNamespace(blockCount: 64), count: 1030) }, interposed: { _ in })
        #expect(rig.controller.namespaces.map(\.id) == Array(1...1030))
        let lists = rig.device!.adminCommands.filter { $0.opcode == AdminOpcode.identify.rawValue && $0.cdw10 & 0xFF == 2 }
        #expect(lists.map(\.nsid) == [0, 1024])
    }

    /// Before NVMe 1.1 there is no active namespace list: IDs 1...NN are tried one by one.
    @Test func aPre11ControllerIsScannedOneByOne() throws {
        let rig = try Rig({ $0.namespaces = Array(repeating: MockNamespace(blockCount: 64), count: 3) }, interposed: { hooks in
            hooks.read32 = { offset, value in offset == ControllerRegister.vs ? ControllerVersion(major: 1, minor: 0).rawValue : value }
        })
        #expect(rig.controller.version.minor == 0)
        #expect(rig.controller.namespaces.map(\.id) == [1, 2, 3])
        #expect(!rig.device!.adminCommands.contains { $0.opcode == AdminOpcode.identify.rawValue && $0.cdw10 & 0xFF == 2 })
    }
}
