//! `cargo xtask regen`: regenerate `generated/src` from the pinned People document.
//!
//! Offline and deterministic: the only input is `discovery/people.v1.json`, and files whose
//! contents are already right are not touched, so a second run writes nothing.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use discovery_codegen::{GeneratedCrate, WriteReport, WriteScope};

use crate::{fetch, GENERATED_DIR, PEOPLE_DOCUMENT};

/// What one regen did.
#[derive(Debug)]
pub struct RegenSummary {
    pub krate: GeneratedCrate,
    pub report: WriteReport,
    pub elapsed: Duration,
}

impl RegenSummary {
    /// A few lines for the terminal.
    pub fn render(&self) -> String {
        let stats = &self.krate.stats;
        let mut text = format!(
            "{} revision {}: {} schemas, {} types, {} methods, {} lines\n\
             {GENERATED_DIR}/: {} written, {} unchanged, {} removed ({} ms)\n",
            self.krate.crate_name,
            self.krate.revision,
            stats.schemas,
            stats.types,
            stats.methods,
            stats.lines,
            self.report.written.len(),
            self.report.unchanged.len(),
            self.report.removed.len(),
            self.elapsed.as_millis(),
        );
        for (label, paths) in [("written", &self.report.written), ("removed", &self.report.removed)] {
            for path in paths {
                text.push_str(&format!("  {label} {GENERATED_DIR}/{}\n", path.display()));
            }
        }
        text
    }
}

/// `cargo xtask regen [--fetch]`.
pub fn run(root: &Path, fetch_first: bool) -> Result<()> {
    let document_path = root.join(PEOPLE_DOCUMENT);
    let old_document = if fetch_first {
        let outcome = fetch::fetch(fetch::PEOPLE_URL, &document_path)?;
        println!("fetch: {}", outcome.summary());
        outcome.old_text
    } else {
        committed_document(root)
    };

    let summary = regen(root)?;
    print!("{}", summary.render());

    let new_document =
        std::fs::read_to_string(&document_path).with_context(|| format!("cannot read {}", document_path.display()))?;
    if let Some(old_document) = old_document {
        report_api_changes(&old_document, &new_document)?;
    }
    Ok(())
}

/// Generates from the pinned document and writes `generated/src` (the manifest, tests and
/// README of `generated/` are maintained by hand).
pub fn regen(root: &Path) -> Result<RegenSummary> {
    let started = Instant::now();
    let krate = crate::generate_people(root)?;
    let crate_dir = root.join(GENERATED_DIR);
    let report = discovery_codegen::write_crate(&crate_dir, &krate, WriteScope::SourcesOnly)
        .with_context(|| format!("cannot write {}", crate_dir.display()))?;
    Ok(RegenSummary { krate, report, elapsed: started.elapsed() })
}

/// Hook for the API change report: called after a successful regen with the document the
/// previous generation came from (before `--fetch`, or as committed at `HEAD`) and the one
/// just used. The change report module plugs in here; until then there is nothing to say.
pub fn report_api_changes(old_document: &str, new_document: &str) -> Result<()> {
    let _ = (old_document, new_document);
    Ok(())
}

/// The pinned document as committed at `HEAD`: what `generated/` was last reviewed against.
/// `None` outside a git checkout or before the first commit: there is then nothing to compare.
fn committed_document(root: &Path) -> Option<String> {
    let output =
        Command::new("git").arg("-C").arg(root).args(["show", &format!("HEAD:{PEOPLE_DOCUMENT}")]).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()
}
