// swift-tools-version: 6.1
// libFuzzer harnesses, kept out of the main build: this is its own package, so `swift build` at the
// repository root never compiles them. dunlin-wire-fuzz drives bytes through DunlinWire's decoder
// and state machine; dunlin-services-fuzz drives decoded requests through the tenant services on
// an in-memory store. See README.md for how to run them.
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
        // The services harness: requests through the handlers, as a replica calls them offline.
        .target(
            name: "DunlinServicesFuzzing",
            dependencies: [
                .product(name: "DunlinServices", package: "Dunlin"),
                .product(name: "DunlinStore", package: "Dunlin"),
                .product(name: "DunlinWire", package: "Dunlin"),
                .product(name: "DunlinCore", package: "Dunlin"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .executableTarget(
            name: "dunlin-services-fuzz",
            dependencies: ["DunlinServicesFuzzing"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
