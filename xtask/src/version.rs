//! The People crate's version follows its Discovery document.
//!
//! The version is `CORE+REVISION`: the build metadata is the revision `src/` was generated
//! from (`0.1.0+20251117`). When regen meets a document other than the committed one, the
//! change report between the two advises the next version (breaking: the minor of a 0.x
//! crate, the major from 1.0; additive: the patch of a 0.x crate, the minor from 1.0; a new
//! revision without API changes: the patch, as a version can be published only once), and
//! regen writes it into `generated/Cargo.toml` and into the version requirements of the
//! workspace's crates that depend on it, so that the maintainer reviews the bump with the
//! diff. The advice is computed from the committed state (`HEAD`), so running regen again
//! gives the same version instead of bumping twice.
//!
//! `cargo xtask check` fails when the version does not carry the document's revision, when
//! its core is below the advice (the committed document against `HEAD`'s, or the version
//! `CHANGES.md` recorded for this revision), or when a dependent's requirement rejects it.
//! A core above the advice is accepted: a larger bump (a 1.0 release, say) is always safe,
//! and it is the maintainer's call.

use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use discovery_codegen::changes::{self, ChangeReport};
use serde_json::Value;

use crate::{display_path, GENERATED_DIR, PEOPLE_CRATE, PEOPLE_DOCUMENT};

/// The People crate's manifest, relative to the workspace root.
pub fn manifest_path(root: &Path) -> PathBuf {
    root.join(GENERATED_DIR).join("Cargo.toml")
}

/// What the crate's version and document were at the last commit: what the next version
/// is computed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base {
    pub version: String,
    pub document: String,
}

/// The committed state, from git's `HEAD`; `None` outside a git checkout or before the
/// People crate was committed.
pub fn committed_base(root: &Path) -> Option<Base> {
    let show = |path: &str| -> Option<String> {
        // `./`: relative to `root`, not to the repository's top, so that a copy of the
        // workspace inside a checkout (`cargo xtask latest`) has no committed state.
        let output = Command::new("git").arg("-C").arg(root).args(["show", &format!("HEAD:./{path}")]).output().ok()?;
        if !output.status.success() {
            return None;
        }
        String::from_utf8(output.stdout).ok()
    };
    let manifest = show(&format!("{GENERATED_DIR}/Cargo.toml"))?;
    let document = show(PEOPLE_DOCUMENT)?;
    Some(Base { version: package_version(&manifest).ok()?, document })
}

/// The version regen gives the crate, and the report it comes from.
#[derive(Clone, Debug)]
pub struct Advice {
    pub version: String,
    /// `None` when there is nothing to compare: no base, or the base's document.
    pub report: Option<ChangeReport>,
}

/// The advised version for `document`, starting from `base`; `current` is the version in
/// the working tree, whose core is kept when there is no base.
pub fn advise(base: Option<&Base>, current: &str, document: &str) -> Result<Advice> {
    let revision = document_revision(document)?;
    let Some(base) = base else {
        return Ok(Advice { version: format!("{}+{revision}", core(current)), report: None });
    };
    if base.document == document {
        return Ok(Advice { version: format!("{}+{revision}", core(&base.version)), report: None });
    }
    // A committed version without the revision (before this policy) gets it, so that the
    // report knows the crate follows the document.
    let base_version = match base.version.split_once('+') {
        Some(_) => base.version.clone(),
        None => format!("{}+{}", base.version, document_revision(&base.document)?),
    };
    let report = changes::compare(&base.document, document)
        .context("cannot compare the committed document with the current one")?
        .with_crate_version(base_version);
    let version = report
        .next_crate_version()
        .with_context(|| format!("{}: version `{}` is not MAJOR.MINOR.PATCH", PEOPLE_CRATE, base.version))?;
    Ok(Advice { version, report: Some(report) })
}

/// Writes `advice` into the manifest, unless the manifest carries a larger version for the
/// same revision (a maintainer's choice), and raises the dependents' requirements that do
/// not accept the version. Returns what it did, for the terminal.
pub fn apply(root: &Path, advice: &Advice) -> Result<Vec<String>> {
    let path = manifest_path(root);
    let manifest = read(&path)?;
    let current = package_version(&manifest)?;
    let mut done = Vec::new();
    let same_revision = metadata(&current) == metadata(&advice.version);
    let version = if current == advice.version {
        current
    } else if same_revision && compare_cores(&current, &advice.version) == Some(Ordering::Greater) {
        done.push(format!(
            "{}: version {current} kept (above the advised {})",
            display_path(&path, root),
            advice.version
        ));
        current
    } else {
        write(&path, &set_package_version(&manifest, &advice.version)?)?;
        done.push(format!("{}: version {current} -> {}", display_path(&path, root), advice.version));
        advice.version.clone()
    };
    for dependent in dependent_manifests(root)? {
        let text = read(&dependent)?;
        if let Some(updated) = set_requirement(&text, PEOPLE_CRATE, &version)? {
            write(&dependent, &updated)?;
            done.push(format!("{}: requires {PEOPLE_CRATE} {}", display_path(&dependent, root), core(&version)));
        }
    }
    Ok(done)
}

