// swift-tools-version: 6.1
// A libFuzzer harness over DunlinWire's decoder, kept out of the main build: it is its own package,
// so `swift build` at the repository root never compiles it. See README.md for how to run it.
import PackageDescription

let package = Package(
    name: "DunlinFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Dunlin", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        // zlib's own inflate, called directly: the reference the harness checks
        // MessageCompression.decompress against.
        .systemLibrary(name: "CZlibReference", path: "Sources/CZlibReference"),
        // The harness logic, free of libFuzzer, so it can also be linked into a plain replay tool.
        .target(
            name: "DunlinWireFuzzing",
            dependencies: [
                "CZlibReference",
                .product(name: "DunlinWire", package: "Dunlin"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The libFuzzer entry point. Build with `--sanitize=fuzzer` (build.sh): libFuzzer supplies
        // `main`, so this module is parsed as a library and defines only LLVMFuzzerTestOneInput.
        .executableTarget(
            name: "dunlin-wire-fuzz",
            dependencies: ["DunlinWireFuzzing"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
