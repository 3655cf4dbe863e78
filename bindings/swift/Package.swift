// swift-tools-version:5.9
// Vigil for iOS and macOS shells. `bindings/build.sh` generates Sources/Vigil/Vigil.swift
// and the C header and module map in Headers/; the static library for each Apple
// target is packed with those headers into VigilFFI.xcframework (see bindings/README.md).
import PackageDescription

let package = Package(
    name: "Vigil",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Vigil", targets: ["Vigil"]),
    ],
    targets: [
        .binaryTarget(name: "VigilFFI", path: "VigilFFI.xcframework"),
        .target(name: "Vigil", dependencies: ["VigilFFI"], path: "Sources/Vigil"),
    ]
)
