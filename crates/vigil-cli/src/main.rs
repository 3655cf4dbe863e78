//! `vigil`: the desktop and coordinator shell of Vigil.
//!
//! Parses, prompts and prints; everything it does is a call into `vigil-core`, the
//! only Vigil crate it uses.

mod args;
mod interactive;
mod network;
mod output;
mod passphrase;

use std::fs::File;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use vigil_core::{Format, ImportMode, ListFilter, Status, Vault, VaultError};

use args::{Cli, Command, IncidentCommand, ReportFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(io::stderr)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .init();
    // Automerge still panics on some peer bytes; the core catches those, and the
    // default hook would print each message (which could quote data) to the
    // terminal. The place alone goes to the debug log.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::debug!(%place, "panic");
    }));
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli))) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("error: an internal error stopped Vigil (a bug: VIGIL_LOG=debug says where)");
            ExitCode::from(101)
        }
    }
}

/// Errors of the command line: the core's, or a message of the shell's own.
#[derive(Debug)]
enum CliError {
    Vault(VaultError),
    Message(String),
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Vault(VaultError::ImportRejected(lines)) => {
                for line in lines.iter().take(50) {
                    writeln!(f, "  {line}")?;
                }
                if lines.len() > 50 {
                    writeln!(f, "  ... and {} more", lines.len() - 50)?;
                }
                write!(
                    f,
                    "{} line(s) cannot be imported; nothing was imported (fix them, or use --skip-invalid)",
                    lines.len()
                )
            }
            CliError::Vault(e) => write!(f, "{e}"),
            CliError::Message(m) => f.write_str(m),
        }
    }
}

impl From<VaultError> for CliError {
    fn from(e: VaultError) -> Self {
        CliError::Vault(e)
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Vault(VaultError::Io(e))
    }
}

type Result<T = ()> = std::result::Result<T, CliError>;

fn vault_path(cli_path: Option<PathBuf>) -> Result<PathBuf> {
    cli_path.ok_or_else(|| {
        CliError::Message("no vault given: pass --vault PATH or set VIGIL_VAULT".into())
    })
}

fn open(path: &Path) -> Result<Vault> {
    let passphrase = passphrase::read("Passphrase: ", false)?;
    Ok(Vault::open(path, passphrase.as_bytes())?)
}

fn one_status(text: &str) -> Result<Status> {
    Status::parse(text).ok_or_else(|| {
        CliError::Message(format!(
            "unknown status `{}`: use draft, submitted, verified or rejected",
            text.trim()
        ))
    })
}

fn statuses(list: &[String]) -> Result<Vec<Status>> {
    list.iter()
        .flat_map(|s| s.split(','))
        .map(one_status)
        .collect()
}

/// Argon2id parameters from `--kdf-memory-mib` and `--kdf-iterations`; without the
/// passes, as many as make an unlock take [`vigil_core::UNLOCK_TARGET`] here.
fn stretching(memory_mib: u32, iterations: Option<u32>) -> Result<vigil_core::KdfParams> {
    let kdf = vigil_core::key_stretching(Some(memory_mib), iterations)?;
    if vigil_core::is_weak_stretching(&kdf) {
        eprintln!(
            "warning: less than 64 MiB of key stretching makes a forced guess of the passphrase cheaper on a seized phone"
        );
    }
    Ok(kdf)
}

