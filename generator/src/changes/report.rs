//! The report as text: a Markdown section for `CHANGES.md`, and a summary for the terminal.

use std::collections::BTreeMap;

use super::{capitalize, code, parse_version, Bump, Change, ChangeKind, ChangeReport, Counts, Impact};

impl ChangeReport {
    /// Names the crate version the bump is computed from in the rendered reports.
    pub fn with_crate_version(mut self, version: impl Into<String>) -> Self {
        self.crate_version = Some(version.into());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for change in &self.changes {
            match (change.impact, change.kind) {
                (Impact::Breaking, _) => counts.breaking += 1,
                (Impact::Additive, ChangeKind::Deprecated) => counts.deprecated += 1,
                (Impact::Additive, _) => counts.additive += 1,
            }
        }
        counts
    }

    /// The bump these changes need. A 0.x crate takes breaking changes in a minor release
    /// and additive ones in a patch release (Cargo treats `0.x` minors as incompatible);
    /// from 1.0 on, major and minor. A version that does not parse is treated as >= 1.0.
    pub fn recommended_bump(&self, current_version: &str) -> Bump {
        let pre_1_0 = parse_version(current_version).is_some_and(|(major, _, _)| major == 0);
        let breaking = self.changes.iter().any(|c| c.impact == Impact::Breaking);
        match (self.changes.is_empty(), breaking, pre_1_0) {
            (true, _, _) => Bump::None,
            (false, true, true) => Bump::Minor,
            (false, true, false) => Bump::Major,
            (false, false, true) => Bump::Patch,
            (false, false, false) => Bump::Minor,
        }
    }

    /// The crate version after these changes, for a crate whose version carries the
    /// Discovery revision as build metadata (`0.1.0+20210302`): the recommended bump
    /// applied, the new revision as build metadata, and at least a patch bump whenever the
    /// revision changed. A version is published once, and two versions that differ only in
    /// build metadata are the same version to Cargo and crates.io, so a new revision always
    /// needs a new version even when the API did not change (its documentation did).
    ///
    /// `None` without a crate version, or when it has no build metadata or does not parse.
    pub fn next_crate_version(&self) -> Option<String> {
        let current = self.crate_version.as_deref()?;
        current.split_once('+')?;
        let mut bump = self.recommended_bump(current);
        if bump == Bump::None && self.old_revision != self.new_revision {
            bump = Bump::Patch;
        }
        Some(format!("{}+{}", bump.apply(current)?, self.new_revision))
    }

    /// `## people v1: revision 20210302 -> 20251117`: the first line of the Markdown
    /// section, and how [`prepend_section`] recognises it.
    pub fn heading(&self) -> String {
        format!("## {} {}: revision {} -> {}", self.api, self.version, self.old_revision, self.new_revision)
    }

    fn bump_phrase(&self, strong: &str) -> String {
        let breaking = self.changes.iter().any(|c| c.impact == Impact::Breaking);
        let Some(version) = &self.crate_version else {
            return match (self.changes.is_empty(), breaking) {
                (true, _) => format!("{strong}none{strong}"),
                (false, true) => format!("{strong}major{strong} ({strong}minor{strong} for a 0.x crate)"),
                (false, false) => format!("{strong}minor{strong} ({strong}patch{strong} for a 0.x crate)"),
            };
        };
        if let Some(next) = self.next_crate_version() {
            let bump = self.recommended_bump(version);
            let why = match bump {
                Bump::None => "a new revision, no API changes",
                Bump::Patch => "additive changes only, 0.x crate",
                Bump::Minor if version.starts_with("0.") => "breaking changes in a 0.x crate",
                Bump::Minor => "additive changes only",
                Bump::Major => "breaking changes",
            };
            let bump = if bump == Bump::None { Bump::Patch } else { bump };
            return format!("{strong}{bump}{strong} ({version} -> {next}: {why})");
        }
        let bump = self.recommended_bump(version);
        let pre_1_0 = parse_version(version).is_some_and(|(major, _, _)| major == 0);
        let why = match (bump, pre_1_0) {
            (Bump::None, _) => "no API changes",
            (Bump::Minor, true) => "breaking changes in a 0.x crate",
            (Bump::Patch, true) => "additive changes only, 0.x crate",
            (Bump::Major, _) => "breaking changes",
            _ => "additive changes only",
        };
        match bump.apply(version) {
            Some(next) if bump != Bump::None => format!("{strong}{bump}{strong} ({version} -> {next}: {why})"),
            _ => format!("{strong}{bump}{strong} ({why})"),
        }
    }

    fn summary(&self, strong: &str) -> String {
        if self.changes.is_empty() {
            return format!(
                "No changes to methods, parameters, schemas, scopes or the base URL; recommended bump: {}.",
                self.bump_phrase(strong)
            );
        }
        let counts = self.counts();
        format!(
            "{} breaking, {} additive, {} deprecations; recommended bump: {}.",
            counts.breaking,
            counts.additive,
            counts.deprecated,
            self.bump_phrase(strong)
        )
    }

