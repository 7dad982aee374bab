//! `regen` and `check` on a scratch workspace built around a tiny fixture document.

use std::fs;
use std::path::{Path, PathBuf};

use discovery_codegen::output::HEADER;
use discovery_codegen::{write_crate, GeneratedCrate, GeneratedFile, Stats, WriteScope};
use xtask::check::check_crate;
use xtask::regen::regen;
use xtask::{GENERATED_DIR, PEOPLE_DOCUMENT};

mod common;

use common::Scratch;

const FIXTURE: &str = r#"{
  "kind": "discovery#restDescription",
  "name": "people",
  "version": "v1",
  "revision": "20240101",
  "title": "People API",
  "rootUrl": "https://people.googleapis.com/",
  "servicePath": "",
  "baseUrl": "https://people.googleapis.com/",
  "schemas": {
    "Person": {
      "id": "Person",
      "type": "object",
      "description": "A person.",
      "properties": {
        "resourceName": {"type": "string"},
        "etag": {"type": "string"}
      }
    }
  },
  "resources": {
    "people": {
      "methods": {
        "get": {
          "id": "people.people.get",
          "path": "v1/{+resourceName}",
          "flatPath": "v1/people/{peopleId}",
          "httpMethod": "GET",
          "parameters": {
            "resourceName": {"type": "string", "location": "path", "required": true, "pattern": "^people/[^/]+$"}
          },
          "parameterOrder": ["resourceName"],
          "response": {"$ref": "Person"}
        }
      }
    }
  }
}
"#;

/// A workspace root with the fixture pinned and a hand-written `generated/Cargo.toml`.
fn workspace(name: &str) -> Scratch {
    let scratch = Scratch::new("regen", name);
    let document = scratch.0.join(PEOPLE_DOCUMENT);
    fs::create_dir_all(document.parent().unwrap()).unwrap();
    fs::write(&document, FIXTURE).unwrap();
    fs::create_dir_all(scratch.0.join(GENERATED_DIR)).unwrap();
    fs::write(scratch.0.join(GENERATED_DIR).join("Cargo.toml"), "# hand written\n").unwrap();
    scratch
}

fn generated(root: &Path) -> PathBuf {
    root.join(GENERATED_DIR)
}

#[test]
fn regen_writes_sources_only_and_a_second_run_writes_nothing() {
    let scratch = workspace("twice");
    let first = regen(&scratch.0).unwrap();
    assert_eq!(first.krate.crate_name, "google-people-v1");
    assert_eq!(first.krate.revision, "20240101");
    assert!(!first.report.written.is_empty());
    assert!(first.report.written.iter().all(|path| path.starts_with("src")), "{:?}", first.report.written);
    assert!(first.render().contains("revision 20240101"), "{}", first.render());
    assert_eq!(fs::read_to_string(generated(&scratch.0).join("Cargo.toml")).unwrap(), "# hand written\n");

    let second = regen(&scratch.0).unwrap();
    assert!(second.report.written.is_empty(), "second regen wrote {:?}", second.report.written);
    assert!(second.report.removed.is_empty());
    assert_eq!(second.report.unchanged, first.report.written);

    let report = check_crate(&generated(&scratch.0), &second.krate).unwrap();
    assert!(report.is_up_to_date(), "{}", report.render());
}

#[test]
fn check_after_regen_detects_an_edit_in_a_copy() {
    let scratch = workspace("edit");
    let summary = regen(&scratch.0).unwrap();
    let lib = generated(&scratch.0).join("src/lib.rs");
    let mut text = fs::read_to_string(&lib).unwrap();
    text.push_str("pub fn hand_edit() {}\n");
    fs::write(&lib, text).unwrap();

    let report = check_crate(&generated(&scratch.0), &summary.krate).unwrap();
    assert!(!report.is_up_to_date());
    assert_eq!(report.differing.len(), 1);
    let rendered = report.render();
    assert!(rendered.contains("--- a/generated/src/lib.rs (on disk)"), "{rendered}");
    assert!(rendered.contains("+++ b/generated/src/lib.rs (regen)"), "{rendered}");
    assert!(rendered.contains("\n-pub fn hand_edit() {}\n"), "{rendered}");

    // regen repairs it, and check agrees.
    let repaired = regen(&scratch.0).unwrap();
    assert_eq!(repaired.report.written, [PathBuf::from("src/lib.rs")]);
    assert!(check_crate(&generated(&scratch.0), &repaired.krate).unwrap().is_up_to_date());
}

fn krate(files: &[(&str, &str)]) -> GeneratedCrate {
    GeneratedCrate {
        crate_name: "demo".into(),
        revision: "1".into(),
        files: files
            .iter()
            .map(|(path, contents)| GeneratedFile { path: path.into(), contents: (*contents).into() })
            .collect(),
        stats: Stats::default(),
    }
}

