//! Generates Rust client crates from Google API Discovery documents.
//!
//! The pipeline runs in one direction, one stage per module:
//!
//! 1. [`discovery`] parses the JSON document into a typed model;
//! 2. [`ir`] resolves it into the API that will be emitted: every naming and typing
//!    decision is made there, once;
//! 3. [`emit`] turns the IR into token streams and makes no decisions of its own;
//! 4. [`output`] formats the tokens with `prettyplease` and writes files atomically.
//!
//! [`generate`] runs stages 1 to 4 in memory; [`write_crate`] puts the result on disk.

pub mod changes;
pub mod discovery;
pub mod docs;
pub mod emit;
pub mod ir;
pub mod naming;
pub mod output;
/// The names the runtime crate, generated code and this crate share. It is the runtime's
/// own file, so that each name is written once; the runtime's tests check it against the
/// runtime's macros.
#[path = "../runtime/src/contract.rs"]
pub mod runtime_contract;

use std::path::PathBuf;

pub use output::{write_crate, WriteReport, WriteScope};

/// The version of `discovery-runtime` that this generator's output is written against:
/// generated manifests require it (`discovery-runtime = "0.1.0"`, any later 0.1). A test
/// keeps it equal to the runtime's own version.
pub const RUNTIME_VERSION: &str = "0.1.0";

/// The oldest Rust that the runtime and generated code compile with (`rust-version`); a
/// test keeps it equal to the workspace's.
pub const RUST_VERSION: &str = "1.85";

/// How the generated crate depends on the runtime crate `discovery-runtime`: always by
/// version ([`RUNTIME_VERSION`]), so that the crate can be packaged and published, and from
/// a path or a git repository as well when asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeDependency {
    /// `discovery-runtime = "VERSION"` from crates.io.
    Registry,
    /// `discovery-runtime = { path = "...", version = ... }`, the path relative to the
    /// generated crate (or absolute).
    Path(String),
    /// `discovery-runtime = { git = "URL", version = ... }`: until the runtime is published.
    Git(String),
}

/// Options for one generated crate.
#[derive(Clone, Debug)]
pub struct CrateOptions {
    /// Package name; `google-{name}-{version}` from the document when `None`.
    pub crate_name: Option<String>,
    /// Package version written to the generated `Cargo.toml`. Unless it has build metadata
    /// of its own, the document's revision is added as build metadata (`0.1.0+20251117`),
    /// so that the version says which revision the crate was generated from.
    pub crate_version: String,
    /// Where the runtime crate comes from.
    pub runtime: RuntimeDependency,
    /// The version requirement on the runtime, whatever its source.
    pub runtime_version: String,
    /// The `license` of the generated crate (an SPDX expression).
    pub license: String,
}

impl Default for CrateOptions {
    fn default() -> Self {
        CrateOptions {
            crate_name: None,
            crate_version: "0.1.0".to_owned(),
            runtime: RuntimeDependency::Registry,
            runtime_version: RUNTIME_VERSION.to_owned(),
            license: "MIT OR Apache-2.0".to_owned(),
        }
    }
}

/// One file of a generated crate, with its path relative to the crate root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: PathBuf,
    pub contents: String,
}

/// Counts that describe a generated crate, for summaries and reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Schemas in the document (top-level `schemas` entries).
    pub schemas: usize,
    /// Rust types emitted (schemas, inline objects and enums).
    pub types: usize,
    /// Methods, all resources included.
    pub methods: usize,
    /// Lines of Rust in the generated `src/`.
    pub lines: usize,
}

/// A generated crate held in memory.
#[derive(Clone, Debug)]
pub struct GeneratedCrate {
    /// Package name, e.g. `google-people-v1`.
    pub crate_name: String,
    /// The document's `revision`, e.g. `20251117`.
    pub revision: String,
    /// Every file of the crate, in a fixed order.
    pub files: Vec<GeneratedFile>,
    pub stats: Stats,
}

/// Everything that can stop generation. Never a panic.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The document is not valid JSON or does not fit the Discovery format.
    #[error(transparent)]
    Parse(#[from] discovery::ParseError),
    /// The document parsed but cannot be turned into a client (dangling `$ref`, ...).
    #[error(transparent)]
    Resolve(#[from] ir::ResolveError),
    /// The emitted code did not parse as Rust: a generator bug, reported with context.
    #[error("generated {file} is not valid Rust ({message}); this is a generator bug")]
    Format { file: String, message: String },
}

/// Generates a crate from the text of a Discovery document.
pub fn generate(document_json: &str, options: &CrateOptions) -> Result<GeneratedCrate, Error> {
    let document = discovery::parse(document_json)?;
    let api = ir::resolve(&document)?;
    emit::emit_crate(&api, options)
}

#[cfg(test)]
mod tests {
    /// `key = "value"` of the first line that sets `key` in a manifest.
    fn manifest_value(manifest: &str, key: &str) -> Option<String> {
        manifest.lines().find_map(|line| {
            let value = line.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim();
            Some(value.trim_matches('"').to_owned())
        })
    }

    #[test]
    fn generated_manifests_name_the_runtime_of_this_repository() {
        let runtime = include_str!("../runtime/Cargo.toml");
        assert_eq!(manifest_value(runtime, "version").as_deref(), Some(super::RUNTIME_VERSION));
        let workspace = include_str!("../../Cargo.toml");
        assert_eq!(manifest_value(workspace, "rust-version").as_deref(), Some(super::RUST_VERSION));
        assert!(runtime.contains("rust-version.workspace = true"));
    }
}
