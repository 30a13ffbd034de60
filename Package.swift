// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Dunlin",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DunlinCore", targets: ["DunlinCore"]),
        .library(name: "DunlinWire", targets: ["DunlinWire"]),
        .library(name: "DunlinSync", targets: ["DunlinSync"]),
        .library(name: "DunlinStore", targets: ["DunlinStore"]),
        .library(name: "DunlinServer", targets: ["DunlinServer"]),
        .library(name: "DunlinClient", targets: ["DunlinClient"]),
        .executable(name: "dunlind", targets: ["dunlind"]),
        .executable(name: "dunlin", targets: ["dunlin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        .target(name: "DunlinCore"),
        .target(name: "DunlinSync", dependencies: ["DunlinCore"]),
        .target(
            name: "DunlinStore",
            dependencies: [
                "DunlinCore", "DunlinSync",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "DunlinWire",
            dependencies: [
                "DunlinCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ]
        ),
        .target(
            name: "DunlinServer",
            dependencies: [
                "DunlinWire", "DunlinCore", "DunlinStore", "DunlinSync",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "DunlinClient",
            dependencies: [
                "DunlinWire", "DunlinCore", "DunlinSync", "DunlinStore", "DunlinServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "dunlind",
            dependencies: [
                "DunlinServer", "DunlinStore", "DunlinCore", "DunlinWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Server/dunlind"
        ),
        .executableTarget(
            name: "dunlin",
            dependencies: [
                "DunlinClient", "DunlinCore", "DunlinWire", "DunlinSync", "DunlinStore", "DunlinServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Clients/dunlin"
        ),
        .testTarget(
            name: "DunlinWireTests",
            dependencies: [
                "DunlinWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "DunlinCoreTests", dependencies: ["DunlinCore"]),
        .testTarget(name: "DunlinSyncTests", dependencies: ["DunlinSync", "DunlinCore"]),
        .testTarget(name: "DunlinClientTests", dependencies: ["DunlinClient", "DunlinCore", "DunlinWire"]),
        .testTarget(
            name: "DunlinStoreTests",
            dependencies: ["DunlinStore", "DunlinCore", "DunlinServer", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "DunlinWire", "DunlinServer", "DunlinClient", "DunlinCore", "DunlinStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
