//! `cargo xtask check`: fail when `generated/` is not what regen would write.
//!
//! Only what regen owns is compared: the files under `src/` that the generator produces,
//! plus generated files left over in `src/` that it no longer produces (regen would delete
//! them). The hand-written manifest, tests and README are not regen's business, except for
//! the manifest's version, which must follow the document (see [`crate::version`]).

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use discovery_codegen::output::{selected_files, stale_generated_files};
use discovery_codegen::{GeneratedCrate, WriteScope};
use similar::TextDiff;

use crate::GENERATED_DIR;

/// Lines of context around each change in the diffs.
const DIFF_CONTEXT: usize = 3;

/// How a crate directory differs from the generator's output.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// How paths are shown: the crate directory's name, e.g. `generated`.
    pub prefix: String,
    /// Files whose contents differ, with a unified diff from disk to expected.
    pub differing: Vec<(PathBuf, String)>,
    /// Files the generator produces that are not on disk.
    pub missing: Vec<PathBuf>,
    /// Generated files on disk that the generator no longer produces.
    pub stale: Vec<PathBuf>,
}

impl CheckReport {
    pub fn is_up_to_date(&self) -> bool {
        self.differing.is_empty() && self.missing.is_empty() && self.stale.is_empty()
    }

    /// Diffs first, then the lists of files.
    pub fn render(&self) -> String {
        let prefix = &self.prefix;
        let mut text = String::new();
        for (_, diff) in &self.differing {
            text.push_str(diff);
            if !diff.ends_with('\n') {
                text.push('\n');
            }
        }
        let sections = [
            ("differ from the generator's output", self.differing.iter().map(|(path, _)| path).collect::<Vec<_>>()),
            ("missing (regen would create them)", self.missing.iter().collect()),
            ("stale (regen would remove them)", self.stale.iter().collect()),
        ];
        for (heading, paths) in sections {
            if paths.is_empty() {
                continue;
            }
            let _ = writeln!(text, "{} file(s) {heading}:", paths.len());
            for path in paths {
                let _ = writeln!(text, "  {prefix}/{}", path.display());
            }
        }
        text
    }
}

/// `cargo xtask check` for the workspace at `root`: the sources, then the version.
pub fn run(root: &Path) -> Result<()> {
    let krate = crate::generate_people(root)?;
    let report = check_crate(&root.join(GENERATED_DIR), &krate)?;
    let version_problems = crate::version::problems(root)?;
    if report.is_up_to_date() && version_problems.is_empty() {
        println!("{GENERATED_DIR}/ is up to date, and its version follows the document");
        return Ok(());
    }
    if !report.is_up_to_date() {
        print!("{}", report.render());
    }
    for problem in &version_problems {
        println!("{problem}");
    }
    match (report.is_up_to_date(), version_problems.is_empty()) {
        (false, true) => anyhow::bail!("{GENERATED_DIR}/ is stale: {REGEN_ADVICE}"),
        (true, false) => anyhow::bail!("the version of {GENERATED_DIR}/ and its document disagree"),
        _ => anyhow::bail!("{GENERATED_DIR}/ is stale and its version disagrees with the document: {REGEN_ADVICE}"),
    }
}

/// What to do when `generated/` is stale.
pub const REGEN_ADVICE: &str = "run `cargo xtask regen`, review the diff of generated/ and commit it";

/// Compares the `src/` files of `krate` with the crate directory `crate_dir`.
pub fn check_crate(crate_dir: &Path, krate: &GeneratedCrate) -> Result<CheckReport> {
    let prefix = crate_dir.file_name().map_or_else(|| ".".to_owned(), |name| name.to_string_lossy().into_owned());
    let mut report = CheckReport { prefix, ..CheckReport::default() };
    for file in selected_files(krate, WriteScope::SourcesOnly) {
        let on_disk_path = crate_dir.join(&file.path);
        let on_disk = match fs::read(&on_disk_path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                report.missing.push(file.path.clone());
                continue;
            }
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", on_disk_path.display())),
        };
        if on_disk == file.contents.as_bytes() {
            continue;
        }
        // A file that is not UTF-8 still gets a readable diff; it differs either way.
        let on_disk = String::from_utf8_lossy(&on_disk);
        let shown = file.path.display();
        let diff = TextDiff::from_lines(on_disk.as_ref(), file.contents.as_str())
            .unified_diff()
            .context_radius(DIFF_CONTEXT)
            .header(&format!("a/{}/{shown} (on disk)", report.prefix), &format!("b/{}/{shown} (regen)", report.prefix))
            .to_string();
        report.differing.push((file.path.clone(), diff));
    }
    report.stale = stale_generated_files(crate_dir, krate)
        .with_context(|| format!("cannot list generated files under {}", crate_dir.join("src").display()))?;
    Ok(report)
}