fn run(cli: Cli) -> Result {
    let lang = cli.lang.clone();
    match cli.command {
        Command::Init(init) => {
            let path = vault_path(cli.vault)?;
            let passphrase = passphrase::read("New passphrase: ", true)?;
            let kdf = stretching(init.kdf_memory_mib, init.kdf_iterations)?;
            let vault = Vault::create(&path, passphrase.as_bytes(), kdf)?;
            let info = vault.info()?;
            println!("Created vault {}", path.display());
            println!("Device fingerprint: {}", info.device);
        }
        Command::Info { json } => {
            let vault = open(&vault_path(cli.vault)?)?;
            output::info(&vault.info()?, json);
        }
        Command::Incident(command) => {
            let path = vault_path(cli.vault)?;
            incident(command, &path, &lang)?;
        }
        Command::Import {
            file,
            format,
            skip_invalid,
        } => {
            let mut vault = open(&vault_path(cli.vault)?)?;
            let format = format.map_or_else(|| Format::from_path(&file), Into::into);
            let input = File::open(&file)
                .map_err(|e| CliError::Message(format!("cannot open {}: {e}", file.display())))?;
            let size = input.metadata().map(|m| m.len()).unwrap_or(0);
            let bar = output::progress_bar(size);
            let mode = ImportMode::skipping_invalid(skip_invalid);
            let result = vault.import(bar.wrap_read(input), format, mode);
            bar.finish_and_clear();
            let outcome = result?;
            for line in &outcome.skipped {
                eprintln!("skipped {line}");
            }
            println!(
                "Imported {} incident(s); {} already in the vault; {} line(s) skipped.",
                outcome.added,
                outcome.already_present,
                outcome.skipped.len()
            );
            if outcome.claimed > 0 {
                eprintln!(
                    "warning: {} of the incidents already here were logged by a device, not imported from a partner's file; if this file is a partner's, compare them (`vigil history ID`).",
                    outcome.claimed
                );
            }
        }
        Command::Export {
            format,
            out,
            status,
        } => {
            let vault = open(&vault_path(cli.vault)?)?;
            let format = format.map_or_else(
                || out.as_deref().map_or(Format::Jsonl, Format::from_path),
                Into::into,
            );
            let wanted = statuses(&status)?;
            let outcome = match &out {
                Some(path) => vault.export_to_file(path, format, &wanted)?,
                None => vault.export(io::stdout().lock(), format, &wanted)?,
            };
            eprintln!("Exported {} incident(s).", outcome.incidents);
            if outcome.has_personal_data() {
                eprintln!(
                    "The file contains personal data: {} name(s) of people affected, {} free-text description(s) (which may name people), {} observer pseudonym(s), {} other personal field value(s). Keep it encrypted; do not publish it.",
                    outcome.named_people,
                    outcome.descriptions,
                    outcome.reporters,
                    outcome.personal_fields
                );
            } else {
                eprintln!("The file contains no personal data.");
            }
            if outcome.sealed > 0 {
                eprintln!(
                    "{} incident(s) have personal data sealed to the coordinators; it is not in the file.",
                    outcome.sealed
                );
            }
        }
        Command::Report { format, status } => {
            let vault = open(&vault_path(cli.vault)?)?;
            let counted = vigil_core::counted_or_default(&statuses(&status)?);
            let report = vault.report(&counted)?;
            match format {
                ReportFormat::Json => println!("{}", report.to_json()),
                ReportFormat::Markdown => print!(
                    "{}",
                    vigil_core::render_markdown(&report, vault.taxonomy(), &lang)
                ),
            }
        }
        Command::Taxonomy { toml, set } => {
            let path = vault_path(cli.vault)?;
            let mut vault = open(&path)?;
            if let Some(file) = set {
                let text = std::fs::read_to_string(&file).map_err(|e| {
                    CliError::Message(format!("cannot read {}: {e}", file.display()))
                })?;
                vault.set_taxonomy(&text)?;
                println!("Taxonomy `{}` is now in use.", vault.taxonomy().name);
            } else if toml {
                print!("{}", vault.taxonomy().to_toml());
            } else {
                output::taxonomy(vault.taxonomy(), &lang);
            }
        }
        Command::Team(command) => network::team(command, &vault_path(cli.vault)?)?,
        Command::Serve {
            listen,
            no_discovery,
            sessions,
        } => network::serve(&vault_path(cli.vault)?, listen, !no_discovery, sessions)?,
        Command::Sync { addr } => network::sync(&vault_path(cli.vault)?, addr)?,
        Command::Peers { seconds } => network::peers(seconds)?,
        Command::Bundle(command) => network::bundle(command, &vault_path(cli.vault)?)?,
        Command::Duress { remove } => {
            let passphrase = passphrase::read("Passphrase: ", false)?;
            let vault = Vault::open(&vault_path(cli.vault)?, passphrase.as_bytes())?;
            let duress = if remove {
                None
            } else {
                Some(passphrase::read_duress()?)
            };
            vault.set_duress_passphrase(
                passphrase.as_bytes(),
                duress.as_ref().map(|d| d.as_bytes()),
            )?;
            println!(
                "{}",
                if remove {
                    "The duress passphrase is removed."
                } else {
                    "Duress passphrase set. Entered at unlock, it destroys this vault and opens an empty one."
                }
            );
        }
        Command::Passphrase(args) => {
            let passphrase = passphrase::read("Passphrase: ", false)?;
            let vault = Vault::open(&vault_path(cli.vault)?, passphrase.as_bytes())?;
            let new = passphrase::read_new()?;
            let kdf = stretching(args.kdf_memory_mib, args.kdf_iterations)?;
            vault.change_passphrase(passphrase.as_bytes(), new.as_bytes(), Some(kdf))?;
            println!(
                "Passphrase changed; key stretching: Argon2id, {} MiB, {} passes.",
                kdf.memory_kib / 1024,
                kdf.iterations
            );
            // The duress tag is bound to the old salt and stretching.
            println!(
                "A duress passphrase, if one was set, no longer works: set it again with `vigil duress`."
            );
        }
        Command::Panic => {
            let path = vault_path(cli.vault)?;
            let started = std::time::Instant::now();
            vigil_core::wipe(&path)?;
            println!(
                "Vault wiped in {} ms; the folder now opens as an empty vault.",
                started.elapsed().as_millis()
            );
        }
        Command::Merge { other } => {
            let path = vault_path(cli.vault)?;
            let mut vault = open(&path)?;
            let other_passphrase = passphrase::read_other()?;
            let other = Vault::open(&other, other_passphrase.as_bytes())?;
            let outcome = vault.merge_from(&other)?;
            println!(
                "Merged {} change(s) into {} incident(s).",
                outcome.changes, outcome.incidents
            );
        }
    }
    Ok(())
}

