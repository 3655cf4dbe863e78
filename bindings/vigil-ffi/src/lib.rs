//! Vigil for the Android, iOS and desktop shells: thin wrappers over `vigil-core`,
//! exported through uniffi to Kotlin, Swift and Python.
//!
//! Every rule, every byte of storage and every network session stays in the core;
//! this crate only converts values and errors and runs long calls on the one tokio
//! runtime it owns. Async calls (`suspend` in Kotlin, `async` in Swift and Python)
//! spawn into that runtime, so the shell's own executor only waits.
//!
//! Must not: hold state beyond a `VaultHandle` and the runtime, decide a policy (a
//! default, a wipe, what an error means), or use a crate below `vigil-core`.

mod error;
mod listener;
mod logging;
mod records;
mod shell;
mod vault;

use std::sync::{Once, OnceLock};

pub use error::VigilError;
pub use listener::{ChangeSource, VaultChange, VaultListener};
pub use logging::{LogLevel, LogListener, clear_log_listener, set_log_listener};
pub use records::*;
pub use shell::stop_callbacks;
pub use vault::{Vault, create_vault, discover_peers, open_vault, wipe_vault};

uniffi::setup_scaffolding!("vigil");

/// Reports panics by place only: the default hook prints the message, which could
/// quote data, to the shell's log (logcat on Android). The shell still gets an error.
fn report_panics_quietly() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let place = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            tracing::error!(%place, "panic in Vigil");
        }));
    });
}

/// The library's runtime: two workers, enough for serving and syncing on a phone.
fn runtime() -> Result<&'static tokio::runtime::Runtime, VigilError> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            report_panics_quietly();
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("vigil")
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
        .ok_or_else(|| VigilError::internal("cannot start the library's threads"))
}

/// A task that panicked or was cancelled. The panic's message is not passed on: it
/// might quote data.
fn task_failed(e: tokio::task::JoinError) -> VigilError {
    tracing::error!(panicked = e.is_panic(), "a background task failed");
    VigilError::internal("a background task of Vigil failed; the vault is unchanged by it")
}

/// Runs blocking work (key stretching, SQLite, files) on the runtime's blocking
/// threads and waits for it without blocking the caller's executor.
async fn in_background<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, VigilError> + Send + 'static,
) -> Result<T, VigilError> {
    runtime()?.spawn_blocking(work).await.map_err(task_failed)?
}

/// The library's version.
#[uniffi::export]
pub fn vigil_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Panics on purpose. Shells call it in their tests to check that a panic in Rust
/// reaches them as an error (`InternalException` in Kotlin, `InternalError` in
/// Python) instead of ending the process. Touches no vault.
#[uniffi::export]
#[allow(clippy::panic)] // The point of the function.
pub fn debug_panic() {
    report_panics_quietly();
    panic!("debug_panic");
}

/// Panics on purpose in a task of the library's runtime, where syncing and
/// serving run: the shell gets [`VigilError::Internal`]. Touches no vault.
#[uniffi::export]
pub async fn debug_panic_in_background() -> Result<(), VigilError> {
    #[allow(clippy::panic)] // The point of the function.
    in_background(|| panic!("debug_panic_in_background")).await
}
