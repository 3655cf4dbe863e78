//! The command line, as clap parses it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use vigil_core::Format;

/// Vigil: document violations around elections, in an encrypted vault.
///
/// The vault is a folder (`--vault PATH` or `VIGIL_VAULT`). The passphrase is asked
/// on the terminal, or read from `VIGIL_PASSPHRASE` in scripts.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about)]
pub struct Cli {
    /// The vault folder.
    #[arg(long, env = "VIGIL_VAULT", global = true)]
    pub vault: Option<PathBuf>,
    /// Language of labels and reports: en or ru.
    #[arg(long, env = "VIGIL_LANG", default_value = "en", global = true)]
    pub lang: String,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
// Parsed once per run; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new encrypted vault in a new or empty folder.
    Init(InitArgs),
    /// Show facts about the vault: device fingerprint, counts, key stretching.
    Info {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Log, list, show, edit incidents and read their history.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// Import a partner export (JSON lines, FORMAT.md) or a CSV file.
    ///
    /// The import is one transaction: a crash or kill leaves all of it or none of it.
    /// By default a file is taken whole: if any line is malformed, every bad line is
    /// reported with its number and reason and NOTHING is imported. With
    /// --skip-invalid, bad lines are reported and skipped and the rest is imported.
    /// Reports whose id is already in the vault are left alone, so importing the
    /// same file twice adds nothing the second time.
    Import {
        /// The file to import.
        file: PathBuf,
        /// File format; by default `.csv` files are CSV and others JSON lines.
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// Import the good lines and skip the bad ones (still one transaction).
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Export incidents as JSON lines (the partner format) or CSV (same header as import).
    ///
    /// The export contains personal data (names, descriptions, observers' pseudonyms).
    Export {
        /// File format; by default taken from --out's extension, else JSON lines.
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Only incidents with these statuses (comma-separated; default: all).
        #[arg(long, value_delimiter = ',')]
        status: Vec<String>,
    },
    /// Print the report: figures per phase and category.
    Report {
        /// markdown (for people) or json (one object per "<phase>/<category>").
        #[arg(long, value_enum, default_value = "markdown")]
        format: ReportFormat,
        /// Statuses to count (comma-separated; default: submitted,verified).
        #[arg(long, value_delimiter = ',')]
        status: Vec<String>,
    },
    /// Show the taxonomy (categories, fields, labels), or replace it with a team's own.
    Taxonomy {
        /// Print the whole taxonomy as TOML, the form `--set` reads.
        #[arg(long)]
        toml: bool,
        /// Replace the taxonomy with this TOML file.
        #[arg(long, value_name = "FILE")]
        set: Option<PathBuf>,
    },
    /// Found a team, invite devices, list and revoke members.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Listen for the team's devices and sync with each that connects.
    ///
    /// Runs until interrupted (or --sessions are done). Unless --no-discovery, the
    /// device announces itself on the LAN (mDNS) with a random name and nothing
    /// that identifies the device or the team.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0:7447")]
        listen: SocketAddr,
        /// Do not announce this device on the LAN.
        #[arg(long)]
        no_discovery: bool,
        /// Stop after this many sessions.
        #[arg(long)]
        sessions: Option<u64>,
    },
    /// Sync once with a team device listening at ADDR, then print what moved.
    Sync {
        /// The peer's address, e.g. 192.168.43.1:7447.
        addr: SocketAddr,
    },
    /// List Vigil devices announcing themselves on the LAN.
    Peers {
        /// How long to listen, in seconds.
        #[arg(long, default_value_t = 3)]
        seconds: u64,
    },
    /// Carry changes on a file when there is no network (sneakernet).
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Merge another vault's incidents and edits into this one.
    ///
    /// The other vault's passphrase is asked, or read from VIGIL_OTHER_PASSPHRASE.
    Merge {
        /// The other vault's folder.
        other: PathBuf,
    },
    /// Set a duress passphrase: entered at unlock instead of the passphrase, it
    /// destroys the vault's keys and data and opens an empty vault, as if that were
    /// all there is.
    ///
    /// The duress passphrase is asked twice, or read from VIGIL_DURESS_PASSPHRASE.
    /// Changing the passphrase later removes it.
    Duress {
        /// Remove the duress passphrase instead.
        #[arg(long)]
        remove: bool,
    },
    /// Change the passphrase, and raise the key stretching.
    ///
    /// The new passphrase is asked twice, or read from VIGIL_NEW_PASSPHRASE. Without
    /// --kdf-iterations, stretching is calibrated to a half-second unlock on this
    /// machine. A duress passphrase is removed: set it again after.
    Passphrase(PassphraseArgs),
    /// Destroy the vault now, without a passphrase: the key file is overwritten and
    /// the database deleted, in well under a second. The folder then opens as an
    /// empty vault. There is no undo: data that reached other devices stays there.
    Panic,
}

/// `vigil team ...`
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Found a team with this device as its first coordinator.
    Create {
        /// How the team will know this device (a pseudonym, not a person's name).
        #[arg(long, default_value = "coordinator")]
        label: String,
    },
    /// Make a one-time invitation for a new device (text and QR code).
    Invite {
        /// The newcomer's role: observer or coordinator.
        #[arg(long, default_value = "observer")]
        role: String,
        /// Hours until the invitation expires.
        #[arg(long, default_value_t = 24)]
        valid_hours: u32,
        /// Where this device will listen (`vigil serve`), repeatable; by default this
        /// machine's LAN address on port 7447.
        #[arg(long = "address")]
        addresses: Vec<SocketAddr>,
        /// Print only the invitation text, no QR code.
        #[arg(long)]
        no_qr: bool,
    },
    /// Join a team with an invitation (the text, or `-` to read it from stdin).
    Join {
        /// The invitation.
        invite: String,
        /// How the team will know this device (a pseudonym, not a person's name).
        #[arg(long, default_value = "observer")]
        label: String,
    },
    /// List the team's devices.
    Members {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a device by its fingerprint (or the first digits of it).
    ///
    /// Its connections are refused, here at once and on every device once this
    /// syncs. Changes it made before --since (default: now) still count: the
    /// reports a lost or seized phone had made before; later ones are refused.
    Revoke {
        /// The device's fingerprint.
        fingerprint: String,
        /// When the device stopped being trusted (RFC 3339), e.g. when it was seized.
        #[arg(long)]
        since: Option<String>,
    },
    /// Start the team's coordinators over with its recovery code, when they are
    /// seized or lost.
    ///
    /// Every device that was ever a coordinator is revoked, except those named with
    /// --appoint, which become the team's coordinators. No coordinator's revocation
    /// can undo it. Works on any member's device; the code is asked for (or read
    /// from stdin) and kept nowhere.
    Recover {
        /// A device to make coordinator (its fingerprint, or `self`), repeatable.
        #[arg(long = "appoint", required = true)]
        appoint: Vec<String>,
        /// When the coordinators stopped being trusted (RFC 3339); their changes
        /// from then on are refused. By default now.
        #[arg(long)]
        since: Option<String>,
    },
    /// Seal the personal data this device can read again, for the coordinators of
    /// now: run it after a coordinator joins, so that it can read older incidents.
    Reshare,
}

/// `vigil bundle ...`
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Write changes to an encrypted, signed file that only the team's devices can read.
    Export {
        /// The file to write.
        #[arg(long, short)]
        out: PathBuf,
        /// Only what this device (fingerprint) lacks since its last sync with this
        /// one; by default everything.
        #[arg(long = "for", value_name = "FINGERPRINT")]
        for_device: Option<String>,
    },
    /// Verify a bundle and apply its changes, as a live sync would.
    Import {
        /// The bundle file.
        file: PathBuf,
    },
}