fn incident(command: IncidentCommand, path: &Path, lang: &str) -> Result {
    match command {
        IncidentCommand::Add(add) => {
            let mut vault = open(path)?;
            let cells = if add.is_empty() {
                if !io::stdin().is_terminal() && !add.interactive {
                    return Err(CliError::Message(
                        "no fields given: pass --category, --city, ... or --interactive".into(),
                    ));
                }
                interactive::form(vault.taxonomy(), lang)?
            } else {
                add.cells()
            };
            let id = vault.add_fields(&cells)?;
            let status = vault.get(&id)?.status;
            println!("Added incident {id} ({})", status.as_str());
        }
        IncidentCommand::List {
            phase,
            category,
            city,
            status,
            limit,
            offset,
            json,
        } => {
            let vault = open(path)?;
            let filter = ListFilter {
                phase,
                category,
                city,
                status: status.map(|s| one_status(&s)).transpose()?,
                limit,
                offset,
            };
            output::list(&vault.list(&filter)?, json);
        }
        IncidentCommand::Show { id, json } => {
            let vault = open(path)?;
            let id = vault.resolve(&id)?;
            let (incident, access) = vault.read(&id)?;
            output::incident(&incident, access, vault.taxonomy(), lang, json);
        }
        IncidentCommand::Edit(edit) => {
            let mut vault = open(path)?;
            let id = vault.resolve(&edit.id)?;
            let cells = edit.cells();
            if cells.is_empty() {
                return Err(CliError::Message(
                    "nothing to change: pass --set FIELD=VALUE, --status, ...".into(),
                ));
            }
            if vault.edit_fields(&id, &cells)? {
                println!("Edited incident {id}");
            } else {
                println!("Incident {id} already had these values; nothing changed");
            }
        }
        IncidentCommand::History { id, json } => {
            let vault = open(path)?;
            let id = vault.resolve(&id)?;
            output::history(&vault, &vault.history(&id)?, json);
        }
    }
    Ok(())
}
