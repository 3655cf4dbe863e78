//! The test harness shared by the CLI's test files: a real `vigil` binary run on
//! real vault folders.

// Each test file uses its own part of the harness.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub const PASSPHRASE: &str = "test passphrase";

pub struct Vigil {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub vault: PathBuf,
}

impl Vigil {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let vault = root.join("vault");
        let v = Self {
            _dir: dir,
            root,
            vault,
        };
        v.ok(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"]);
        v
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
        c.args(args)
            .env("VIGIL_VAULT", &self.vault)
            .env("VIGIL_PASSPHRASE", PASSPHRASE)
            .env_remove("VIGIL_LANG")
            .stdin(Stdio::null());
        c
    }

    /// Runs a command with `input` on its stdin.
    pub fn with_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "vigil {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail; returns its error output.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "vigil {args:?} succeeded");
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    pub fn count(&self) -> usize {
        self.json(&["incident", "list", "--json"])
            .as_array()
            .unwrap()
            .len()
    }

    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.root.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn raw_vault_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&self.vault).unwrap() {
            all.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        all
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `shared/scenarios` beside the repository, where it exists (CI has it).
pub fn shared_scenarios() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|a| a.join("shared").join("scenarios"))
        .find(|p| p.join("kz-2021.jsonl").is_file())
}

/// A `vigil serve` running in the background until dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    /// Serves without announcing itself on the LAN.
    pub fn start(v: &Vigil, addr: &str) -> Self {
        Self::spawn(v, &["serve", "--listen", addr, "--no-discovery"])
    }

    /// Serves and announces itself on the LAN (mDNS).
    pub fn announced(v: &Vigil, addr: &str) -> Self {
        Self::spawn(v, &["serve", "--listen", addr])
    }

    fn spawn(v: &Vigil, args: &[&str]) -> Self {
        let mut child = v
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().unwrap().unwrap();
        let addr = first
            .strip_prefix("Listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_owned();
        // Keep reading so that the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Logs a submitted detention in `city`, naming one person.
pub fn log(v: &Vigil, city: &str) {
    v.ok(&[
        "incident",
        "add",
        "--phase",
        "election_day",
        "--category",
        "arbitrary_detention",
        "--occurred-at",
        "2021-01-10T14:30:00+06:00",
        "--region",
        "Almaty",
        "--city",
        city,
        "--people",
        "2",
        "--role",
        "protester",
        "--person",
        "Aibek Sadykov",
        "--set",
        "held_hours=3",
        "--set",
        "context=protest",
        "--submit",
    ]);
}
