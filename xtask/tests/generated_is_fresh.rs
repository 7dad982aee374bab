//! `generated/src` is what the generator writes now, checked by the README's test command
//! (`cargo test --workspace`) and not only by CI's `cargo xtask check`: a generator change
//! that was not followed by a regen fails here, as rust-analyzer checks its generated
//! sources in its own tests.

use xtask::check::{check_crate, REGEN_ADVICE};
use xtask::{generate_people, workspace_root, GENERATED_DIR};

/// Lines of the diff shown in the failure; `cargo xtask check` prints all of it.
const SHOWN_LINES: usize = 60;

#[test]
fn generated_sources_are_what_the_generator_writes() {
    let root = workspace_root();
    let krate = generate_people(&root).expect("the pinned People document generates");
    let report = check_crate(&root.join(GENERATED_DIR), &krate).expect("generated/ can be read");
    if report.is_up_to_date() {
        return;
    }
    let rendered = report.render();
    let mut shown: Vec<&str> = rendered.lines().take(SHOWN_LINES).collect();
    let hidden = rendered.lines().count().saturating_sub(SHOWN_LINES);
    let more = format!("... {hidden} more lines (`cargo xtask check` shows them all)");
    if hidden > 0 {
        shown.push(&more);
    }
    panic!(
        "{GENERATED_DIR}/src is not what the generator writes now: {REGEN_ADVICE}.\n\n{}\n\n{GENERATED_DIR}/src is stale: {REGEN_ADVICE}.",
        shown.join("\n")
    );
}

#[test]
fn the_version_follows_the_document() {
    let problems = xtask::version::problems(&workspace_root()).expect("the manifests can be read");
    assert!(
        problems.is_empty(),
        "{}\n(`cargo xtask regen` sets the version the change report advises)",
        problems.join("\n")
    );
}
