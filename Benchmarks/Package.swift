// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "DunlinBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Dunlin", path: ".."),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                .product(name: "DunlinCore", package: "Dunlin"),
                .product(name: "DunlinStore", package: "Dunlin"),
                .product(name: "DunlinWire", package: "Dunlin"),
                .product(name: "DunlinClient", package: "Dunlin"),
                .product(name: "DunlinServer", package: "Dunlin"),
                .product(name: "DunlinServices", package: "Dunlin"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "RPCBenchmarks",
            dependencies: [
                .product(name: "DunlinWire", package: "Dunlin"),
                .product(name: "DunlinStore", package: "Dunlin"),
                .product(name: "DunlinServer", package: "Dunlin"),
                .product(name: "DunlinClient", package: "Dunlin"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "StoreBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "DunlinCore", package: "Dunlin"),
                .product(name: "DunlinStore", package: "Dunlin"),
                .product(name: "DunlinWire", package: "Dunlin"),
                .product(name: "DunlinServices", package: "Dunlin"),
                .product(name: "DunlinServer", package: "Dunlin"),
                .product(name: "DunlinClient", package: "Dunlin"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "SyncBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "DunlinCore", package: "Dunlin"),
                .product(name: "DunlinStore", package: "Dunlin"),
                .product(name: "DunlinWire", package: "Dunlin"),
                .product(name: "DunlinServices", package: "Dunlin"),
                .product(name: "DunlinServer", package: "Dunlin"),
                .product(name: "DunlinClient", package: "Dunlin"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "CollectionsBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "DunlinCore", package: "Dunlin"),
                .product(name: "DunlinStore", package: "Dunlin"),
                .product(name: "DunlinWire", package: "Dunlin"),
                .product(name: "DunlinServices", package: "Dunlin"),
                .product(name: "DunlinServer", package: "Dunlin"),
                .product(name: "DunlinClient", package: "Dunlin"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "CashBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "DunlinCore", package: "Dunlin"),
                .product(name: "DunlinStore", package: "Dunlin"),
                .product(name: "DunlinWire", package: "Dunlin"),
                .product(name: "DunlinServices", package: "Dunlin"),
                .product(name: "DunlinClient", package: "Dunlin"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Load and soak against a real dunlind process (issue 15 item 6).
        .executableTarget(
            name: "LoadBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "DunlinStore", package: "Dunlin"),
                .product(name: "DunlinWire", package: "Dunlin"),
                .product(name: "DunlinClient", package: "Dunlin"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
