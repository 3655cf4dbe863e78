package org.vigil.example

import kotlinx.coroutines.runBlocking
import org.vigil.IncidentFilter
import org.vigil.openVault

/**
 * Times calls through the Kotlin bindings on the JVM, for `cargo run --release
 * --example bench_ffi`: a simple call (`isServing`) and listing 10,000 incidents, after
 * a warm-up for the JIT. Prints one JSON line.
 */
fun main(args: Array<String>): Unit = runBlocking {
    val vault = openVault(args.single(), System.getenv("VIGIL_PASSPHRASE") ?: error("set VIGIL_PASSPHRASE"))
    val calls = 200_000
    repeat(calls) { vault.isServing() }
    var start = System.nanoTime()
    repeat(calls) { vault.isServing() }
    val simpleNs = (System.nanoTime() - start).toDouble() / calls

    val filter = IncidentFilter(limit = 10_000uL)
    var best = Long.MAX_VALUE
    var listed = 0
    repeat(2) { vault.listIncidents(filter) }
    repeat(7) {
        start = System.nanoTime()
        listed = vault.listIncidents(filter).size
        best = minOf(best, System.nanoTime() - start)
    }
    println("""{"simple_call_ns": $simpleNs, "list_ms": ${best / 1e6}, "listed": $listed}""")
    vault.close()
}
