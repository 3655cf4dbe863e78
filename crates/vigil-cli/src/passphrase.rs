//! Reading passphrases: from the terminal without echo, or from the environment for
//! scripts. Passphrases are zeroized when dropped.

use std::io::{self, IsTerminal};

use zeroize::Zeroizing;

use crate::CliError;

/// Reads the vault passphrase: `VIGIL_PASSPHRASE`, else a prompt on the terminal.
/// With `confirm`, a prompted passphrase is asked twice.
pub fn read(prompt: &str, confirm: bool) -> Result<Zeroizing<String>, CliError> {
    from_env_or_prompt("VIGIL_PASSPHRASE", prompt, confirm)
}

/// Reads the other vault's passphrase for `merge`.
pub fn read_other() -> Result<Zeroizing<String>, CliError> {
    from_env_or_prompt(
        "VIGIL_OTHER_PASSPHRASE",
        "Passphrase of the other vault: ",
        false,
    )
}

/// Reads a new passphrase: `VIGIL_NEW_PASSPHRASE`, else asked twice.
pub fn read_new() -> Result<Zeroizing<String>, CliError> {
    from_env_or_prompt("VIGIL_NEW_PASSPHRASE", "New passphrase: ", true)
}

/// Reads a new duress passphrase: `VIGIL_DURESS_PASSPHRASE`, else asked twice.
pub fn read_duress() -> Result<Zeroizing<String>, CliError> {
    from_env_or_prompt("VIGIL_DURESS_PASSPHRASE", "Duress passphrase: ", true)
}

fn from_env_or_prompt(
    var: &str,
    prompt: &str,
    confirm: bool,
) -> Result<Zeroizing<String>, CliError> {
    if let Ok(value) = std::env::var(var) {
        return non_empty(Zeroizing::new(value));
    }
    if !io::stdin().is_terminal() {
        return Err(CliError::Message(format!(
            "no passphrase: run in a terminal to be asked, or set {var}"
        )));
    }
    let first = Zeroizing::new(rpassword::prompt_password(prompt)?);
    if confirm {
        let second = Zeroizing::new(rpassword::prompt_password("Repeat it: ")?);
        if *first != *second {
            return Err(CliError::Message("the passphrases differ".into()));
        }
    }
    non_empty(first)
}

fn non_empty(p: Zeroizing<String>) -> Result<Zeroizing<String>, CliError> {
    if p.is_empty() {
        Err(CliError::Message("the passphrase is empty".into()))
    } else {
        Ok(p)
    }
}