/// Options of `vigil init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Argon2id memory for stretching the passphrase, in MiB.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub kdf_memory_mib: u32,
    /// Argon2id passes; by default as many (at least 3) as make an unlock take half
    /// a second on this machine.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub kdf_iterations: Option<u32>,
}

/// Options of `vigil passphrase`.
#[derive(Debug, Args)]
pub struct PassphraseArgs {
    /// Argon2id memory for stretching the new passphrase, in MiB.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(8..=4096))]
    pub kdf_memory_mib: u32,
    /// Argon2id passes; by default calibrated as for `vigil init`.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub kdf_iterations: Option<u32>,
}

/// File formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FileFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header.
    Csv,
}

impl From<FileFormat> for Format {
    fn from(f: FileFormat) -> Self {
        match f {
            FileFormat::Jsonl => Format::Jsonl,
            FileFormat::Csv => Format::Csv,
        }
    }
}

/// Report formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    /// Markdown, for people.
    Markdown,
    /// JSON, for scripts: one object per "<phase>/<category>".
    Json,
}

/// `vigil incident ...`
#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Log an incident, from flags or by answering questions (--interactive).
    ///
    /// Without flags on a terminal, asks for each field the taxonomy defines.
    /// Fields beyond the flags are set with --set FIELD=VALUE, using the CSV column
    /// names (`vigil taxonomy` lists them): --set held_hours=6 --set legal_article=488.
    Add(AddArgs),
    /// List incidents, newest first, from the index (no document is loaded).
    List {
        /// Only this phase.
        #[arg(long)]
        phase: Option<String>,
        /// Only this category.
        #[arg(long)]
        category: Option<String>,
        /// Only this city.
        #[arg(long)]
        city: Option<String>,
        /// Only this status.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<u64>,
        /// Skip this many first.
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one incident in full (the id, or its first digits).
    Show {
        /// Incident id or prefix.
        id: String,
        /// Print JSON (the export record).
        #[arg(long)]
        json: bool,
    },
    /// Change fields of an incident; every change is kept in its history.
    Edit(EditArgs),
    /// Who changed what and when.
    History {
        /// Incident id or prefix.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Options of `vigil incident add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Ask for each field instead of reading flags.
    #[arg(long, short)]
    pub interactive: bool,
    /// Phase id (campaign, election_day, post_election).
    #[arg(long)]
    pub phase: Option<String>,
    /// Category id (`vigil taxonomy` lists them).
    #[arg(long)]
    pub category: Option<String>,
    /// When it happened, RFC 3339 (default: now).
    #[arg(long)]
    pub occurred_at: Option<String>,
    /// Region.
    #[arg(long)]
    pub region: Option<String>,
    /// City or town.
    #[arg(long)]
    pub city: Option<String>,
    /// Polling station.
    #[arg(long)]
    pub station: Option<String>,
    /// People affected.
    #[arg(long)]
    pub people: Option<u64>,
    /// The count is a lower bound ("at least").
    #[arg(long)]
    pub at_least: bool,
    /// Role of the people affected (protester, observer, journalist, voter, activist).
    #[arg(long)]
    pub role: Option<String>,
    /// A person identified by name, optionally with a role: "Name (role)". Repeatable.
    #[arg(long = "person")]
    pub persons: Vec<String>,
    /// What happened, in your words.
    #[arg(long)]
    pub description: Option<String>,
    /// Any other field, as FIELD=VALUE with CSV column names. Repeatable.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Submit at once instead of keeping a draft.
    #[arg(long)]
    pub submit: bool,
}

fn cells_given(args: &AddArgs) -> bool {
    args.phase.is_some()
        || args.category.is_some()
        || args.city.is_some()
        || args.people.is_some()
        || !args.persons.is_empty()
        || !args.set.is_empty()
}

fn split_assignment(text: &str) -> (String, String) {
    match text.split_once('=') {
        Some((k, v)) => (k.trim().to_owned(), v.to_owned()),
        None => (text.trim().to_owned(), String::new()),
    }
}

impl AddArgs {
    /// True when no field was given on the command line.
    pub fn is_empty(&self) -> bool {
        self.cells().is_empty()
    }

    /// The flags as field cells.
    pub fn cells(&self) -> Vec<(String, String)> {
        let mut cells = Vec::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                cells.push((k.to_owned(), v));
            }
        };
        put("phase", self.phase.clone());
        put("category", self.category.clone());
        put("occurred_at", self.occurred_at.clone());
        put("region", self.region.clone());
        put("city", self.city.clone());
        put("polling_station", self.station.clone());
        // One person unless told otherwise, or everyone named.
        let people = self.people.unwrap_or(self.persons.len().max(1) as u64);
        let any_field = cells_given(self);
        put("people_count", any_field.then(|| people.to_string()));
        put(
            "count_is_lower_bound",
            self.at_least.then(|| "true".to_owned()),
        );
        put("affected_role", self.role.clone());
        put(
            "persons",
            (!self.persons.is_empty()).then(|| self.persons.join("; ")),
        );
        put("description", self.description.clone());
        put("status", self.submit.then(|| "submitted".to_owned()));
        cells.extend(self.set.iter().map(|s| split_assignment(s)));
        cells
    }
}

/// Options of `vigil incident edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// Incident id or prefix.
    pub id: String,
    /// Set a field, as FIELD=VALUE with CSV column names; an empty value clears it.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// New status: draft, submitted, verified or rejected.
    #[arg(long)]
    pub status: Option<String>,
}

impl EditArgs {
    /// The flags as field cells.
    pub fn cells(&self) -> Vec<(String, String)> {
        let mut cells: Vec<_> = self.set.iter().map(|s| split_assignment(s)).collect();
        if let Some(status) = &self.status {
            cells.push(("status".to_owned(), status.clone()));
        }
        cells
    }
}