#[test]
fn check_reports_modified_missing_and_stale_files_but_not_hand_written_ones() {
    let scratch = Scratch::new("regen", "kinds");
    let crate_dir = scratch.0.join("generated");
    let lib = format!("{HEADER}pub mod types;\n");
    let types = format!("{HEADER}pub struct A;\npub struct B;\n");
    let expected = krate(&[("Cargo.toml", "[package]"), ("src/lib.rs", &lib), ("src/types.rs", &types)]);
    write_crate(&crate_dir, &expected, WriteScope::SourcesOnly).unwrap();
    fs::write(crate_dir.join("Cargo.toml"), "hand written, not compared").unwrap();
    fs::create_dir_all(crate_dir.join("tests")).unwrap();
    fs::write(crate_dir.join("src/hand.rs"), "// no generated header: not ours\n").unwrap();
    assert!(check_crate(&crate_dir, &expected).unwrap().is_up_to_date());

    fs::write(crate_dir.join("src/types.rs"), format!("{HEADER}pub struct A;\npub struct C;\n")).unwrap();
    fs::remove_file(crate_dir.join("src/lib.rs")).unwrap();
    fs::write(crate_dir.join("src/old.rs"), format!("{HEADER}pub struct Old;\n")).unwrap();

    let report = check_crate(&crate_dir, &expected).unwrap();
    assert_eq!(report.missing, [PathBuf::from("src/lib.rs")]);
    assert_eq!(report.stale, [PathBuf::from("src/old.rs")]);
    assert_eq!(report.differing.len(), 1);
    let (path, diff) = &report.differing[0];
    assert_eq!(path, &PathBuf::from("src/types.rs"));
    assert!(diff.contains("-pub struct C;\n+pub struct B;\n"), "{diff}");
    let rendered = report.render();
    assert!(rendered.contains("1 file(s) missing (regen would create them):\n  generated/src/lib.rs"), "{rendered}");
    assert!(rendered.contains("1 file(s) stale (regen would remove them):\n  generated/src/old.rs"), "{rendered}");
    assert!(!rendered.contains("hand.rs"), "{rendered}");
}

#[test]
fn check_diffs_a_file_that_is_not_utf8_instead_of_failing() {
    let scratch = Scratch::new("regen", "binary");
    let crate_dir = scratch.0.join("generated");
    let expected = krate(&[("src/lib.rs", "pub struct A;\n")]);
    fs::create_dir_all(crate_dir.join("src")).unwrap();
    fs::write(crate_dir.join("src/lib.rs"), b"pub struct \xff;\n").unwrap();
    let report = check_crate(&crate_dir, &expected).unwrap();
    assert_eq!(report.differing.len(), 1);
    assert!(report.differing[0].1.contains("+pub struct A;"), "{}", report.differing[0].1);
}

#[test]
fn regen_names_the_document_when_it_is_invalid() {
    let scratch = workspace("invalid");
    fs::write(scratch.0.join(PEOPLE_DOCUMENT), r#"{"kind": "discovery#restDescription", "version": "v1"}"#).unwrap();
    let before: Vec<_> = fs::read_dir(generated(&scratch.0)).unwrap().map(|entry| entry.unwrap().path()).collect();
    let message = format!("{:#}", regen(&scratch.0).unwrap_err());
    assert!(message.contains("people.v1.json"), "{message}");
    assert!(message.contains("missing field `name`"), "{message}");
    let after: Vec<_> = fs::read_dir(generated(&scratch.0)).unwrap().map(|entry| entry.unwrap().path()).collect();
    assert_eq!(before, after);
}

#[test]
fn regen_reports_api_changes_once_in_the_changelog() {
    let scratch = Scratch::new("regen", "changes");
    let root = &scratch.0;
    fs::create_dir_all(root.join(GENERATED_DIR)).unwrap();
    fs::write(root.join(GENERATED_DIR).join("Cargo.toml"), "[package]\nname = \"x\"\nversion = \"0.3.1\"\n").unwrap();
    let workspace = xtask::workspace_root();
    let old = fs::read_to_string(workspace.join("generator/tests/fixtures/people.v1.20210302.json")).unwrap();
    let new = fs::read_to_string(workspace.join(PEOPLE_DOCUMENT)).unwrap();

    xtask::regen::report_api_changes(root, &old, &new).unwrap();
    let changelog_path = root.join(GENERATED_DIR).join("CHANGES.md");
    let first = fs::read_to_string(&changelog_path).unwrap();
    assert!(first.contains("revision 20210302 -> 20251117"), "{first}");
    assert!(first.contains("0.3.2"), "the advice starts from the crate's version: {first}");

    xtask::regen::report_api_changes(root, &old, &new).unwrap();
    assert_eq!(fs::read_to_string(&changelog_path).unwrap(), first, "a second regen adds nothing");

    xtask::regen::report_api_changes(root, &new, &new).unwrap();
    assert_eq!(fs::read_to_string(&changelog_path).unwrap(), first);
}
