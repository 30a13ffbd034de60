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
        .library(name: "DunlinServices", targets: ["DunlinServices"]),
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
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/drmohundro/SWXMLHash.git", from: "8.1.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // TLS (issue 15): the transport, and the server's self-signed certificate made at init.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
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
                .product(name: "Mustache", package: "swift-mustache"),
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
        // The tenant services as handlers over a store, with no transport: the server runs them
        // behind the network, the replica in process.
        .target(
            name: "DunlinServices",
            dependencies: [
                "DunlinCore", "DunlinSync", "DunlinStore", "DunlinWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                // ISO 20022 bank files (camt.053/054), read in Cash/Camt.swift.
                .product(name: "SWXMLHash", package: "SWXMLHash"),
            ]
        ),
        // Certificates and their checks, shared by the server and the client, with no sockets:
        // fingerprints, self-signed certificates, the client's verdict on a server's chain, the
        // TLS contexts (PROTOCOL.md §2.1).
        .target(
            name: "DunlinTLS",
            dependencies: [
                "DunlinCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The network server only: connections, TLS, authentication, limits, diagnostics.
        .target(
            name: "DunlinServer",
            dependencies: [
                "DunlinServices", "DunlinWire", "DunlinCore", "DunlinStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The server's figures (ServerMetrics), served in Prometheus' format on their own
                // HTTP port (MetricsEndpoint).
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                "DunlinTLS",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The NIO client, the replica (the in-process caller of DunlinServices) and the sync engine.
        .target(
            name: "DunlinClient",
            dependencies: [
                "DunlinServices", "DunlinWire", "DunlinCore", "DunlinSync", "DunlinStore",
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                // The reports' pages (Reports/ReportPage.swift): the letters' template engine.
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                "DunlinTLS",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "dunlind",
            dependencies: [
                "DunlinServer", "DunlinServices", "DunlinStore", "DunlinCore", "DunlinWire", "DunlinTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Server/dunlind"
        ),
        .executableTarget(
            name: "dunlin",
            dependencies: [
                "DunlinClient", "DunlinServices", "DunlinCore", "DunlinWire", "DunlinSync", "DunlinStore", "DunlinTLS",
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
        // The certificate checks and the transport rules, with certificates made in the test: no sockets.
        .testTarget(
            name: "DunlinTLSTests",
            dependencies: ["DunlinTLS", "DunlinCore", .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1")]
        ),
        .testTarget(name: "DunlinSyncTests", dependencies: ["DunlinSync", "DunlinCore"]),
        // The services called in process on in-memory stores: no sockets.
        .testTarget(name: "DunlinServicesTests", dependencies: ["DunlinServices", "DunlinStore", "DunlinSync", "DunlinWire", "DunlinCore"]),
        // The client's connection handler on a testing channel (time advanced, no sockets) and its file imports.
        .testTarget(
            name: "DunlinClientTests",
            dependencies: [
                "DunlinClient", "DunlinCore", "DunlinWire", "DunlinStore", "DunlinTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The server's connection handler on a testing channel: handshake, idle, ping, deadline and
        // drain timers driven by advancing the event loop's clock, with no sockets.
        .testTarget(
            name: "DunlinServerTests",
            dependencies: [
                "DunlinServer", "DunlinServices", "DunlinWire", "DunlinStore", "DunlinTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "DunlinStoreTests",
            dependencies: ["DunlinStore", "DunlinCore", "DunlinSync", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "DunlinWire", "DunlinServer", "DunlinServices", "DunlinClient", "DunlinCore", "DunlinStore", "DunlinSync", "DunlinTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            // The SMTP receiver the mail tests start (python3, aiosmtpd); read from the source tree.
            exclude: ["Support/smtp_receiver.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
