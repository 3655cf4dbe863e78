#!/usr/bin/env bash
# Builds the Vigil library (bindings/vigil-ffi) and generates its bindings from it:
#   bindings/python  the Python package (module and library in src/vigil)
#   bindings/kotlin  the Maven module (sources in src/main/kotlin, the library as a
#                    JNA resource in src/main/resources/<platform>)
#   bindings/swift   the Swift package's sources and the C header and module map
#                    that the iOS xcframework carries (see bindings/README.md)
# Usage: bindings/build.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_flags=(--locked -p vigil-ffi -p uniffi-bindgen)
if [ "${1:-}" = "--release" ]; then
  profile=release
  cargo_flags+=(--release)
fi
cargo build "${cargo_flags[@]}"

case "$(uname -s)" in
  Darwin) lib_file=libvigil_ffi.dylib; jna_dir=darwin-$(uname -m | sed 's/arm64/aarch64/') ;;
  *)      lib_file=libvigil_ffi.so;    jna_dir=linux-$(uname -m | sed 's/x86_64/x86-64/') ;;
esac
lib=target/$profile/$lib_file
bindgen=target/$profile/uniffi-bindgen
generate() { "$bindgen" generate --library "$lib" --no-format --language "$@"; }
# The packages carry the library without debug information (a debug build's is ~250 MB).
install_lib() {
  if command -v strip >/dev/null 2>&1; then strip -S -o "$1/$lib_file" "$lib"; else cp "$lib" "$1/"; fi
}

generate python --out-dir bindings/python/src/vigil
install_lib bindings/python/src/vigil

rm -rf bindings/kotlin/src/main/kotlin bindings/kotlin/src/main/resources
generate kotlin --out-dir bindings/kotlin/src/main/kotlin
mkdir -p "bindings/kotlin/src/main/resources/$jna_dir"
install_lib "bindings/kotlin/src/main/resources/$jna_dir"

swift_out=$(mktemp -d)
trap 'rm -rf "$swift_out"' EXIT
generate swift --out-dir "$swift_out"
mkdir -p bindings/swift/Sources/Vigil bindings/swift/Headers
cp "$swift_out"/*.swift bindings/swift/Sources/Vigil/
cp "$swift_out"/*.h "$swift_out"/*.modulemap bindings/swift/Headers/

echo "bindings generated from $lib ($(du -h bindings/python/src/vigil/$lib_file | cut -f1) stripped)"
