//! `cargo xtask latest`: the workspace as a user who adds the crates today gets it, with the
//! newest semver-compatible version of every dependency instead of the pinned `Cargo.lock`.
//!
//! The workspace's files (what git tracks, and untracked files it does not ignore) are
//! copied to `target/latest/ws`, `cargo update` moves every dependency to its newest
//! compatible version there, and CI's lint and test commands run on the copy: clippy and
//! rustdoc with `-D warnings`, then the tests. A deprecation in a new release of a
//! dependency, or a behaviour change that breaks a test, shows up here before users report
//! it. The repository is not touched; fix what this finds there, and update `Cargo.lock`
//! when the fix needs a newer dependency. Needs the crates.io index; not run in CI.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};

use crate::{cargo_command, display_path};

/// `cargo xtask latest` options.
#[derive(Clone, Debug)]
pub struct LatestOptions {
    /// The copy goes to `dir/ws`, its build to `dir/target` (kept between runs).
    pub dir: PathBuf,
}

/// One cargo command run on the copy.
struct Step {
    what: &'static str,
    args: &'static [&'static str],
    env: Option<(&'static str, &'static str)>,
}

/// CI's lint and test commands.
const STEPS: [Step; 3] = [
    Step {
        what: "clippy -D warnings",
        args: &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
        env: None,
    },
    Step {
        what: "rustdoc -D warnings",
        args: &["doc", "--workspace", "--no-deps"],
        env: Some(("RUSTDOCFLAGS", "-D warnings")),
    },
    Step { what: "tests", args: &["test", "--workspace"], env: None },
];

/// `cargo xtask latest`.
pub fn run(root: &Path, options: &LatestOptions) -> Result<()> {
    let started = Instant::now();
    let copy = options.dir.join("ws");
    let target = options.dir.join("target");
    let files = copy_workspace(root, &copy)?;
    println!("copied {files} files of the workspace to {}", display_path(&copy, root));

    let before = locked_versions(&fs::read_to_string(copy.join("Cargo.lock")).unwrap_or_default());
    let status = cargo_command().current_dir(&copy).arg("update").status().context("cannot run cargo update")?;
    ensure!(status.success(), "cargo update failed");
    let after = locked_versions(&fs::read_to_string(copy.join("Cargo.lock"))?);
    let updated = updated_packages(&before, &after);
    println!("{} package(s) moved to a newer version:", updated.len());
    for line in &updated {
        println!("  {line}");
    }

    let mut failed = Vec::new();
    for step in STEPS {
        println!("\n==> {} (cargo {})", step.what, step.args.join(" "));
        let step_started = Instant::now();
        let mut command = cargo_command();
        command.current_dir(&copy).args(step.args).env("CARGO_TARGET_DIR", &target);
        if let Some((key, value)) = step.env {
            command.env(key, value);
        }
        let ok = command.status().with_context(|| format!("cannot run cargo for {}", step.what))?.success();
        let outcome = if ok { "ok" } else { "FAILED" };
        println!("<== {}: {outcome} ({:.0} s)", step.what, step_started.elapsed().as_secs_f64());
        if !ok {
            failed.push(step.what);
        }
    }
    println!("\nlatest dependencies, {:.0} s in all", started.elapsed().as_secs_f64());
    if !failed.is_empty() {
        bail!("with the newest dependencies, these fail: {}", failed.join(", "));
    }
    println!("clippy, rustdoc and the tests pass with the newest semver-compatible dependencies");
    Ok(())
}

/// Replaces `copy` with the workspace's files; returns how many were copied. Symbolic links
/// are copied as the files they point to.
fn copy_workspace(root: &Path, copy: &Path) -> Result<usize> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .output()
        .context("cannot run git: `cargo xtask latest` copies what git tracks")?;
    ensure!(output.status.success(), "git ls-files failed: {}", String::from_utf8_lossy(&output.stderr));
    if copy.exists() {
        fs::remove_dir_all(copy).with_context(|| format!("cannot remove {}", copy.display()))?;
    }
    let mut count = 0;
    for name in output.stdout.split(|&b| b == 0).filter(|name| !name.is_empty()) {
        let relative = Path::new(std::str::from_utf8(name).context("a file name is not UTF-8")?);
        let source = root.join(relative);
        // Deleted but not yet staged: git still lists it.
        if !source.exists() {
            continue;
        }
        let target = copy.join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(&source, &target).with_context(|| format!("cannot copy {}", source.display()))?;
        count += 1;
    }
    Ok(count)
}

/// Every `name -> versions` of a `Cargo.lock` (a name can be locked at several versions).
fn locked_versions(lockfile: &str) -> BTreeMap<String, Vec<String>> {
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Ok(document) = lockfile.parse::<toml_edit::DocumentMut>() else { return versions };
    let packages = document.get("package").and_then(|p| p.as_array_of_tables());
    for package in packages.into_iter().flatten() {
        let name = package.get("name").and_then(|v| v.as_str());
        let version = package.get("version").and_then(|v| v.as_str());
        if let (Some(name), Some(version)) = (name, version) {
            versions.entry(name.to_owned()).or_default().push(version.to_owned());
        }
    }
    versions
}

/// `name old -> new` for each package whose locked versions changed.
fn updated_packages(before: &BTreeMap<String, Vec<String>>, after: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    after
        .iter()
        .filter_map(|(name, new)| {
            let old = before.get(name)?;
            (old != new).then(|| format!("{name} {} -> {}", old.join(", "), new.join(", ")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_read_from_the_two_lockfiles() {
        let before = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"b\"\nversion = \"0.2.1\"\n\n\
                      [[package]]\nname = \"c\"\nversion = \"2.0.0\"\n";
        let after = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.3\"\n\n[[package]]\nname = \"b\"\nversion = \"0.2.1\"\n\n\
                     [[package]]\nname = \"d\"\nversion = \"1.0.0\"\n";
        let updated = updated_packages(&locked_versions(before), &locked_versions(after));
        assert_eq!(updated, ["a 1.0.0 -> 1.0.3"]);
        assert!(locked_versions("not toml [").is_empty());
    }
}
