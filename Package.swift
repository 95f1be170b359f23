// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "bookrec",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bookrec-coordinator", targets: ["bookrec-coordinator"]),
        .executable(name: "bookrec-worker", targets: ["bookrec-worker"]),
        .executable(name: "bookrec-query", targets: ["bookrec-query"]),
        .executable(name: "bookrec-bench", targets: ["bookrec-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // The HTTP service: Hummingbird without its swift-configuration support, which bookrec does not use.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // C libraries from Debian.
        // OpenBLAS (libopenblas0), loaded at first use with kernels chosen from the CPU's features.
        .target(name: "COpenBLAS", path: "Sources/C/COpenBLAS", linkerSettings: [.linkedLibrary("dl")]),
        .target(
            name: "CImageCodec", path: "Sources/C/CImageCodec",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),
        .target(
            name: "CRabbitMQ", path: "Sources/C/CRabbitMQ",
            linkerSettings: [.linkedLibrary("rabbitmq")]),
        // libpq (libpq-dev): the PostgreSQL store's client.
        .systemLibrary(name: "CLibPQ", path: "Sources/C/CLibPQ"),

        // The math: encoders, fusion, training, scoring, metrics. No I/O.
        // Optimised in debug builds too: the cluster tests train the default model through debug
        // executables, which unoptimised loops make tens of times slower.
        .target(
            name: "BookrecCore", dependencies: ["COpenBLAS", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // Image bytes to pixels (JPEG, PNG) with limits against bombs.
        .target(name: "BookrecImaging", dependencies: ["CImageCodec", "BookrecCore"]),
        // Reading the catalog files: CSV, goodbooks layout, row-level errors.
        .target(name: "BookrecData", dependencies: ["BookrecCore", "BookrecImaging"]),
        // The store behind protocols, with two drivers: SQLite (GRDB) on one host, PostgreSQL (libpq) across hosts.
        .target(
            name: "BookrecStore",
            dependencies: ["BookrecCore", "CLibPQ", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "CoreMetrics", package: "swift-metrics")]),
        // Pretrained encoders: weight parsing from bytes and forward passes on BLAS.
        // No file I/O: callers hand in the bytes.
        .target(name: "BookrecMiniLM", dependencies: ["BookrecCore", "COpenBLAS"]),
        .target(name: "BookrecEfficientNet", dependencies: ["BookrecCore", "COpenBLAS"]),
        // RabbitMQ over rabbitmq-c: connections, confirms, consumers, versioned job messages.
        .target(name: "BookrecQueue", dependencies: ["CRabbitMQ"]),
        // Offline evaluation: split, baselines, report (reads data, no store).
        .target(name: "BookrecEvaluation", dependencies: ["BookrecCore", "BookrecData"]),

        // The distributed run: generations, encode and score jobs, the worker loop.
        .target(
            name: "BookrecPipeline",
            dependencies: [
                "BookrecCore", "BookrecData", "BookrecImaging", "BookrecStore", "BookrecQueue", "BookrecMiniLM", "BookrecEfficientNet",
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]),
        // Prometheus for the executables: the swift-metrics backend and a /metrics endpoint.
        .target(
            name: "BookrecMetrics",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The HTTP service of bookrec-query: JSON API, HTML pages, covers, Prometheus metrics.
        .target(
            name: "BookrecService",
            dependencies: [
                "BookrecCore", "BookrecStore", "BookrecMetrics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The OpenAPI document, a file of its own for clients and tools, served at /openapi.json.
            resources: [.copy("Resources/openapi.json")]),
        // What the three executables share: common options and output helpers.
        .target(name: "BookrecCLI", dependencies: ["BookrecStore", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        .executableTarget(
            name: "bookrec-coordinator",
            dependencies: [
                "BookrecCore", "BookrecData", "BookrecImaging", "BookrecStore", "BookrecEvaluation", "BookrecCLI", "BookrecPipeline", "BookrecQueue",
                "BookrecMetrics",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "bookrec-worker",
            dependencies: [
                "BookrecCore", "BookrecStore", "BookrecImaging", "BookrecPipeline", "BookrecQueue", "BookrecCLI", "BookrecMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "bookrec-query",
            dependencies: [
                "BookrecCore", "BookrecStore", "BookrecQueue", "BookrecCLI", "BookrecService", "BookrecMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "bookrec-bench",
            dependencies: [
                "BookrecCore", "BookrecData", "BookrecMiniLM", "BookrecEfficientNet", "BookrecImaging", "BookrecStore", "BookrecCLI",
                "COpenBLAS", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "BookrecCoreTests", dependencies: ["BookrecCore"]),
        .testTarget(name: "BookrecImagingTests", dependencies: ["BookrecImaging"]),
        .testTarget(name: "BookrecDataTests", dependencies: ["BookrecData", "BookrecStore"]),
        .testTarget(name: "BookrecEvaluationTests", dependencies: ["BookrecEvaluation"]),
        .testTarget(name: "BookrecMiniLMTests", dependencies: ["BookrecMiniLM"]),
        .testTarget(name: "BookrecEfficientNetTests", dependencies: ["BookrecEfficientNet", "BookrecImaging"]),
        .testTarget(name: "BookrecQueueTests", dependencies: ["BookrecQueue"]),
        .testTarget(name: "BookrecServiceTests", dependencies: ["BookrecService"]),
        .testTarget(
            name: "BookrecClusterTests",
            dependencies: ["BookrecCore", "BookrecData", "BookrecImaging", "BookrecStore", "BookrecQueue", "BookrecPipeline", "BookrecService",
                           .product(name: "GRDB", package: "GRDB.swift")]),
    ],
    swiftLanguageModes: [.v5]
)
