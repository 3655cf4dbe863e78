#!/usr/bin/env bash
# All of Vigil's tests, as the README gives them: the Rust workspace, then the
# bindings from the foreign side — the library is built, the Kotlin, Swift and Python
# bindings generated, the Python suite run with pytest and the Kotlin suite with
# Maven and JUnit on the JVM — then the two thin shell samples on one vault: the
# Kotlin one writes it, the Python one and the `vigil` CLI read it.
#
# Needs Rust, Python 3 (with venv) and a JDK with Maven; fetches pytest from PyPI
# and the Kotlin toolchain and libraries from Maven Central by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

echo "== Rust: cargo test --workspace"
cargo test --workspace --locked

echo "== bindings: build the library, generate Kotlin, Swift and Python"
bindings/build.sh
cargo build --locked -p vigil-cli

echo "== Python: pytest through the generated package"
venv=target/python-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade --force-reinstall --no-deps ./bindings/python
"$venv/bin/python" -m pip install --quiet "pytest>=7"
(cd bindings/python && "$root/$venv/bin/python" -m pytest -q)

echo "== Kotlin: JUnit on the JVM through the generated module"
mvn -B -q -f bindings/kotlin/pom.xml install

echo "== shell samples: Kotlin writes a vault, Python and the CLI read it"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export VIGIL_PASSPHRASE="sample passphrase"
(cd examples/kotlin && mvn -B -q compile exec:java -Dexec.args="$work/vault") | tee "$work/kotlin.out"
grep -q "Coordinator's list, refreshed by its listener: 3 incident(s)" "$work/kotlin.out"
"$venv/bin/python" examples/python/incidents_table.py "$work/vault" --csv "$work/incidents.csv" | tee "$work/python.out"
grep -q "^3 incident(s)" "$work/python.out"
[ "$(wc -l < "$work/incidents.csv")" -eq 4 ]
target/debug/vigil --vault "$work/vault" report --format json > "$work/report.json"
"$venv/bin/python" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["election_day/arbitrary_detention"]["people"] == 17, r' "$work/report.json"
echo "all tests passed"