/// Why the crate's version and its document disagree; empty when they agree.
pub fn problems(root: &Path) -> Result<Vec<String>> {
    let path = manifest_path(root);
    let shown = display_path(&path, root);
    let version = package_version(&read(&path)?)?;
    let document = read(&root.join(PEOPLE_DOCUMENT))?;
    let revision = document_revision(&document)?;
    let mut problems = Vec::new();
    if metadata(&version) != Some(revision.as_str()) {
        problems.push(format!(
            "{shown}: version {version} does not carry the document's revision {revision} as build metadata \
             (run `cargo xtask regen`)"
        ));
    }
    let advice = advise(committed_base(root).as_ref(), &version, &document)?;
    let mut floors = vec![(advice.version.clone(), "the change report against the committed document advises")];
    let changelog = fs::read_to_string(root.join(GENERATED_DIR).join("CHANGES.md")).unwrap_or_default();
    if let Some(recorded) = changes::recorded_version(&changelog, &revision) {
        floors.push((recorded, "CHANGES.md records"));
    }
    for (floor, source) in floors {
        match compare_cores(&version, &floor) {
            Some(Ordering::Less) => problems
                .push(format!("{shown}: version {version} is below {floor}, which {source} for revision {revision}")),
            None => problems.push(format!("{shown}: version {version} or {floor} is not MAJOR.MINOR.PATCH")),
            Some(_) => {}
        }
    }
    let parsed = semver::Version::parse(&version).ok();
    for dependent in dependent_manifests(root)? {
        for requirement in requirements(&read(&dependent)?, PEOPLE_CRATE)? {
            let accepts = semver::VersionReq::parse(&requirement)
                .ok()
                .zip(parsed.as_ref())
                .is_some_and(|(requirement, version)| requirement.matches(version));
            if !accepts {
                problems.push(format!(
                    "{}: requires {PEOPLE_CRATE} `{requirement}`, which does not accept {version}",
                    display_path(&dependent, root)
                ));
            }
        }
    }
    Ok(problems)
}

/// `package.version` of a manifest.
pub fn package_version(manifest: &str) -> Result<String> {
    let document: toml_edit::DocumentMut = manifest.parse().context("not a TOML manifest")?;
    document
        .get("package")
        .and_then(|package| package.get("version"))
        .and_then(|version| version.as_str())
        .map(str::to_owned)
        .context("no package.version in the manifest")
}

/// The manifest with `package.version` replaced, comments and layout kept.
pub fn set_package_version(manifest: &str, version: &str) -> Result<String> {
    let mut document: toml_edit::DocumentMut = manifest.parse().context("not a TOML manifest")?;
    let Some(item) = document.get_mut("package").and_then(|package| package.get_mut("version")) else {
        bail!("no package.version in the manifest");
    };
    let decor = item.as_value().map(|value| value.decor().clone());
    *item = toml_edit::value(version);
    if let (Some(decor), Some(value)) = (decor, item.as_value_mut()) {
        *value.decor_mut() = decor;
    }
    Ok(document.to_string())
}

const DEPENDENCY_TABLES: &[&str] = &["dependencies", "dev-dependencies", "build-dependencies"];

/// The version requirements on `name` in a manifest's dependency tables.
fn requirements(manifest: &str, name: &str) -> Result<Vec<String>> {
    let document: toml_edit::DocumentMut = manifest.parse().context("not a TOML manifest")?;
    let mut found = Vec::new();
    for table in DEPENDENCY_TABLES {
        let Some(dependency) = document.get(table).and_then(|t| t.get(name)) else { continue };
        let requirement = dependency.as_str().or_else(|| dependency.get("version").and_then(|v| v.as_str()));
        found.extend(requirement.map(str::to_owned));
    }
    Ok(found)
}

/// The manifest with every version requirement on `name` that rejects `version` set to
/// `version`'s core; `None` when none had to change.
fn set_requirement(manifest: &str, name: &str, version: &str) -> Result<Option<String>> {
    let mut document: toml_edit::DocumentMut = manifest.parse().context("not a TOML manifest")?;
    let parsed = semver::Version::parse(version).with_context(|| format!("`{version}` is not a version"))?;
    let accepts = |requirement: &str| semver::VersionReq::parse(requirement).is_ok_and(|r| r.matches(&parsed));
    let mut changed = false;
    for table in DEPENDENCY_TABLES {
        let Some(dependency) = document.get_mut(table).and_then(|t| t.get_mut(name)) else { continue };
        if dependency.as_str().is_some_and(|requirement| !accepts(requirement)) {
            *dependency = toml_edit::value(core(version));
            changed = true;
        } else if let Some(table) = dependency.as_table_like_mut() {
            if table.get("version").and_then(|v| v.as_str()).is_some_and(|requirement| !accepts(requirement)) {
                table.insert("version", toml_edit::value(core(version)));
                changed = true;
            }
        }
    }
    Ok(changed.then(|| document.to_string()))
}

