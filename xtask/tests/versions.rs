//! The People crate's version follows its document: regen applies the change report's advice
//! (from the committed state, so a second regen bumps nothing) and check catches versions
//! that disagree, in a scratch workspace under git holding the two People revisions.

use std::fs;
use std::path::Path;
use std::process::Command;

use xtask::{check, regen, version, GENERATED_DIR, PEOPLE_DOCUMENT};

mod common;

use common::Scratch;

const OLD: &str = include_str!("../../generator/tests/fixtures/people.v1.20210302.json");
const NEW: &str = include_str!("../../discovery/people.v1.json");

fn git(root: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "user.name=xtask test", "-c", "user.email=xtask@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn version_of(root: &Path) -> String {
    version::package_version(&fs::read_to_string(version::manifest_path(root)).unwrap()).unwrap()
}

fn set_version(root: &Path, version: &str) {
    let path = version::manifest_path(root);
    let updated = version::set_package_version(&fs::read_to_string(&path).unwrap(), version).unwrap();
    fs::write(path, updated).unwrap();
}

/// What check says about the version, after checking that it fails.
fn check_error(root: &Path) -> String {
    check::run(root).expect_err("check should fail");
    version::problems(root).unwrap().join("\n")
}

/// A workspace with the People crate at revision 20210302, version `0.1.0+20210302`, and a
/// member that dev-depends on it, committed.
fn workspace(name: &str) -> Option<Scratch> {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("git is not installed: skipped");
        return None;
    }
    let scratch = Scratch::new("version", name);
    let root = &scratch.0;
    fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = [\"generated\", \"dependent\"]\n").unwrap();
    fs::create_dir_all(root.join("discovery")).unwrap();
    fs::write(root.join(PEOPLE_DOCUMENT), OLD).unwrap();
    fs::create_dir_all(root.join(GENERATED_DIR)).unwrap();
    fs::write(
        version::manifest_path(root),
        "[package]\nname = \"google-people-v1\"\n# Follows the document.\nversion = \"0.1.0+20210302\"\nedition = \"2021\"\n",
    )
    .unwrap();
    fs::create_dir_all(root.join("dependent")).unwrap();
    fs::write(
        root.join("dependent/Cargo.toml"),
        "[package]\nname = \"dependent\"\n\n[dev-dependencies]\ngoogle-people-v1 = { path = \"../generated\", version = \"0.1.0\" }\n",
    )
    .unwrap();
    regen::regen(root).unwrap();
    git(root, &["init", "--quiet"]);
    git(root, &["add", "."]);
    git(root, &["commit", "--quiet", "-m", "people 20210302"]);
    check::run(root).unwrap();
    Some(scratch)
}

#[test]
fn regen_applies_the_advice_once_and_check_catches_hand_edits() {
    let Some(scratch) = workspace("follow") else { return };
    let root = &scratch.0;

    // 20210302 -> 20251117 only adds: the patch of a 0.x crate.
    fs::write(root.join(PEOPLE_DOCUMENT), NEW).unwrap();
    let error = format!("{:#}", check::run(root).unwrap_err());
    assert!(error.contains("stale and its version disagrees"), "sources and version both lag behind: {error}");
    regen::run(root, false).unwrap();
    assert_eq!(version_of(root), "0.1.1+20251117");
    let manifest = fs::read_to_string(version::manifest_path(root)).unwrap();
    assert!(manifest.contains("# Follows the document.\nversion = \"0.1.1+20251117\"\n"), "{manifest}");
    let changelog = fs::read_to_string(root.join(GENERATED_DIR).join("CHANGES.md")).unwrap();
    assert!(changelog.contains("## people v1: revision 20210302 -> 20251117"), "{changelog}");
    assert!(changelog.contains("(0.1.0+20210302 -> 0.1.1+20251117: additive changes only, 0.x crate)"), "{changelog}");
    assert!(changelog.contains("Crate version: `0.1.1+20251117`."), "{changelog}");
    let dependent = fs::read_to_string(root.join("dependent/Cargo.toml")).unwrap();
    assert!(dependent.contains("version = \"0.1.0\""), "0.1.0 accepts 0.1.1: left alone\n{dependent}");
    check::run(root).unwrap();

    // Again: the advice starts from the commit, so nothing moves.
    regen::run(root, false).unwrap();
    assert_eq!(version_of(root), "0.1.1+20251117");
    assert_eq!(fs::read_to_string(root.join(GENERATED_DIR).join("CHANGES.md")).unwrap(), changelog);

    // Hand edits.
    set_version(root, "0.1.0+20251117");
    assert!(check_error(root).contains("version 0.1.0+20251117 is below 0.1.1+20251117"), "{}", check_error(root));
    set_version(root, "0.1.1+20251118");
    assert!(check_error(root).contains("does not carry the document's revision 20251117"), "{}", check_error(root));
    set_version(root, "0.1.1");
    assert!(check_error(root).contains("does not carry"), "{}", check_error(root));
    // A larger bump is the maintainer's call: regen keeps it and raises the requirements.
    set_version(root, "0.2.0+20251117");
    assert!(check_error(root).contains("requires google-people-v1 `0.1.0`, which does not accept 0.2.0+20251117"));
    regen::run(root, false).unwrap();
    assert_eq!(version_of(root), "0.2.0+20251117");
    check::run(root).unwrap();

    // Committed, a lowered version is still caught: CHANGES.md recorded the advice.
    set_version(root, "0.1.0+20251117");
    git(root, &["commit", "--quiet", "-am", "people 20251117, version lowered by hand"]);
    let error = format!("{:#}", check::run(root).unwrap_err());
    assert!(!error.contains("stale"), "the sources are fine: {error}");
    let error = check_error(root);
    assert!(error.contains("below 0.1.1+20251117, which CHANGES.md records"), "{error}");
}

#[test]
fn a_breaking_revision_bumps_the_minor_and_the_requirements_that_reject_it() {
    let Some(scratch) = workspace("breaking") else { return };
    let root = &scratch.0;
    fs::write(root.join(PEOPLE_DOCUMENT), NEW).unwrap();
    regen::run(root, false).unwrap();
    git(root, &["commit", "--quiet", "-am", "people 20251117"]);

    // Back to 20210302: methods and fields disappear.
    fs::write(root.join(PEOPLE_DOCUMENT), OLD).unwrap();
    regen::run(root, false).unwrap();
    assert_eq!(version_of(root), "0.2.0+20210302");
    let dependent = fs::read_to_string(root.join("dependent/Cargo.toml")).unwrap();
    assert!(dependent.contains("google-people-v1 = { path = \"../generated\", version = \"0.2.0\" }"), "{dependent}");
    check::run(root).unwrap();

    // A requirement edited back by hand no longer accepts the crate.
    fs::write(root.join("dependent/Cargo.toml"), dependent.replace("\"0.2.0\"", "\"0.1\"")).unwrap();
    let error = check_error(root);
    assert!(error.contains("requires google-people-v1 `0.1`, which does not accept 0.2.0+20210302"), "{error}");
}