    /// A `CHANGES.md` section: the [`heading`](Self::heading), a summary line with the
    /// counts and the recommended bump, then the breaking, additive and deprecation lists,
    /// grouped by kind. Ends with one newline.
    ///
    /// For a crate whose version follows the revision ([`next_crate_version`]), a
    /// `Crate version:` line follows the summary: [`recorded_version`] reads it back.
    ///
    /// [`next_crate_version`]: Self::next_crate_version
    pub fn render_markdown(&self) -> String {
        let mut out = format!("{}\n\n{}\n", self.heading(), self.summary("**"));
        if let Some(next) = self.next_crate_version() {
            out.push_str(&format!("\n{VERSION_LINE}`{next}`.\n"));
        }
        if self.changes.is_empty() {
            return out;
        }
        let breaking: Vec<&Change> = self.changes.iter().filter(|c| c.impact == Impact::Breaking).collect();
        let additive: Vec<&Change> =
            self.changes.iter().filter(|c| c.impact == Impact::Additive && c.kind != ChangeKind::Deprecated).collect();
        let deprecated: Vec<&Change> = self.changes.iter().filter(|c| c.kind == ChangeKind::Deprecated).collect();
        // Breaking always gets a section: "None." is what the reviewer looks for first.
        out.push_str("\n### Breaking\n\n");
        if breaking.is_empty() {
            out.push_str("None.\n");
        }
        push_by_kind(&mut out, &breaking);
        if !additive.is_empty() {
            out.push_str("\n### Additive\n\n");
            push_by_kind(&mut out, &additive);
        }
        if !deprecated.is_empty() {
            out.push_str("\n### Deprecated\n\nAdditive: existing code gets deprecation warnings.\n\n");
            deprecated.iter().for_each(|change| push_line(&mut out, change));
        }
        out
    }

    /// For the terminal: the summary, every breaking change (up to 20), and counts of the
    /// rest by kind.
    pub fn render_text(&self) -> String {
        const SHOWN: usize = 20;
        let mut out = format!(
            "{} {}: revision {} -> {}\n  {}\n",
            self.api,
            self.version,
            self.old_revision,
            self.new_revision,
            self.summary("")
        );
        let breaking: Vec<&Change> = self.changes.iter().filter(|c| c.impact == Impact::Breaking).collect();
        if !breaking.is_empty() {
            out.push_str("  breaking:\n");
            for change in breaking.iter().take(SHOWN) {
                out.push_str(&format!("    {}: {}\n", change.subject, change.detail));
            }
            if breaking.len() > SHOWN {
                out.push_str(&format!("    ... and {} more\n", breaking.len() - SHOWN));
            }
        }
        let mut by_kind: BTreeMap<ChangeKind, usize> = BTreeMap::new();
        for change in self.changes.iter().filter(|c| c.impact == Impact::Additive) {
            *by_kind.entry(change.kind).or_default() += 1;
        }
        if !by_kind.is_empty() {
            let parts: Vec<String> = by_kind.iter().map(|(kind, n)| format!("{}: {n}", kind.title())).collect();
            out.push_str(&format!("  additive: {}\n", parts.join(", ")));
        }
        out
    }
}

fn push_line(out: &mut String, change: &Change) {
    out.push_str(&format!("- {}: {}\n", code(&change.subject), change.detail));
}

/// One `####` heading per kind; `changes` come sorted, so each kind is one run.
fn push_by_kind(out: &mut String, changes: &[&Change]) {
    let mut kind = None;
    for change in changes {
        if kind != Some(change.kind) {
            if kind.is_some() {
                out.push('\n');
            }
            out.push_str(&format!("#### {}\n\n", capitalize(change.kind.title())));
            kind = Some(change.kind);
        }
        push_line(out, change);
    }
}

/// How a section of `CHANGES.md` records the crate version it led to.
const VERSION_LINE: &str = "Crate version: ";

/// The crate version recorded by the newest section of `changelog` that ends at
/// `revision` (its heading reads `... -> {revision}`), when it records one.
pub fn recorded_version(changelog: &str, revision: &str) -> Option<String> {
    let suffix = format!(" -> {revision}");
    let mut in_section = false;
    for line in changelog.lines() {
        if line.starts_with("## ") {
            if in_section {
                return None;
            }
            in_section = line.trim_end().ends_with(&suffix);
        } else if in_section {
            if let Some(rest) = line.strip_prefix(VERSION_LINE) {
                return Some(rest.trim_end().trim_end_matches('.').trim_matches('`').to_owned());
            }
        }
    }
    None
}

/// Title of a new `CHANGES.md`.
pub const CHANGELOG_TITLE: &str =
    "# API changes\n\nWhat changed between revisions of the Discovery document, newest first.\n";

/// Puts the report's section at the top of a `CHANGES.md` text (after its title and
/// introduction, before the first `## ` section).
///
/// Idempotent: a text that already has a section with the same heading (API, version and
/// revision pair) comes back unchanged, and so does any text when the report compares a
/// revision with itself and finds nothing. An empty text gets [`CHANGELOG_TITLE`] first.
pub fn prepend_section(changelog: &str, report: &ChangeReport) -> String {
    let heading = report.heading();
    let same_revision = report.old_revision == report.new_revision && report.is_empty();
    if same_revision || changelog.lines().any(|line| line.trim_end() == heading) {
        return changelog.to_owned();
    }
    let section = report.render_markdown();
    if changelog.trim().is_empty() {
        return format!("{CHANGELOG_TITLE}\n{section}");
    }
    let mut offset = 0;
    for line in changelog.split_inclusive('\n') {
        if line.starts_with("## ") {
            return format!("{}{section}\n{}", &changelog[..offset], &changelog[offset..]);
        }
        offset += line.len();
    }
    format!("{}\n\n{section}", changelog.trim_end())
}
