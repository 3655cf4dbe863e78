//! Cost of the bindings, in one run: a simple call and a listing of 10,000 incidents
//! from Rust (the very `vigil-ffi` functions the shells call, without crossing the
//! FFI), from Python and from Kotlin on the JVM, on one vault; and the size of the
//! release library. Prints figures, asserts nothing.
//!
//! ```text
//! cargo run --release --example bench_ffi [-- --no-build]
//! ```
//!
//! It first builds the release library and its bindings (`bindings/build.sh
//! --release`, the Kotlin module and the JVM sample); `--no-build` skips that.

use std::error::Error;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use vigil_ffi::{IncidentFilter, KeyStretching, Vault};

const PASSPHRASE: &str = "benchmark passphrase";
const LISTED: u64 = 10_000;
const SIMPLE_CALLS: u32 = 200_000;
const LIST_ROUNDS: u32 = 7;

fn run(command: &mut Command) -> Result<String, Box<dyn Error>> {
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// The last line of a foreign benchmark's output: its figures as JSON.
fn figures(output: &str) -> Result<Value, Box<dyn Error>> {
    // Maven may prefix the line with terminal escapes.
    let json = output
        .lines()
        .rev()
        .find_map(|l| l.find("{\"").map(|start| &l[start..]))
        .ok_or_else(|| format!("no figures in the output: {output}"))?;
    Ok(serde_json::from_str(json)?)
}

fn build() -> Result<(), Box<dyn Error>> {
    run(Command::new("bindings/build.sh").arg("--release"))?;
    run(Command::new("mvn").args([
        "-B",
        "-q",
        "-f",
        "bindings/kotlin/pom.xml",
        "install",
        "-DskipTests",
    ]))?;
    run(Command::new("mvn").args(["-B", "-q", "-f", "examples/kotlin/pom.xml", "compile"]))?;
    Ok(())
}

fn rust_figures(vault: &Vault) -> Result<Value, Box<dyn Error>> {
    let t = Instant::now();
    for _ in 0..SIMPLE_CALLS {
        std::hint::black_box(std::hint::black_box(vault).is_serving());
    }
    let simple_ns = t.elapsed().as_nanos() as f64 / f64::from(SIMPLE_CALLS);
    let filter = IncidentFilter {
        limit: Some(LISTED),
        ..IncidentFilter::default()
    };
    let mut best = Duration::MAX;
    let mut listed = 0;
    for _ in 0..LIST_ROUNDS {
        let t = Instant::now();
        listed = vault.list_incidents(filter.clone())?.len();
        best = best.min(t.elapsed());
    }
    Ok(serde_json::json!({
        "simple_call_ns": simple_ns,
        "list_ms": best.as_secs_f64() * 1000.0,
        "listed": listed,
    }))
}

fn main() -> Result<(), Box<dyn Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(root)?;
    if !std::env::args().any(|a| a == "--no-build") {
        eprintln!("building the release library and its bindings...");
        build()?;
    }

    let work = tempfile::tempdir()?;
    let vault_path = work.path().join("vault");
    let partner = work.path().join("campaign.jsonl");
    // 14 campaigns of 729 reports: a little over 10,000 incidents.
    std::fs::write(&partner, vigil_scenario::generate(7, 14).to_jsonl())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let vault = runtime.block_on(vigil_ffi::create_vault(
        vault_path.display().to_string(),
        PASSPHRASE.into(),
        Some(KeyStretching {
            memory_mib: 8,
            iterations: 1,
        }),
    ))?;
    let imported = runtime.block_on(vault.import_file(partner.display().to_string(), false))?;
    eprintln!("vault of {} incidents; measuring...", imported.added);

    let rust = rust_figures(&vault)?;
    drop(vault);
    let vault_arg = vault_path.display().to_string();
    let python = figures(&run(Command::new("python3")
        .arg("examples/python/bench_calls.py")
        .arg(&vault_arg)
        .env("PYTHONPATH", "bindings/python/src")
        .env("VIGIL_PASSPHRASE", PASSPHRASE))?)?;
    let kotlin = figures(&run(Command::new("mvn")
        .args(["-B", "-q", "-f", "examples/kotlin/pom.xml", "exec:java"])
        .arg("-Dexec.mainClass=org.vigil.example.BenchCallsKt")
        .arg(format!("-Dexec.args={vault_arg}"))
        .env("VIGIL_PASSPHRASE", PASSPHRASE))?)?;

    println!(
        "Cost of the bindings ({} incidents in the vault)",
        imported.added
    );
    println!();
    println!(
        "| {:<8} | {:>24} | {:>21} | {:>12} |",
        "caller", "simple call (is_serving)", "list 10,000 incidents", "per incident"
    );
    println!("|{:-<10}|{:->26}|{:->23}|{:->14}|", "", "", "", "");
    for (name, f) in [("Rust", &rust), ("Python", &python), ("Kotlin", &kotlin)] {
        let list_ms = f["list_ms"].as_f64().unwrap_or(f64::NAN);
        let listed = f["listed"].as_f64().unwrap_or(f64::NAN);
        println!(
            "| {:<8} | {:>21.0} ns | {:>18.1} ms | {:>9.2} µs |",
            name,
            f["simple_call_ns"].as_f64().unwrap_or(f64::NAN),
            list_ms,
            list_ms * 1000.0 / listed
        );
    }
    println!();
    println!(
        "Rust calls the same vigil-ffi functions without crossing the FFI; best of {LIST_ROUNDS} listings each."
    );
    let library = root.join("target/release/libvigil_ffi.so");
    let packaged = root.join("bindings/python/src/vigil/libvigil_ffi.so");
    for (what, path) in [
        ("release library", &library),
        ("as packaged (stripped)", &packaged),
    ] {
        if let Ok(meta) = std::fs::metadata(path) {
            println!(
                "{what}: {:.1} MiB ({})",
                meta.len() as f64 / 1_048_576.0,
                path.strip_prefix(root).unwrap_or(path).display()
            );
        }
    }
    Ok(())
}
