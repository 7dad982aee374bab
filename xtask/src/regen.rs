//! `cargo xtask regen`: regenerate `generated/src` from the pinned People document.
//!
//! Offline and deterministic: the only input is `discovery/people.v1.json`, and files whose
//! contents are already right are not touched, so a second run writes nothing.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use discovery_codegen::changes::ChangeReport;
use discovery_codegen::{GeneratedCrate, WriteReport, WriteScope};

use crate::{display_path, fetch, version, GENERATED_DIR, PEOPLE_DOCUMENT};

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
    // The committed state is what the version advice starts from; without git, a fetch
    // still knows the document it replaced.
    let mut base = version::committed_base(root);
    if fetch_first {
        let outcome = fetch::fetch(fetch::PEOPLE_URL, &document_path)?;
        println!("fetch: {}", outcome.summary());
        if base.is_none() {
            let current = version::package_version(&read(&version::manifest_path(root))?)?;
            base = outcome.old_text.map(|document| version::Base { version: current, document });
        }
    }

    let summary = regen(root)?;
    print!("{}", summary.render());

    let document = read(&document_path)?;
    let current = version::package_version(&read(&version::manifest_path(root))?)?;
    let advice = version::advise(base.as_ref(), &current, &document)?;
    if let Some(report) = &advice.report {
        record_report(root, report)?;
    }
    for line in version::apply(root, &advice)? {
        println!("{line}");
    }
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
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

/// The API change report between the document `generated/` was last generated from and
/// the one just used, with the advice starting from the crate's current version: printed,
/// and prepended to `generated/CHANGES.md`.
pub fn report_api_changes(root: &Path, old_document: &str, new_document: &str) -> Result<()> {
    if old_document == new_document {
        return Ok(());
    }
    let crate_version = version::package_version(&read(&version::manifest_path(root))?)?;
    let report = discovery_codegen::changes::compare(old_document, new_document)
        .context("cannot compare the previous and the new document")?
        .with_crate_version(crate_version);
    record_report(root, &report)
}

/// Prints `report` and prepends it to `generated/CHANGES.md` (newest first; the same
/// revision pair is never added twice, so running regen again changes nothing).
fn record_report(root: &Path, report: &ChangeReport) -> Result<()> {
    if report.is_empty() && report.old_revision == report.new_revision {
        println!("API unchanged (the documents differ only in text the generated code does not use)");
        return Ok(());
    }
    println!("\n{}", report.render_text());
    let changelog_path = root.join(GENERATED_DIR).join("CHANGES.md");
    let existing = match std::fs::read_to_string(&changelog_path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", changelog_path.display())),
    };
    let updated = discovery_codegen::changes::prepend_section(&existing, report);
    if updated != existing {
        discovery_codegen::output::write_atomically(&changelog_path, updated.as_bytes())
            .with_context(|| format!("cannot write {}", changelog_path.display()))?;
        println!("change report added to {}", display_path(&changelog_path, root));
    }
    Ok(())
}

/// `cargo xtask diff OLD NEW`: the change report between any two documents.
pub fn diff(old_path: &Path, new_path: &Path, markdown: bool) -> Result<()> {
    let read = |path: &Path| std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()));
    let report = discovery_codegen::changes::compare(&read(old_path)?, &read(new_path)?)?;
    print!("{}", if markdown { report.render_markdown() } else { report.render_text() });
    Ok(())
}
