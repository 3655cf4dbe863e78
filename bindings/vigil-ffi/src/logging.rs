//! The library's log, handed to the shell: a foreign `LogListener` receives each
//! event (Logcat on Android, `os_log` on iOS, a file on the desktop). Vigil's log
//! lines carry counts, fingerprints and reasons, never names, text or keys.

use std::fmt::Write as _;
use std::sync::{Arc, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::VigilError;
use crate::shell::Foreign;

/// How much to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Failures.
    Error,
    /// Refused input, failed sessions.
    Warn,
    /// What the vault did: opened, imported, synced.
    Info,
    /// Details for debugging.
    Debug,
}

impl From<Level> for LogLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            _ => LogLevel::Debug,
        }
    }
}

/// Implemented by the shell to receive the library's log.
#[uniffi::export(with_foreign)]
pub trait LogListener: Send + Sync {
    /// One event: its level, the module it comes from and its text.
    fn log(&self, level: LogLevel, target: String, message: String) -> Result<(), VigilError>;
}

type Sink = (Foreign<dyn LogListener>, LogLevel);

static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Sends the library's log at `level` and above to `listener` (and warnings of the
/// libraries beneath it), replacing any listener set before. Fails if the process already has another global `tracing`
/// subscriber (another Rust library that set one).
#[uniffi::export]
pub fn set_log_listener(listener: Arc<dyn LogListener>, level: LogLevel) -> Result<(), VigilError> {
    static INSTALL: Once = Once::new();
    let mut installed = Ok(());
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(ToListener);
        installed = tracing::subscriber::set_global_default(subscriber)
            .map_err(|_| VigilError::internal("another logger is already installed"));
    });
    installed?;
    *SINK
        .write()
        .map_err(|_| VigilError::internal("the log listener was left unusable"))? =
        Some((Foreign::new(listener), level));
    Ok(())
}

/// Stops sending the log to the shell.
#[uniffi::export]
pub fn clear_log_listener() {
    if let Ok(mut sink) = SINK.write() {
        *sink = None;
    }
}

/// The `tracing` layer that formats events for the listener.
struct ToListener;

impl<S: Subscriber> Layer<S> for ToListener {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let Some((listener, level)) = SINK.read().ok().and_then(|sink| sink.clone()) else {
            return;
        };
        let metadata = event.metadata();
        let event_level = LogLevel::from(*metadata.level());
        // The libraries beneath (quinn, rustls) speak only of their warnings.
        let ours = metadata.target().starts_with("vigil");
        if event_level > level || (!ours && event_level > LogLevel::Warn) {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        // A failing listener cannot log its own failure here without recursing.
        if let Some(listener) = listener.get() {
            let _ = crate::shell::call(|| {
                listener.log(event_level, metadata.target().to_owned(), text.0)
            });
        }
    }
}

/// An event's message followed by its fields, `key=value`.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let fields = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}{fields}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}
