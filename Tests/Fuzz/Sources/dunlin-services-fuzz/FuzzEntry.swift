import DunlinServicesFuzzing

/// libFuzzer's entry point: one input, one run of the services harness. Anything but a return is a
/// finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    ServicesFuzz.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