/// The manifests of the workspace members other than the People crate.
fn dependent_manifests(root: &Path) -> Result<Vec<PathBuf>> {
    let workspace: toml_edit::DocumentMut = read(&root.join("Cargo.toml"))?.parse().context("Cargo.toml")?;
    let members = workspace.get("workspace").and_then(|w| w.get("members")).and_then(|m| m.as_array());
    Ok(members
        .into_iter()
        .flatten()
        .filter_map(|member| member.as_str())
        .filter(|member| *member != GENERATED_DIR)
        .map(|member| root.join(member).join("Cargo.toml"))
        .filter(|path| path.is_file())
        .collect())
}

/// The `revision` of a Discovery document.
pub fn document_revision(document: &str) -> Result<String> {
    let value: Value = serde_json::from_str(document).context("the Discovery document is not JSON")?;
    value.get("revision").and_then(Value::as_str).map(str::to_owned).context("the Discovery document has no revision")
}

/// `0.1.0` of `0.1.0+20251117`.
pub fn core(version: &str) -> &str {
    version.split_once('+').map_or(version, |(core, _)| core)
}

fn metadata(version: &str) -> Option<&str> {
    version.split_once('+').map(|(_, metadata)| metadata)
}

/// Orders two versions by their core (pre-release included), ignoring build metadata as
/// Cargo does; `None` when either does not parse.
fn compare_cores(a: &str, b: &str) -> Option<Ordering> {
    let a = semver::Version::parse(core(a)).ok()?;
    let b = semver::Version::parse(core(b)).ok()?;
    Some(a.cmp(&b))
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<()> {
    discovery_codegen::output::write_atomically(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_line_changes_and_nothing_else() {
        let manifest =
            "# why\n[package]\nname = \"x\"\n# the revision\nversion = \"0.1.0+1\" # trailing\nedition = \"2021\"\n";
        assert_eq!(package_version(manifest).unwrap(), "0.1.0+1");
        let updated = set_package_version(manifest, "0.2.0+2").unwrap();
        assert_eq!(updated, manifest.replace("0.1.0+1", "0.2.0+2"));
        assert!(set_package_version("[workspace]\n", "1.0.0").is_err());
    }

    #[test]
    fn requirements_are_raised_only_when_they_reject_the_version() {
        let manifest = "[dependencies]\ngoogle-people-v1 = { path = \"..\", version = \"0.1.0\" } # kept\n\n\
                        [dev-dependencies]\ngoogle-people-v1 = \"0.1\"\n";
        assert_eq!(set_requirement(manifest, PEOPLE_CRATE, "0.1.4+2").unwrap(), None);
        let updated = set_requirement(manifest, PEOPLE_CRATE, "0.2.0+2").unwrap().unwrap();
        assert_eq!(
            updated,
            "[dependencies]\ngoogle-people-v1 = { path = \"..\", version = \"0.2.0\" } # kept\n\n\
             [dev-dependencies]\ngoogle-people-v1 = \"0.2.0\"\n"
        );
        assert_eq!(requirements(&updated, PEOPLE_CRATE).unwrap(), ["0.2.0", "0.2.0"]);
        assert_eq!(requirements("[dependencies]\nother = \"1\"\n", PEOPLE_CRATE).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn cores_compare_as_cargo_does() {
        assert_eq!(compare_cores("0.1.10+1", "0.1.9+2"), Some(Ordering::Greater));
        assert_eq!(compare_cores("0.1.0+1", "0.1.0+2"), Some(Ordering::Equal));
        assert_eq!(compare_cores("1.0.0-rc.1", "1.0.0"), Some(Ordering::Less));
        assert_eq!(compare_cores("one", "1.0.0"), None);
        assert_eq!(core("0.1.0+20251117"), "0.1.0");
        assert_eq!(metadata("0.1.0"), None);
    }

    #[test]
    fn without_a_base_the_core_is_kept_and_the_revision_followed() {
        let document = r#"{"revision": "20251117"}"#;
        assert_eq!(advise(None, "0.3.0+20210302", document).unwrap().version, "0.3.0+20251117");
        let base = Base { version: "0.4.0+20251117".into(), document: document.into() };
        let advice = advise(Some(&base), "9.9.9", document).unwrap();
        assert_eq!((advice.version.as_str(), advice.report.is_none()), ("0.4.0+20251117", true));
        assert!(advise(None, "0.1.0", "{}").unwrap_err().to_string().contains("no revision"));
    }
}
