//! Maintainer commands for the workspace, as a library so that tests drive the same code
//! as `cargo xtask`. Each subcommand lives in its own module; `main.rs` only parses flags.

pub mod bench;
pub mod check;
pub mod corpus;
pub mod fetch;
pub mod latest;
pub mod package;
pub mod regen;
pub mod version;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, Context, Result};
use discovery_codegen::{CrateOptions, GeneratedCrate, RuntimeDependency};

/// The People document that regen reads, relative to the workspace root.
pub const PEOPLE_DOCUMENT: &str = "discovery/people.v1.json";
/// The crate regen writes, relative to the workspace root.
pub const GENERATED_DIR: &str = "generated";
/// Package name of the generated People crate; `generated/Cargo.toml` must agree.
pub const PEOPLE_CRATE: &str = "google-people-v1";

/// The workspace root: xtask always sits one level below it, wherever cargo is run from.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Generation options for `generated/`: the runtime is the sibling path dependency. (Only
/// the sources are written there: the manifest is maintained by hand.)
pub fn people_options() -> CrateOptions {
    CrateOptions {
        crate_name: Some(PEOPLE_CRATE.to_owned()),
        runtime: RuntimeDependency::Path("../generator/runtime".to_owned()),
        ..CrateOptions::default()
    }
}

/// Generates the People crate, in memory, from the document pinned under `root`.
pub fn generate_people(root: &Path) -> Result<GeneratedCrate> {
    let document_path = root.join(PEOPLE_DOCUMENT);
    let text =
        std::fs::read_to_string(&document_path).with_context(|| format!("cannot read {}", document_path.display()))?;
    generate(&text, &people_options()).with_context(|| format!("cannot generate from {}", document_path.display()))
}

/// Runs the generator, keeping the whole cause chain of its error in the message.
pub fn generate(document: &str, options: &CrateOptions) -> Result<GeneratedCrate> {
    discovery_codegen::generate(document, options).map_err(|err| anyhow!(error_chain(&err)))
}

/// `outer: inner: innermost`, for errors that are not `Send + Sync` or whose `Display`
/// forwards to a source that would otherwise be printed twice.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// A path for messages: relative to `base` when it lies below it, as given otherwise.
pub fn display_path(path: &Path, base: &Path) -> String {
    path.strip_prefix(base).unwrap_or(path).display().to_string()
}

/// `cargo` (the one running xtask) for a child build, without the variables `cargo run` set
/// for xtask itself, so that the child builds its own workspace with its own settings.
pub fn cargo_command() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key == "CARGO_TARGET_DIR"
            || key.starts_with("CARGO_PKG_")
            || key == "CARGO_MANIFEST_DIR"
            || key == "CARGO_MANIFEST_PATH"
            || key == "CARGO_PRIMARY_PACKAGE"
        {
            command.env_remove(key.as_ref());
        }
    }
    command
}
