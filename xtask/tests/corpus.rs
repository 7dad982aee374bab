//! `corpus` end to end where no compiler is needed: listing, filtering, generation
//! failures and the report. Compiling generated crates is covered by CI's corpus step.

use std::fs;

use xtask::corpus::{list_documents, run, CorpusOptions};

mod common;

use common::Scratch;

fn options(scratch: &Scratch, filter: Option<&str>) -> CorpusOptions {
    let root = xtask::workspace_root();
    CorpusOptions {
        documents: scratch.0.join("documents"),
        jobs: 2,
        filter: filter.map(str::to_owned),
        clippy: false,
        no_check: false,
        package: false,
        out_dir: scratch.0.join("out"),
        report: scratch.0.join("out/report.md"),
        target_dir: scratch.0.join("target"),
        runtime_dir: root.join("generator/runtime"),
        seed_lockfile: None,
    }
}

fn documents(scratch: &Scratch, files: &[(&str, &str)]) {
    let dir = scratch.0.join("documents");
    fs::create_dir_all(dir.join("nested.json")).unwrap();
    for (name, text) in files {
        fs::write(dir.join(name), text).unwrap();
    }
}

#[test]
fn documents_are_sorted_json_files_narrowed_by_the_filter() {
    let scratch = Scratch::new("corpus", "list");
    documents(
        &scratch,
        &[
            ("b.v1.json", "{}"),
            ("a.v2.json", "{}"),
            ("notes.txt", ""),
            ("c.v1.json", "{}"),
            ("index.json", r#"{"kind": "discovery#directoryList", "items": []}"#),
        ],
    );
    let dir = scratch.0.join("documents");
    let names = |filter| -> Vec<String> {
        list_documents(&dir, filter)
            .unwrap()
            .iter()
            .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(None), ["a.v2.json", "b.v1.json", "c.v1.json"]);
    assert_eq!(names(Some("*.v1")), ["b.v1.json", "c.v1.json"]);
    assert_eq!(names(Some("a*.json")), ["a.v2.json"]);
    assert!(names(Some("zzz*")).is_empty());
    let err = list_documents(&scratch.0.join("missing"), None).unwrap_err();
    assert!(format!("{err:#}").contains("cannot list"), "{err:#}");
}

#[test]
fn generation_failures_are_reported_and_fail_the_run() {
    let scratch = Scratch::new("corpus", "failures");
    documents(
        &scratch,
        &[
            ("broken.v1.json", r#"{"kind": "discovery#restDescription", "version": "v1"}"#),
            ("garbage.v1.json", "<html>"),
        ],
    );
    let err = run(&options(&scratch, None)).unwrap_err();
    assert_eq!(err.to_string(), "2 of 2 document(s) failed");
    let report = fs::read_to_string(scratch.0.join("out/report.md")).unwrap();
    assert!(report.contains("| broken.v1.json | - | - | - | - | generation failed |"), "{report}");
    assert!(report.contains("## Generation failures"), "{report}");
    assert!(report.contains("missing field `name`"), "{report}");
    assert!(report.contains("- **garbage.v1.json**"), "{report}");
    assert!(!scratch.0.join("out/Cargo.toml").exists(), "no workspace without members");
}

#[test]
fn a_filter_that_matches_nothing_is_an_error() {
    let scratch = Scratch::new("corpus", "nothing");
    documents(&scratch, &[("a.v1.json", "{}")]);
    let err = run(&options(&scratch, Some("zzz*"))).unwrap_err();
    assert!(err.to_string().contains("matches `zzz*`"), "{err}");
}

#[test]
fn no_check_generates_without_compiling_and_still_fails_on_bad_documents() {
    let scratch = Scratch::new("corpus", "no-check");
    let good = r#"{"kind": "discovery#restDescription", "name": "tiny", "version": "v1",
        "schemas": {"Thing": {"id": "Thing", "type": "object", "properties": {"name": {"type": "string"}}}}}"#;
    documents(&scratch, &[("tiny.v1.json", good)]);
    let mut options = options(&scratch, None);
    options.no_check = true;
    run(&options).unwrap();
    assert!(scratch.0.join("out/tiny.v1/src/types.rs").exists());
    assert!(!scratch.0.join("target").exists(), "nothing was compiled");

    documents(&scratch, &[("broken.v1.json", r#"{"kind": "discovery#restDescription", "version": "v1"}"#)]);
    let err = run(&options).unwrap_err();
    assert!(format!("{err:#}").contains("1 of 2"), "{err:#}");
}
