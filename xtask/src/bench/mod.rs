//! `cargo xtask bench`: the generated People crate against google-people1 7.0.0 (crates.io),
//! measured side by side in one run on this machine, written to `docs/benchmarks.md`.
//!
//! Five sections, each selectable with `--only`:
//!
//! * `compile`: two small apps making the same four calls (`bench/ours-usage` and the
//!   google-people1 app in `../shared/bench/people1-usage`), both copied under
//!   `target/bench/` and built there as standalone workspaces (neither is a member of this
//!   workspace, CI never builds them). Ours takes the runtime and the People crate as
//!   `cargo package` makes them, from a local git repository: built as crates.io's would be,
//!   as google-people1 is. With every third-party dependency built, each run
//!   cleans the client crate, its support crate and the app (`cargo clean -p`) and times a
//!   debug `cargo build`; runs alternate ours/theirs. Also: the client crate alone, a
//!   `cargo check` of the client crate, optional cold builds (`--cold`, alternating `--cold-runs` times) and dependency counts.
//! * `runtime`: `bench/runtime-bench`, built in release, is both the loopback server (one
//!   process) and the client (one process per run, `getrusage` around the measured loop).
//!   Runs come in pairs, ours and google-people1's back to back; the CPU ratio of a row is
//!   the median of the pairs' ratios, with a 95 % confidence interval of that median.
//! * `gen`: People regen (parse, resolve, emit, format, write) and the whole corpus
//!   (generation only), in-process, with this binary built in release: a debug `cargo xtask
//!   bench` re-executes itself with `cargo run --release`.
//! * `size`: non-comment, non-blank lines of both clients and of their support crates.
//! * `wan`: the same binary as a TLS server behind a shaped link (about 20 Mbit/s, 40 ms
//!   round trip) between two network namespaces; see the `wan` module. Needs root, `ip` and `tc`;
//!   skipped with a message otherwise.
//!
//! `--only` replaces just the sections it runs: the others are copied from the existing
//! report, each marked with the command and date that measured it.
//! Wall time is reported with the CPU time (user + system) of the measured processes, which
//! suffers less from other work on the machine; `/proc/loadavg` is recorded per section.
//! Everything below [`ANALYSIS_MARKER`] in an existing report is kept as it is.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use discovery_codegen::WriteScope;

use crate::{display_path, PEOPLE_DOCUMENT};

mod scale;
mod wan;

/// Hand-written text after this line of `docs/benchmarks.md` survives a re-run.
pub const ANALYSIS_MARKER: &str = "<!-- analysis: everything below is kept by `cargo xtask bench` -->";
/// The google-people1 comparison app, outside the repository: relative to the workspace
/// root, so that any checkout with `shared/` beside it finds it.
pub const DEFAULT_PEOPLE1_USAGE: &str = "../shared/bench/people1-usage";
/// The Discovery documents of the corpus timing, relative to the workspace root.
pub const DEFAULT_CORPUS: &str = "../shared/corpus";

/// A default path of the options, resolved against the workspace root.
pub fn default_path(root: &Path, relative: &str) -> PathBuf {
    let path = root.join(relative);
    // `..` is resolved when the path exists, so that messages and the report show a clean path.
    path.canonicalize().unwrap_or(path)
}
/// The relative path dependencies in `bench/*/Cargo.toml`, rewritten to absolute ones.
const GENERATED_PATH_DEP: &str = "path = \"../../generated\"";
const RUNTIME_PATH_DEP: &str = "path = \"../../generator/runtime\"";
const TEST_SERVER_PATH_DEP: &str = "path = \"../../generated/test-server\"";

/// Sections of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Compile,
    Runtime,
    Gen,
    Size,
    Wan,
    Scale,
}

impl Section {
    /// In the report's order.
    pub const ALL: [Section; 6] =
        [Section::Compile, Section::Runtime, Section::Gen, Section::Size, Section::Wan, Section::Scale];

    /// The start of the section's heading in the report, which is how a kept section is
    /// found again: keep these stable.
    fn heading(self) -> &'static str {
        match self {
            Section::Compile => "## 1. ",
            Section::Runtime => "## 2. ",
            Section::Gen => "## 3. ",
            Section::Size => "## 4. ",
            Section::Wan => "## 5. ",
            Section::Scale => "## 6. ",
        }
    }
}

impl std::str::FromStr for Section {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "compile" => Ok(Section::Compile),
            "runtime" => Ok(Section::Runtime),
            "gen" => Ok(Section::Gen),
            "size" => Ok(Section::Size),
            "wan" => Ok(Section::Wan),
            "scale" => Ok(Section::Scale),
            _ => Err(format!("unknown section {s:?} (compile, runtime, gen, size, wan, scale)")),
        }
    }
}

/// Marks, under a section's heading, the command and date that measured it.
const PROVENANCE_PREFIX: &str = "<!-- measured by ";

fn with_provenance(section: &str, provenance: &str) -> String {
    let (heading, rest) = section.split_once('\n').unwrap_or((section, ""));
    format!("{heading}\n{PROVENANCE_PREFIX}{provenance} -->\n{rest}")
}

/// The measured sections of an existing report (the part above [`ANALYSIS_MARKER`]).
struct PreviousReport<'a> {
    /// What the header says wrote the whole report, for sections without their own mark
    /// (reports written before sections were kept).
    written_by: Option<String>,
    sections: Vec<&'a str>,
}

impl<'a> PreviousReport<'a> {
    fn parse(text: &'a str) -> PreviousReport<'a> {
        let written_by = text
            .lines()
            .find_map(|l| l.strip_prefix("Written by "))
            .and_then(|rest| rest.split_once(". Not run in CI").map(|(by, _)| by.to_owned()));
        let mut starts: Vec<usize> = text.match_indices("\n## ").map(|(i, _)| i + 1).collect();
        starts.push(text.len());
        let sections = starts.windows(2).map(|w| &text[w[0]..w[1]]).collect();
        PreviousReport { written_by, sections }
    }

    /// The section whose heading starts with `heading`, with its mark (added from the
    /// header when it had none), and who measured it.
    fn section(&self, heading: &str) -> Option<(String, String)> {
        let text = self.sections.iter().find(|t| t.starts_with(heading))?;
        let mark = text.lines().nth(1).and_then(|l| l.strip_prefix(PROVENANCE_PREFIX)?.strip_suffix(" -->"));
        match (mark, &self.written_by) {
            (Some(by), _) => Some((by.to_owned(), (*text).to_owned())),
            (None, Some(by)) => Some((by.clone(), with_provenance(text, by))),
            (None, None) => Some(("an earlier run".to_owned(), (*text).to_owned())),
        }
    }
}

/// What `cargo xtask bench` runs.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Runs per measurement (rebuilds, client processes, corpus passes).
    pub runs: usize,
    /// Cold builds (all dependencies) of each app to time; none when 0.
    pub cold_runs: usize,
    /// Sections to run; all when empty.
    pub only: Vec<Section>,
    /// Small iteration counts and one run: a smoke test of the tooling.
    pub quick: bool,
    /// The report to write.
    pub out: PathBuf,
    pub people1_usage: PathBuf,
    pub corpus: PathBuf,
}

/// `cargo xtask bench`.
pub fn run(root: &Path, options: &BenchOptions) -> Result<()> {
    if cfg!(debug_assertions) && std::env::var_os("XTASK_BENCH_NO_REEXEC").is_none() {
        // Generation must be timed with an optimised generator: rerun this command in release.
        let status = Command::new(cargo())
            .args(["run", "--release", "--quiet", "--package", "xtask", "--"])
            .args(std::env::args_os().skip(1))
            .current_dir(root)
            .status()
            .context("cannot run cargo")?;
        if !status.success() {
            bail!("the release build of `cargo xtask bench` failed ({status})");
        }
        return Ok(());
    }

    let all = options.only.is_empty();
    let wants = |s: Section| all || options.only.contains(&s);
    let bench_dir = root.join("target/bench");
    fs::create_dir_all(&bench_dir)?;
    let machine = Machine::probe()?;
    eprintln!("{}", machine.summary());

    let mut report = Report::default();
    if wants(Section::Gen) {
        eprintln!("== gen");
        report.gen = Some(generation(root, options)?);
    }
    if wants(Section::Runtime) || wants(Section::Scale) {
        eprintln!("== runtime");
        let (runtime, scale) = runtime(root, &bench_dir, options, wants(Section::Runtime), wants(Section::Scale))?;
        report.runtime = runtime;
        report.scale = scale;
    }
    if wants(Section::Compile) {
        eprintln!("== compile");
        report.compile = Some(compile(root, &bench_dir, options)?);
    }
    if wants(Section::Wan) {
        eprintln!("== wan");
        match wan::preflight() {
            Ok(()) => report.wan = wan::run(root, &bench_dir, options)?,
            // Kept from the existing report, if it has the section.
            Err(why) => eprintln!("  wan: skipped: {why}"),
        }
    }
    // Last: the support crate's version comes from the lock file the compile section
    // writes, on a fresh checkout.
    if wants(Section::Size) {
        eprintln!("== size");
        report.size = Some(size(root, options)?);
    }

    let existing = fs::read_to_string(&options.out).unwrap_or_default();
    let text = report.render(&machine, options, root, &existing);
    if let Some(parent) = options.out.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(&options.out, text).with_context(|| format!("cannot write {}", options.out.display()))?;
    println!("wrote {}", display_path(&options.out, root));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Statistics and timing

/// Median, minimum and maximum of a sample.
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Summary {
    pub fn of(values: &[f64]) -> Summary {
        if values.is_empty() {
            return Summary::default();
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 };
        Summary { median, min: v[0], max: v[v.len() - 1], n: v.len() }
    }

    fn show(&self, decimals: usize) -> String {
        if self.n <= 1 {
            format!("{:.*}", decimals, self.median)
        } else {
            format!("{:.*} ({:.*}–{:.*})", decimals, self.median, decimals, self.min, decimals, self.max)
        }
    }
}

/// A distribution-free 95 % confidence interval of the median of `values`: the order
/// statistics `j` and `n - 1 - j` (from 0) for the largest `j` with
/// 2·P(Binomial(n, ½) ≤ j) ≤ 0.05. None below 6 values, where no such `j` exists.
fn median_interval(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    // P(B ≤ j), summed term by term: C(n, k) / 2^n.
    let mut term = 0.5f64.powi(i32::try_from(n).ok()?);
    let mut cumulative = 0.0;
    let mut found = None;
    for j in 0..n / 2 {
        cumulative += term;
        if 2.0 * cumulative > 0.05 {
            break;
        }
        found = Some(j);
        term *= (n - j) as f64 / (j + 1) as f64;
    }
    found.map(|j| (sorted[j], sorted[n - 1 - j]))
}

/// Wall and CPU (user + system) seconds of one measured run.
#[derive(Clone, Copy, Debug, Default)]
struct Timing {
    wall: f64,
    cpu: f64,
}

/// Wall and CPU summaries of several runs.
#[derive(Clone, Copy, Debug, Default)]
struct Timings {
    wall: Summary,
    cpu: Summary,
}

impl Timings {
    fn of(runs: &[Timing]) -> Timings {
        let wall: Vec<f64> = runs.iter().map(|t| t.wall).collect();
        let cpu: Vec<f64> = runs.iter().map(|t| t.cpu).collect();
        Timings { wall: Summary::of(&wall), cpu: Summary::of(&cpu) }
    }
}

/// User + system seconds of this process's waited-for children (`/proc/self/stat`
/// `cutime` + `cstime`, in clock ticks of 1/100 s).
fn children_cpu() -> f64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state); cutime and cstime are fields 16 and 17.
    let tick = |i: usize| fields.get(i - 3).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    tick(16) + tick(17)
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// A cargo command in `dir`, with the environment of `cargo run` removed so that the child
/// builds its own workspace with its own settings.
fn cargo_in(dir: &Path) -> Command {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key == "CARGO_TARGET_DIR"
            || key.starts_with("CARGO_PKG_")
            || key == "CARGO_MANIFEST_DIR"
            || key == "CARGO_PRIMARY_PACKAGE"
        {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Runs a command to completion, timing it; fails with its output when it fails.
fn timed(mut cmd: Command) -> Result<Timing> {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let cpu0 = children_cpu();
    let t0 = Instant::now();
    let out = cmd.output().with_context(|| format!("cannot run {cmd:?}"))?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = children_cpu() - cpu0;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        bail!("{cmd:?} failed ({}):\n{}", out.status, tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    Ok(Timing { wall, cpu })
}

fn quiet(cmd: Command) -> Result<()> {
    timed(cmd).map(drop)
}

// ---------------------------------------------------------------------------------------
// Machine

struct Machine {
    nproc: usize,
    memory_gib: f64,
    cpu: String,
    rustc: String,
    cargo: String,
    date: String,
}

impl Machine {
    fn probe() -> Result<Machine> {
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0);
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
            .unwrap_or_else(|| "?".to_owned());
        let version = |program: &str| -> String {
            Command::new(program)
                .arg("-V")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_else(|_| "?".to_owned())
        };
        let date = Command::new("date")
            .args(["-u", "+%Y-%m-%d %H:%M UTC"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        Ok(Machine {
            nproc: std::thread::available_parallelism().map_or(1, usize::from),
            memory_gib: kib / 1024.0 / 1024.0,
            cpu,
            rustc: version("rustc"),
            cargo: version(&cargo()),
            date,
        })
    }

    fn summary(&self) -> String {
        format!("{} CPUs ({}), {:.1} GiB, {}, load {}", self.nproc, self.cpu, self.memory_gib, self.rustc, loadavg())
    }
}

// ---------------------------------------------------------------------------------------
// Staging the bench apps under target/bench

/// The packaged crates the compile section's app depends on (the People crate and its runtime).
const APP_CRATES: [&str; 2] = ["discovery-runtime", "google-people-v1"];

/// Where a staged app finds the workspace's crates.
#[derive(Clone, Copy)]
enum CrateSource<'a> {
    /// The workspace's directories, as path dependencies.
    Workspace,
    /// The packaged crates in a git repository ([`publish_locally`]), by its URL.
    Published(&'a str),
}

/// Copies a bench crate (manifest, `src/`, `data/`) to `dst`, rewriting its relative path
/// dependencies on the workspace's crates to `source`. Files already right are not touched,
/// and `dst/target` and `dst/Cargo.lock` are kept.
fn stage(src: &Path, dst: &Path, root: &Path, seed_lock: Option<&Path>, source: CrateSource) -> Result<()> {
    let generated = root.join("generated");
    let runtime = root.join("generator/runtime");
    copy_tree(src, dst, &|text: String| match source {
        CrateSource::Workspace => text
            .replace(TEST_SERVER_PATH_DEP, &format!("path = {:?}", generated.join("test-server").display().to_string()))
            .replace(GENERATED_PATH_DEP, &format!("path = {:?}", generated.display().to_string()))
            .replace(RUNTIME_PATH_DEP, &format!("path = {:?}", runtime.display().to_string())),
        // The packaged People crate asks crates.io for `discovery-runtime`, which the patch
        // serves from the same repository.
        CrateSource::Published(url) => {
            text.replace(GENERATED_PATH_DEP, &format!("git = {url:?}"))
                + &format!("\n[patch.crates-io]\ndiscovery-runtime = {{ git = {url:?} }}\n")
        }
    })?;
    let lock = dst.join("Cargo.lock");
    if let (Some(seed), false) = (seed_lock, lock.exists()) {
        // The workspace's lock file pins the versions the runtime is tested with; cargo
        // drops what the app does not use and adds what it lacks.
        fs::copy(seed, &lock).with_context(|| format!("cannot seed {}", lock.display()))?;
    }
    // A lock file from an earlier run names that run's commit of the repository: move it to
    // the one just made. (Without one, the next build resolves the repository's head.)
    if let CrateSource::Published(url) = source {
        if fs::read_to_string(&lock).is_ok_and(|text| text.contains(&format!("\"git+{url}"))) {
            let mut update = cargo_in(dst);
            update.args(["update", "--quiet"]);
            for name in APP_CRATES {
                update.args(["-p", name]);
            }
            quiet(update).context("cannot point the app at the packaged crates")?;
        }
    }
    Ok(())
}

/// Packages the runtime and the People crate (`cargo package`, as for crates.io) and commits
/// them, unpacked, to a git repository under `bench_dir`: the app depends on them there.
/// Cargo builds a git dependency as it builds one from crates.io (not incrementally, lints
/// capped), unlike a path dependency, which it compiles incrementally as the user's own code.
/// Returns the repository's URL.
fn publish_locally(root: &Path, bench_dir: &Path) -> Result<String> {
    let versions = crate::package::workspace_versions(root)?;
    let packaged = crate::package::package(root, &bench_dir.join("packaged"), &versions)?;
    let repository = bench_dir.join("published");
    if repository.exists() {
        fs::remove_dir_all(&repository).with_context(|| format!("cannot remove {}", repository.display()))?;
    }
    fs::create_dir_all(&repository)?;
    for krate in packaged.iter().filter(|k| APP_CRATES.contains(&k.name.as_str())) {
        krate.unpack(&repository)?;
    }
    for args in [
        &["init", "--quiet"][..],
        &["add", "--all"],
        &["-c", "user.name=xtask", "-c", "user.email=xtask@example.invalid", "commit", "--quiet", "-m", "packaged"],
    ] {
        let mut git = Command::new("git");
        // A fixed date: the same packages make the same commit, which cargo has checked out
        // already, instead of a new checkout in its git cache on every run.
        git.current_dir(&repository)
            .args(args)
            .env("GIT_AUTHOR_DATE", "2000-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2000-01-01T00:00:00Z");
        quiet(git).with_context(|| format!("git {} in {}", args.join(" "), repository.display()))?;
    }
    Ok(format!("file://{}", repository.display()))
}

fn copy_tree(src: &Path, dst: &Path, rewrite: &dyn Fn(String) -> String) -> Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src).with_context(|| format!("cannot read {}", src.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        if entry.file_type()?.is_dir() {
            copy_tree(&from, &to, rewrite)?;
        } else {
            let bytes = fs::read(&from)?;
            let bytes = match String::from_utf8(bytes) {
                Ok(text) if name == "Cargo.toml" => rewrite(text).into_bytes(),
                Ok(text) => text.into_bytes(),
                Err(e) => e.into_bytes(),
            };
            if fs::read(&to).ok().as_deref() != Some(&bytes[..]) {
                fs::write(&to, &bytes)?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Compile time

/// One side of the compile-time comparison.
struct App {
    label: &'static str,
    dir: PathBuf,
    app: &'static str,
    client: &'static str,
    support: &'static str,
}

impl App {
    /// Removes the debug build outputs, fingerprints and incremental state of exactly these
    /// packages, so that the next build compiles them (and nothing else) again. (`cargo clean
    /// -p` was tried first: it also deletes some dependencies' `.rmeta` files, here those of
    /// `http`, which then rebuilds half of the HTTP stack.)
    fn clean(&self, packages: &[&str]) -> Result<()> {
        let debug = self.dir.join("target/debug");
        for package in packages {
            let krate = package.replace('-', "_");
            let patterns: [(&str, String); 5] = [
                (".fingerprint", format!("{package}-")),
                ("deps", format!("{krate}-")),
                ("deps", format!("lib{krate}-")),
                ("incremental", format!("{krate}-")),
                ("build", format!("{package}-")),
            ];
            for (sub, prefix) in patterns {
                let Ok(entries) = fs::read_dir(debug.join(sub)) else { continue };
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    // `{prefix}{hash}[.ext]`: the hash has no `-`, so `http-` never matches `http-body-…`.
                    let Some(rest) = name.strip_prefix(&prefix) else { continue };
                    if rest.split('.').next().is_some_and(|hash| !hash.is_empty() && !hash.contains('-')) {
                        let path = entry.path();
                        if path.is_dir() {
                            fs::remove_dir_all(&path)?;
                        } else {
                            fs::remove_file(&path)?;
                        }
                    }
                }
            }
            for bin in [debug.join(package), debug.join(format!("{package}.d"))] {
                let _ = fs::remove_file(bin);
            }
        }
        Ok(())
    }

    fn build(&self, extra: &[&str]) -> Result<Timing> {
        let mut cmd = cargo_in(&self.dir);
        cmd.arg("build").args(extra);
        timed(cmd)
    }

    fn check_client(&self) -> Result<Timing> {
        let mut cmd = cargo_in(&self.dir);
        cmd.args(["check", "-p", self.client]);
        timed(cmd)
    }

    /// Distinct packages in the dependency tree (the app included).
    fn tree_count(&self, edges: &str) -> Result<usize> {
        let out = cargo_in(&self.dir)
            .args(["tree", "--prefix", "none", "-e", edges])
            .output()
            .context("cannot run cargo tree")?;
        if !out.status.success() {
            bail!("cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let set: BTreeSet<&str> =
            text.lines().map(|l| l.trim_end_matches(" (*)").trim()).filter(|l| !l.is_empty()).collect();
        Ok(set.len())
    }
}

#[derive(Default)]
struct CompileResults {
    /// Per side ([ours, theirs]) results.
    rebuild_full: [Timings; 2],
    rebuild_client: [Timings; 2],
    rebuild_app: [Timings; 2],
    check_client: [Timings; 2],
    cold: Option<[Timings; 2]>,
    /// Ours / google-people1 CPU of each cold run, the two built back to back.
    cold_paired: Vec<f64>,
    tree_normal: [usize; 2],
    tree_all: [usize; 2],
    load: Vec<String>,
    cleaned: [String; 2],
    cleaned_client: [String; 2],
}

fn compile(root: &Path, bench_dir: &Path, options: &BenchOptions) -> Result<CompileResults> {
    let ours_dir = bench_dir.join("ours-usage");
    let theirs_dir = bench_dir.join("people1-usage");
    eprintln!("  packaging the runtime and the People crate");
    let published = publish_locally(root, bench_dir)?;
    let seed = root.join("Cargo.lock");
    stage(&root.join("bench/ours-usage"), &ours_dir, root, Some(&seed), CrateSource::Published(&published))?;
    stage(&options.people1_usage, &theirs_dir, root, None, CrateSource::Workspace)?;
    let apps = [
        App {
            label: "ours",
            dir: ours_dir,
            app: "ours-usage",
            client: "google-people-v1",
            support: "discovery-runtime",
        },
        App {
            label: "google-people1",
            dir: theirs_dir,
            app: "people1-usage",
            client: "google-people1",
            support: "google-apis-common",
        },
    ];
    let mut results = CompileResults::default();
    results.load.push(loadavg());

    for (i, app) in apps.iter().enumerate() {
        eprintln!("  warming {} (dependencies)", app.label);
        app.build(&[])?;
        app.check_client()?;
        results.tree_normal[i] = app.tree_count("normal")?;
        results.tree_all[i] = app.tree_count("normal,build")?;
        results.cleaned[i] = format!("`{}`, `{}`, `{}`", app.client, app.support, app.app);
        results.cleaned_client[i] = format!("`{}`, `{}`", app.client, app.app);
    }

    if options.cold_runs > 0 {
        let mut cold: [Vec<Timing>; 2] = Default::default();
        for run in 0..options.cold_runs {
            // Alternating, google-people1 first in the first run.
            let order: [usize; 2] = if run % 2 == 0 { [1, 0] } else { [0, 1] };
            for &i in &order {
                let app = &apps[i];
                let target = bench_dir.join(format!("cold-{}", app.app));
                let _ = fs::remove_dir_all(&target);
                eprintln!("  cold build of {} (run {})", app.label, run + 1);
                let target_arg = target.display().to_string();
                cold[i].push(app.build(&["--target-dir", &target_arg])?);
                let _ = fs::remove_dir_all(&target);
            }
        }
        results.cold_paired = cold[0].iter().zip(&cold[1]).map(|(ours, theirs)| ours.cpu / theirs.cpu).collect();
        results.cold = Some([Timings::of(&cold[0]), Timings::of(&cold[1])]);
        results.load.push(loadavg());
    }

    let runs = options.runs.max(1);
    let mut full: [Vec<Timing>; 2] = Default::default();
    let mut client_only: [Vec<Timing>; 2] = Default::default();
    let mut app_only: [Vec<Timing>; 2] = Default::default();
    let mut check: [Vec<Timing>; 2] = Default::default();
    for run in 0..runs {
        // ABAB, starting with the other side every other run.
        let order: [usize; 2] = if run % 2 == 0 { [1, 0] } else { [0, 1] };
        for &i in &order {
            let app = &apps[i];
            app.clean(&[app.client, app.support, app.app])?;
            let t = app.build(&[])?;
            eprintln!("  rebuild {} run {}: {:.1} s wall, {:.1} s CPU", app.label, run + 1, t.wall, t.cpu);
            full[i].push(t);
        }
        for &i in &order {
            let app = &apps[i];
            app.clean(&[app.client, app.app])?;
            let t = app.build(&[])?;
            eprintln!("  rebuild client+app {} run {}: {:.1} s wall, {:.1} s CPU", app.label, run + 1, t.wall, t.cpu);
            client_only[i].push(t);
        }
        for &i in &order {
            let app = &apps[i];
            app.clean(&[app.app])?;
            let t = app.build(&[])?;
            eprintln!("  rebuild app {} run {}: {:.1} s wall, {:.1} s CPU", app.label, run + 1, t.wall, t.cpu);
            app_only[i].push(t);
        }
        for &i in &order {
            let app = &apps[i];
            app.clean(&[app.client])?;
            let t = app.check_client()?;
            eprintln!("  check {} run {}: {:.1} s wall, {:.1} s CPU", app.label, run + 1, t.wall, t.cpu);
            check[i].push(t);
        }
        results.load.push(loadavg());
    }
    for i in 0..2 {
        results.rebuild_full[i] = Timings::of(&full[i]);
        results.rebuild_client[i] = Timings::of(&client_only[i]);
        results.rebuild_app[i] = Timings::of(&app_only[i]);
        results.check_client[i] = Timings::of(&check[i]);
    }
    Ok(results)
}

// ---------------------------------------------------------------------------------------
// Run time

/// One loopback row of the `runtime` section.
struct Scenario {
    name: &'static str,
    label: &'static str,
    /// Requests per run, and per run with `--quick`.
    n: u32,
    quick_n: u32,
    /// The target of issue #14 for ours / google-people1 CPU throughput (none: a diagnostic).
    target: Option<f64>,
    /// Runs at least this many pairs, whatever `--runs` says (not with `--quick`).
    min_runs: usize,
}

/// `get` takes 10,000 requests per run (with 2,000 the medians of both sides moved by ±5 %
/// from run to run) and 21 pairs of runs: it is the row closest to its target, and with 5
/// pairs 90 % of reports fell between 0.90× and 1.11× for one and the same code.
const SCENARIOS: [Scenario; 4] = [
    Scenario { name: "get", label: "(a) sequential `people.get`", n: 10000, quick_n: 500, target: Some(1.0), min_runs: 21 },
    Scenario { name: "list", label: "(b) `connections.list`, 1000-person page", n: 40, quick_n: 4, target: Some(1.5), min_runs: 0 },
    Scenario { name: "batch", label: "(c) `batchUpdateContacts`, 200 contacts", n: 40, quick_n: 4, target: Some(3.0), min_runs: 0 },
    Scenario {
        name: "decode",
        label: "(b′) decode the 1000-person page from memory (no HTTP; as each client reads a body: ours a UTF-8 check and the runtime's reader, google-people1 `from_utf8_lossy` and serde_json)",
        n: 40,
        quick_n: 4,
        target: None,
        min_runs: 0,
    },
];

struct ScenarioResult {
    label: &'static str,
    target: Option<f64>,
    n: u32,
    /// Requests per second (wall), per side.
    rate: [Summary; 2],
    /// CPU microseconds per request, per side.
    cpu_us: [Summary; 2],
    /// google-people1 CPU / ours of each pair of runs (the two runs of a pair are
    /// back to back, so a slow spell of the machine weighs on both).
    cpu_ratio: Summary,
    /// A 95 % confidence interval of the median of `cpu_ratio`, when there are enough pairs.
    cpu_ratio_ci: Option<(f64, f64)>,
}

struct RuntimeResults {
    scenarios: Vec<ScenarioResult>,
    load: Vec<String>,
}

/// Kills the server when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Stages and builds `bench/runtime-bench` in release; returns its binary.
fn build_runtime_bench(root: &Path, bench_dir: &Path) -> Result<PathBuf> {
    let dir = bench_dir.join("runtime-bench");
    stage(&root.join("bench/runtime-bench"), &dir, root, Some(&root.join("Cargo.lock")), CrateSource::Workspace)?;
    eprintln!("  building runtime-bench (release)");
    let mut build = cargo_in(&dir);
    build.args(["build", "--release"]);
    quiet(build)?;
    Ok(dir.join("target/release/runtime-bench"))
}

/// The `runtime` section and, on the same loopback server, the `scale` one ([`scale`]).
fn runtime(
    root: &Path,
    bench_dir: &Path,
    options: &BenchOptions,
    loopback: bool,
    at_scale: bool,
) -> Result<(Option<RuntimeResults>, Option<scale::ScaleResults>)> {
    let binary = build_runtime_bench(root, bench_dir)?;

    // The server on one core and each measured client on another (see `pin_to_cpu` in
    // runtime-bench), where there are two.
    let pinned = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    let mut server = Command::new(&binary);
    if pinned {
        server.env("RUNTIME_BENCH_CPU", "1");
    }
    let mut child = server
        .arg("serve")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let stdout = child.stdout.take().context("no server stdout")?;
    let server_process = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let port = line.trim().strip_prefix("listening ").with_context(|| format!("unexpected server output {line:?}"))?;
    let base = format!("http://127.0.0.1:{port}/");

    let mut results = RuntimeResults { scenarios: Vec::new(), load: vec![loadavg()] };
    let runs = options.runs.max(1);
    let scenarios = if loopback { &SCENARIOS[..] } else { &[] };
    for &Scenario { name: scenario, label, n, quick_n, target, min_runs } in scenarios {
        let (n, runs) = if options.quick { (quick_n, runs) } else { (n, runs.max(min_runs)) };
        let mut rate: [Vec<f64>; 2] = Default::default();
        let mut cpu: [Vec<f64>; 2] = Default::default();
        for run in 0..runs {
            let order: [usize; 2] = if run % 2 == 0 { [0, 1] } else { [1, 0] };
            for &i in &order {
                let client = ["ours", "theirs"][i];
                let mut command = Command::new(&binary);
                if pinned {
                    command.env("RUNTIME_BENCH_CPU", "0");
                }
                let out = command
                    .args(["run", client, scenario, &n.to_string(), &base])
                    .stderr(Stdio::inherit())
                    .output()
                    .context("cannot run the client")?;
                if !out.status.success() {
                    bail!("runtime-bench {client} {scenario} failed ({})", out.status);
                }
                let v: serde_json::Value = serde_json::from_slice(&out.stdout)
                    .with_context(|| format!("bad client output {:?}", String::from_utf8_lossy(&out.stdout)))?;
                let get = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
                let (wall, cpu_s) = (get("wall_s"), get("user_s") + get("sys_s"));
                rate[i].push(f64::from(n) / wall);
                cpu[i].push(cpu_s / f64::from(n) * 1e6);
            }
        }
        let paired: Vec<f64> = cpu[1].iter().zip(&cpu[0]).map(|(theirs, ours)| theirs / ours).collect();
        let result = ScenarioResult {
            label,
            target,
            n,
            rate: [Summary::of(&rate[0]), Summary::of(&rate[1])],
            cpu_us: [Summary::of(&cpu[0]), Summary::of(&cpu[1])],
            cpu_ratio: Summary::of(&paired),
            cpu_ratio_ci: median_interval(&paired),
        };
        eprintln!(
            "  {scenario}: ours {:.0}/s {:.0} µs CPU, theirs {:.0}/s {:.0} µs CPU",
            result.rate[0].median, result.cpu_us[0].median, result.rate[1].median, result.cpu_us[1].median
        );
        results.scenarios.push(result);
        results.load.push(loadavg());
    }
    let scale = if at_scale {
        eprintln!("== scale");
        Some(scale::run(&binary, &base, bench_dir, options)?)
    } else {
        None
    };
    drop(server_process);
    Ok((loopback.then_some(results), scale))
}

// ---------------------------------------------------------------------------------------
// Generation

struct GenResults {
    people_ms: Summary,
    people_generate_ms: Summary,
    documents: usize,
    failed: usize,
    corpus_1: Summary,
    corpus_2: Summary,
    load: Vec<String>,
}

fn generation(root: &Path, options: &BenchOptions) -> Result<GenResults> {
    let load0 = loadavg();
    let people_runs = if options.quick { 3 } else { 15 };
    let document_path = root.join(PEOPLE_DOCUMENT);
    let out_dir = root.join("target/bench/regen-out");
    let options_people = crate::people_options();
    let mut total = Vec::new();
    let mut generate_only = Vec::new();
    for _ in 0..people_runs + 1 {
        let _ = fs::remove_dir_all(&out_dir);
        let t0 = Instant::now();
        let text = fs::read_to_string(&document_path)?;
        let krate = crate::generate(&text, &options_people)?;
        let t1 = Instant::now();
        discovery_codegen::write_crate(&out_dir, &krate, WriteScope::Everything)?;
        let t2 = Instant::now();
        total.push(ms(t2 - t0));
        generate_only.push(ms(t1 - t0));
    }
    // The first run warms the page cache and the allocator.
    total.remove(0);
    generate_only.remove(0);
    let _ = fs::remove_dir_all(&out_dir);

    let mut documents = Vec::new();
    for entry in fs::read_dir(&options.corpus).with_context(|| format!("cannot read {}", options.corpus.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let text = fs::read_to_string(&path)?;
        if name == "index.json" && text.contains("discovery#directoryList") {
            continue;
        }
        documents.push(text);
    }
    let corpus_runs = if options.quick { 1 } else { options.runs.clamp(1, 3) };
    let mut single = Vec::new();
    let mut double = Vec::new();
    let mut failed = 0;
    for _ in 0..corpus_runs {
        let (t, f) = corpus_pass(&documents, 1);
        single.push(t);
        failed = f;
        let (t, _) = corpus_pass(&documents, 2);
        double.push(t);
    }
    Ok(GenResults {
        people_ms: Summary::of(&total),
        people_generate_ms: Summary::of(&generate_only),
        documents: documents.len(),
        failed,
        corpus_1: Summary::of(&single),
        corpus_2: Summary::of(&double),
        load: vec![load0, loadavg()],
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Generates every document (in memory: parse, resolve, emit, format) on `threads`
/// threads; returns seconds and the number of documents that failed.
fn corpus_pass(documents: &[String], threads: usize) -> (f64, usize) {
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let options = discovery_codegen::CrateOptions::default();
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(text) = documents.get(i) else { break };
                let ok = std::panic::catch_unwind(|| discovery_codegen::generate(text, &options).is_ok());
                if !matches!(ok, Ok(true)) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    (t0.elapsed().as_secs_f64(), failed.load(Ordering::Relaxed))
}

// ---------------------------------------------------------------------------------------
// Code size

struct SizeResults {
    ours_generated: usize,
    ours_files: Vec<(String, usize)>,
    ours_runtime: usize,
    ours_methods: usize,
    theirs_api: usize,
    theirs_lib: usize,
    theirs_common: Option<(String, usize)>,
    theirs_methods: usize,
    theirs_dir: String,
}

/// Non-comment, non-blank lines: `//` comments (doc comments included) and `/* */` blocks
/// are left out; with `skip_tests`, so is a trailing `#[cfg(test)] mod tests`.
pub fn code_lines(text: &str, skip_tests: bool) -> usize {
    let mut count = 0;
    let mut in_block = false;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let mut t = line.trim();
        if in_block {
            match t.find("*/") {
                Some(end) => {
                    in_block = false;
                    t = t[end + 2..].trim();
                }
                None => continue,
            }
        }
        if skip_tests && t == "#[cfg(test)]" && lines.peek().is_some_and(|next| next.trim().starts_with("mod tests")) {
            break;
        }
        if t.starts_with("/*") {
            if !t.contains("*/") {
                in_block = true;
            }
            continue;
        }
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        count += 1;
    }
    count
}

fn rust_lines_in(dir: &Path, skip_tests: bool) -> Result<Vec<(String, usize)>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path)?;
                files.push((display_path(&path, dir), code_lines(&text, skip_tests)));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn cargo_registry_src() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"));
    home.join("registry/src")
}

/// The newest unpacked `NAME-VERSION*` directory in the cargo registry.
fn registry_crate(name_version: &str) -> Option<PathBuf> {
    let mut found = Vec::new();
    for index in fs::read_dir(cargo_registry_src()).ok()?.flatten() {
        for entry in fs::read_dir(index.path()).ok()?.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if file_name == name_version || file_name.starts_with(&format!("{name_version}+")) {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    found.pop()
}

fn size(root: &Path, options: &BenchOptions) -> Result<SizeResults> {
    let ours_files = rust_lines_in(&root.join("generated/src"), false)?;
    let ours_generated = ours_files.iter().map(|(_, n)| n).sum();
    let ours_runtime = rust_lines_in(&root.join("generator/runtime/src"), true)?.iter().map(|(_, n)| n).sum();
    let ours_methods = crate::generate_people(root)?.stats.methods;

    let Some(theirs) = registry_crate("google-people1-7.0.0") else {
        bail!(
            "google-people1 7.0.0 is not unpacked in {}: run `cargo fetch` in {} first",
            cargo_registry_src().display(),
            options.people1_usage.display()
        );
    };
    let api = fs::read_to_string(theirs.join("src/api.rs"))?;
    let lib = fs::read_to_string(theirs.join("src/lib.rs"))?;
    let theirs_methods = api.lines().filter(|l| l.starts_with("pub struct ") && l.contains("Call<'a, C>")).count();

    // google-apis-common at the version the people1 app locked.
    let lock = fs::read_to_string(options.people1_usage.join("Cargo.lock"))
        .or_else(|_| fs::read_to_string(root.join("target/bench/people1-usage/Cargo.lock")))
        .unwrap_or_default();
    let common_version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"google-apis-common\""))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")?.strip_suffix('"').map(str::to_owned)));
    let theirs_common = common_version.and_then(|v| {
        let dir = registry_crate(&format!("google-apis-common-{v}"))?;
        let lines = rust_lines_in(&dir.join("src"), true).ok()?.iter().map(|(_, n)| n).sum();
        Some((v, lines))
    });

    Ok(SizeResults {
        ours_generated,
        ours_files,
        ours_runtime,
        ours_methods,
        theirs_api: code_lines(&api, false),
        theirs_lib: code_lines(&lib, false),
        theirs_common,
        theirs_methods,
        theirs_dir: theirs.display().to_string(),
    })
}

// ---------------------------------------------------------------------------------------
// Report

#[derive(Default)]
struct Report {
    compile: Option<CompileResults>,
    runtime: Option<RuntimeResults>,
    gen: Option<GenResults>,
    size: Option<SizeResults>,
    wan: Option<wan::WanResults>,
    scale: Option<scale::ScaleResults>,
}

/// A path for the report: `../…` when it lies beside the workspace (as `shared/` does), so
/// that the report does not depend on where the checkout is.
fn shown(path: &Path, root: &Path) -> String {
    match root.parent().and_then(|parent| path.strip_prefix(parent).ok()) {
        Some(rest) => format!("../{}", rest.display()),
        None => path.display().to_string(),
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "**met**"
    } else {
        "**missed**"
    }
}

/// The CPU and wall rows of one compile measurement, ours and google-people1's, with
/// `digits` decimals.
fn timing_rows(s: &mut String, label: &str, t: &[Timings; 2], digits: usize) {
    let _ = writeln!(
        s,
        "| {label}, s CPU | {} | {} | {} | |\n| {label}, s wall | {} | {} | | {} |",
        t[0].cpu.show(digits),
        t[1].cpu.show(digits),
        ratio(t[0].cpu.median, t[1].cpu.median),
        t[0].wall.show(digits),
        t[1].wall.show(digits),
        ratio(t[0].wall.median, t[1].wall.median),
    );
}

fn ratio(ours: f64, theirs: f64) -> String {
    format!("{:.2}×", ours / theirs)
}

impl Report {
    /// The whole report. Sections this run did not measure are copied from `existing` (the
    /// report as it was), each with the command and date that measured it, so that `--only`
    /// replaces only what it ran; the text below [`ANALYSIS_MARKER`] is kept as it is.
    fn render(&self, machine: &Machine, options: &BenchOptions, root: &Path, existing: &str) -> String {
        let command = std::iter::once("cargo xtask bench".to_owned())
            .chain(std::env::args().skip(2))
            .collect::<Vec<_>>()
            .join(" ");
        let provenance = format!("`{command}` ({})", machine.date);
        let (before, analysis) = match existing.split_once(ANALYSIS_MARKER) {
            Some((before, after)) => (before, Some(after)),
            None => (existing, None),
        };
        let previous = PreviousReport::parse(before);

        let mut sections: Vec<(String, String)> = Vec::new();
        for section in Section::ALL {
            let mut text = String::new();
            match section {
                Section::Compile => {
                    if let Some(c) = &self.compile {
                        render_compile(&mut text, c, &shown(&options.people1_usage, root));
                    }
                }
                Section::Runtime => {
                    if let Some(r) = &self.runtime {
                        render_runtime(&mut text, r);
                    }
                }
                Section::Gen => {
                    if let Some(g) = &self.gen {
                        render_gen(&mut text, g, options, root);
                    }
                }
                Section::Size => {
                    if let Some(z) = &self.size {
                        render_size(&mut text, z, root);
                    }
                }
                Section::Wan => {
                    if let Some(w) = &self.wan {
                        wan::render(&mut text, w);
                    }
                }
                Section::Scale => {
                    if let Some(r) = &self.scale {
                        scale::render(&mut text, r);
                    }
                }
            }
            if !text.is_empty() {
                sections.push((provenance.clone(), with_provenance(&text, &provenance)));
            } else if let Some((by, kept)) = previous.section(section.heading()) {
                sections.push((by, kept));
            }
        }

        let mut s = String::new();
        let _ = writeln!(s, "# Benchmarks: generated `google-people-v1` vs `google-people1` 7.0.0\n");
        let mut by: Vec<(String, Vec<String>)> = Vec::new();
        for (who, text) in &sections {
            let number = text.split_once('.').map_or("?", |(n, _)| n.trim_start_matches("## ")).to_owned();
            match by.iter_mut().find(|(w, _)| w == who) {
                Some((_, numbers)) => numbers.push(number),
                None => by.push((who.clone(), vec![number])),
            }
        }
        let written = match by.as_slice() {
            [] => format!("Written by {provenance}"),
            [(who, _)] => format!("Written by {who}"),
            many => many
                .iter()
                .enumerate()
                .map(|(k, (who, numbers))| {
                    let plural = if numbers.len() > 1 { "s" } else { "" };
                    let word = if k == 0 { "Section" } else { "section" };
                    format!("{word}{plural} {} written by {who}", numbers.join(", "))
                })
                .collect::<Vec<_>>()
                .join("; "),
        };
        let _ = writeln!(
            s,
            "{written}. Not run in CI. Ours is the generated crate in `generated/` with \
             its runtime `generator/runtime` (`discovery-runtime`); theirs is\n[google-people1](https://crates.io/crates/google-people1) \
             7.0.0 with its support crate `google-apis-common`, the most used People crate.\n"
        );
        let _ = writeln!(s, "| machine | |\n| --- | --- |");
        let _ = writeln!(s, "| CPUs (`nproc`) | {} ({}) |", machine.nproc, machine.cpu);
        let _ = writeln!(s, "| memory | {:.1} GiB |", machine.memory_gib);
        let _ = writeln!(s, "| toolchain | {}; {} |", machine.rustc, machine.cargo);
        let kept = if by.len() > 1 { " in this run; kept sections as their commands say" } else { "" };
        let _ = writeln!(s, "| runs per measurement | {}{kept} (medians, min–max in parentheses) |", options.runs);
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Other work shared this machine (see the load averages, `/proc/loadavg` 1/5/15 min, per section). \
             CPU time (user + system of the measured processes) is less sensitive to that than wall time, so the \
             targets are judged on CPU time and wall time is shown beside it. Ratios are ours / google-people1.\n"
        );

        for (_, text) in &sections {
            s.push_str(text);
        }
        let _ = writeln!(s, "{ANALYSIS_MARKER}");
        match analysis {
            Some(text) => s.push_str(text.strip_prefix('\n').unwrap_or(text)),
            None => s.push_str("\n(No analysis written yet.)\n"),
        }
        s
    }
}

fn render_compile(s: &mut String, c: &CompileResults, people1_usage: &str) {
    let _ = writeln!(s, "## 1. Compile time (debug, `cargo build`)\n");
    let _ = writeln!(
        s,
        "Two apps making the same four calls (updateContact, batchUpdateContacts, contactGroups.update, \
         connections.list): `bench/ours-usage` and `{}`, each copied to \
         `target/bench/` and built as its own workspace with its own target directory. Each app gets its \
         client as an application does: google-people1 from crates.io, ours as `cargo package` makes it for \
         crates.io, from a local git repository (`target/bench/published`), which cargo builds as it builds a \
         crate from a registry (not incrementally, lints capped), where a path dependency would be compiled as \
         the user's own code. All third-party \
         dependencies are built first; each run then deletes the build outputs, fingerprints and incremental \
         state of exactly the crates listed (what `cargo clean -p` means to do) and times `cargo build`. \
         Runs alternate between the two sides.\n",
        people1_usage
    );
    let _ = writeln!(
        s,
        "| measurement | ours | google-people1 | ratio (CPU) | ratio (wall) |\n| --- | --- | --- | --- | --- |"
    );
    let rows: [(&str, &[Timings; 2]); 4] = [
        ("clean rebuild: client + app (dependencies, support crate included, built)", &c.rebuild_client),
        ("clean rebuild: client + support crate + app", &c.rebuild_full),
        ("rebuild of the app alone (client and support crate built): the edit-compile loop", &c.rebuild_app),
        ("`cargo check -p CLIENT`, client crate alone", &c.check_client),
    ];
    for (label, t) in rows {
        timing_rows(s, label, t, 1);
    }
    if let Some(cold) = &c.cold {
        let runs = cold[0].cpu.n;
        let label = format!("cold build of the app, all dependencies ({runs} run{})", if runs == 1 { "" } else { "s" });
        timing_rows(s, &label, cold, 0);
    }
    let _ = writeln!(
        s,
        "| crates in the dependency tree (`cargo tree -e normal`, app included) | {} | {} | {} | |",
        c.tree_normal[0],
        c.tree_normal[1],
        ratio(c.tree_normal[0] as f64, c.tree_normal[1] as f64)
    );
    let _ = writeln!(
        s,
        "| crates compiled (`-e normal,build`) | {} | {} | {} | |\n",
        c.tree_all[0],
        c.tree_all[1],
        ratio(c.tree_all[0] as f64, c.tree_all[1] as f64)
    );
    let _ = writeln!(
        s,
        "Cleaned and rebuilt (second row): ours {}; google-people1 {}. `google-apis-common` is \
         google-people1's support code, as `discovery-runtime` is ours: a dependency of the client on both \
         sides, so the first row (the issue's \"client crate + app, with all third-party dependencies already \
         built\") keeps it built and the second row rebuilds it too. The app-only row rebuilds just the app, \
         as every edit of an application does. `cargo check` rows clean only the client crate.\n",
        c.cleaned[0], c.cleaned[1]
    );
    let met = c.rebuild_client[0].cpu.median <= 0.5 * c.rebuild_client[1].cpu.median;
    let _ = writeln!(
        s,
        "Target: clean rebuild of client + app at most 0.5× google-people1's: {} ({} CPU, {} wall). \
         With the support crates rebuilt too: {} CPU, {} wall.\n",
        verdict(met),
        ratio(c.rebuild_client[0].cpu.median, c.rebuild_client[1].cpu.median),
        ratio(c.rebuild_client[0].wall.median, c.rebuild_client[1].wall.median),
        ratio(c.rebuild_full[0].cpu.median, c.rebuild_full[1].cpu.median),
        ratio(c.rebuild_full[0].wall.median, c.rebuild_full[1].wall.median)
    );
    let app_met = c.rebuild_app[0].cpu.median <= 0.3 * c.rebuild_app[1].cpu.median;
    let _ = writeln!(
        s,
        "Target: rebuild of the app alone at most 0.3× google-people1's: {} ({} CPU, {} wall).\n",
        verdict(app_met),
        ratio(c.rebuild_app[0].cpu.median, c.rebuild_app[1].cpu.median),
        ratio(c.rebuild_app[0].wall.median, c.rebuild_app[1].wall.median),
    );
    if let Some(cold) = &c.cold {
        const TARGET: f64 = 0.9;
        let paired = Summary::of(&c.cold_paired);
        let spread = match median_interval(&c.cold_paired) {
            Some((low, high)) if low <= TARGET && TARGET < high => {
                format!("95 % CI {low:.2}–{high:.2}, which holds the target")
            }
            Some((low, high)) => format!("95 % CI {low:.2}–{high:.2}"),
            None => format!("from {:.2} to {:.2}", paired.min, paired.max),
        };
        let _ = writeln!(
            s,
            "Target: cold build of the app at most {TARGET}× google-people1's: {} (median of {} paired CPU \
             ratios, each run's two builds back to back: {:.2}×, {spread}; medians of the CPU column {}, wall {}).\n",
            verdict(paired.median <= TARGET),
            paired.n,
            paired.median,
            ratio(cold[0].cpu.median, cold[1].cpu.median),
            ratio(cold[0].wall.median, cold[1].wall.median),
        );
    }
    let _ = writeln!(s, "Load average during the section: {}.\n", c.load.join(" → "));
}

fn render_runtime(s: &mut String, r: &RuntimeResults) {
    let _ = writeln!(s, "## 2. Run time on loopback (release)\n");
    let _ = writeln!(
        s,
        "`bench/runtime-bench`: a hyper 1 HTTP/1.1 server in its own process answers with canned People JSON \
         (`bench/runtime-bench/data/person.json`, ~2.9 KB per person); each client run is another process \
         with a current-thread tokio runtime, HTTP/1.1 over plain `http://` with a keep-alive pool and a \
         static bearer token (google-people1 through `hyper-rustls` `https_or_http` + `hyper-util`, as its \
         docs show; ours through its runtime's default client, reqwest on `hyper-util`). The server runs \
         pinned to one CPU and each client to the other (`sched_setaffinity`, where there are two). CPU \
         is `getrusage(RUSAGE_SELF)` of the client process around the measured loop, after a warm-up; \
         server CPU is not counted. Each \
         `batchUpdateContacts` request is built inside the loop on both sides (200 clones of one person).\n"
    );
    let _ = writeln!(
        s,
        "| scenario | N per run | ours req/s | google-people1 req/s | ratio | ours CPU µs/req | google-people1 CPU µs/req | ratio (CPU) | target (CPU-based) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for sc in &r.scenarios {
        let cpu_ratio = sc.cpu_ratio.median;
        let decimals = if sc.rate[0].median > 100.0 { 0 } else { 1 };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            sc.label,
            sc.n,
            sc.rate[0].show(decimals),
            sc.rate[1].show(decimals),
            ratio(sc.rate[0].median, sc.rate[1].median),
            sc.cpu_us[0].show(0),
            sc.cpu_us[1].show(0),
            match sc.cpu_ratio_ci {
                Some((low, high)) =>
                    format!("{cpu_ratio:.2}× throughput (95 % CI {low:.2}–{high:.2}, {} pairs)", sc.cpu_ratio.n),
                None if sc.cpu_ratio.n == 1 => format!("{cpu_ratio:.2}× throughput (1 pair)"),
                None => format!("{cpu_ratio:.2}× throughput ({} pairs)", sc.cpu_ratio.n),
            },
            match sc.target {
                Some(target) => {
                    let within_noise = sc.cpu_ratio_ci.is_some_and(|(low, high)| low < target && target <= high);
                    format!(
                        "≥ {target:.1}×: {}{}",
                        verdict(cpu_ratio >= target),
                        if within_noise { " (the interval holds the target)" } else { "" }
                    )
                }
                None => "(diagnostic)".to_owned(),
            },
        );
    }
    let _ = writeln!(
        s,
        "\n\"ratio\" is ours / google-people1 requests per second (wall), of the medians; \"ratio (CPU)\" is the \
         same for CPU-bound throughput: the median over pairs of runs (ours and google-people1 back to back, \
         in alternating order) of google-people1 CPU per request / ours, with a distribution-free 95 % \
         confidence interval of that median where there are 6 pairs or more. The verdict compares the \
         median with the target. Load average: {}.\n",
        r.load.join(" → ")
    );
}

fn render_gen(s: &mut String, g: &GenResults, options: &BenchOptions, root: &Path) {
    let _ = writeln!(s, "## 3. Generation (release build of the generator, in-process)\n");
    let _ = writeln!(s, "| measurement | result |\n| --- | --- |");
    let _ = writeln!(
        s,
        "| People regen: read, parse, resolve, emit, format, write a fresh directory, ms | {} |",
        g.people_ms.show(1)
    );
    let _ = writeln!(s, "| of which generation without writing, ms | {} |", g.people_generate_ms.show(1));
    let _ = writeln!(
        s,
        "| corpus `{}`: {} documents, generation only (in memory, no compile), 1 thread, s | {} |",
        shown(&options.corpus, root),
        g.documents,
        g.corpus_1.show(2)
    );
    let _ = writeln!(s, "| same, 2 threads, s | {} |", g.corpus_2.show(2));
    let _ = writeln!(s, "| documents that failed to generate | {} |\n", g.failed);
    let _ = writeln!(
        s,
        "Target: People regen under 100 ms: {} ({:.1} ms). Load average: {}.\n",
        verdict(g.people_ms.median < 100.0),
        g.people_ms.median,
        g.load.join(" → ")
    );
}

fn render_size(s: &mut String, z: &SizeResults, root: &Path) {
    let _ = writeln!(s, "## 4. Code size (non-comment, non-blank lines)\n");
    let theirs_total = z.theirs_api + z.theirs_lib;
    let _ = writeln!(s, "| code | ours | google-people1 | ratio |\n| --- | --- | --- | --- |");
    let _ = writeln!(
        s,
        "| generated client (ours `generated/src/*.rs`; theirs `src/api.rs`) | {} | {} | {} |",
        z.ours_generated,
        z.theirs_api,
        ratio(z.ours_generated as f64, z.theirs_api as f64)
    );
    let _ = writeln!(
        s,
        "| generated client, theirs with `src/lib.rs` (docs and re-exports) | {} | {} | {} |",
        z.ours_generated,
        theirs_total,
        ratio(z.ours_generated as f64, theirs_total as f64)
    );
    let _ = writeln!(s, "| methods | {} | {} | |", z.ours_methods, z.theirs_methods);
    let _ = writeln!(
        s,
        "| lines per method (client lines / methods) | {:.0} | {:.0} | {} |",
        z.ours_generated as f64 / z.ours_methods as f64,
        z.theirs_api as f64 / z.theirs_methods as f64,
        ratio(z.ours_generated as f64 / z.ours_methods as f64, z.theirs_api as f64 / z.theirs_methods as f64)
    );
    match &z.theirs_common {
        Some((version, lines)) => {
            let _ = writeln!(
                s,
                "| support crate, tests left out (ours `discovery-runtime`; theirs `google-apis-common` {version}) | {} | {} | {} |",
                z.ours_runtime,
                lines,
                ratio(z.ours_runtime as f64, *lines as f64)
            );
        }
        None => {
            let _ =
                writeln!(s, "| support crate (ours `discovery-runtime`, tests left out) | {} | ? | |", z.ours_runtime);
        }
    }
    let files: Vec<String> = z.ours_files.iter().map(|(f, n)| format!("{f} {n}")).collect();
    let _ = writeln!(
        s,
        "\nOurs per file: {}. Theirs read from `{}` (only counted, never copied). Counted: lines that are not \
         blank, not `//`, `///` or `//!` comments and not inside `/* */`. Target: generated People code at most \
         half of google-people1's: {} ({}).\n",
        files.join(", "),
        z.theirs_dir.replace(&std::env::var("HOME").unwrap_or_default(), "~"),
        verdict(z.ours_generated * 2 <= z.theirs_api),
        ratio(z.ours_generated as f64, z.theirs_api as f64)
    );
    let _ = root;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_code_lines_only() {
        let text = "//! crate doc\n\n/// doc\nfn a() {}\n/* block\n still */\nlet x = 1; // trailing\n\n#[cfg(test)]\nmod tests {\n fn t() {}\n}\n";
        assert_eq!(code_lines(text, false), 6);
        assert_eq!(code_lines(text, true), 2);
    }

    #[test]
    fn sections_not_run_are_kept_with_who_measured_them() {
        let existing = format!(
            "# Benchmarks\n\nWritten by `cargo xtask bench --runs 5` (2026-01-01 00:00 UTC). Not run in CI. More.\n\n\
             ## 1. Compile time\n\ncompile table\n\n## 2. Run time on loopback (release)\n\nruntime table\n\n\
             ### not a section\n\nmore runtime\n\n{ANALYSIS_MARKER}\n\nhand-written\n"
        );
        let machine = Machine {
            nproc: 2,
            memory_gib: 1.0,
            cpu: "cpu".into(),
            rustc: "rustc".into(),
            cargo: "cargo".into(),
            date: "2026-02-02 00:00 UTC".into(),
        };
        let options = BenchOptions {
            runs: 1,
            cold_runs: 0,
            only: vec![Section::Wan],
            quick: true,
            out: PathBuf::from("out.md"),
            people1_usage: PathBuf::from("p"),
            corpus: PathBuf::from("c"),
        };
        let text = Report::default().render(&machine, &options, Path::new("/w/repo"), &existing);
        let by = "`cargo xtask bench --runs 5` (2026-01-01 00:00 UTC)";
        assert!(text.contains(&format!("\nWritten by {by}. Not run in CI.")), "{text}");
        assert!(text.contains(&format!("## 1. Compile time\n<!-- measured by {by} -->\n\ncompile table\n")), "{text}");
        assert!(text.contains("runtime table\n\n### not a section\n\nmore runtime\n"), "{text}");
        assert!(text.ends_with(&format!("{ANALYSIS_MARKER}\n\nhand-written\n")), "{text}");
        // A second pass keeps the marks it wrote, and nothing doubles.
        let again = Report::default().render(&machine, &options, Path::new("/w/repo"), &text);
        assert_eq!(again.matches("<!-- measured by").count(), 2, "{again}");
        assert_eq!(again.matches("compile table").count(), 1);
    }

    #[test]
    fn shared_paths_are_shown_relative_to_the_workspace() {
        let root = Path::new("/w/repo");
        assert_eq!(shown(Path::new("/w/shared/corpus"), root), "../shared/corpus");
        assert_eq!(shown(Path::new("/elsewhere/corpus"), root), "/elsewhere/corpus");
    }

    #[test]
    fn median_min_max() {
        let s = Summary::of(&[3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.median, s.min, s.max, s.n), (2.5, 1.0, 10.0, 4));
        assert_eq!(Summary::of(&[]).n, 0);
    }

    #[test]
    fn median_intervals_are_the_order_statistics_of_the_binomial_table() {
        // 1..=n shuffled (11 is prime to every n here): the interval is then (j + 1, n - j)
        // for the table's j.
        let values = |n: usize| -> Vec<f64> { (0..n).map(|i| ((i * 11) % n + 1) as f64).collect() };
        assert_eq!(median_interval(&values(5)), None, "2·P(B ≤ 0) = 1/16 > 0.05");
        assert_eq!(median_interval(&values(6)), Some((1.0, 6.0)));
        assert_eq!(median_interval(&values(8)), Some((1.0, 8.0)), "2·P(B ≤ 1) = 0.07");
        assert_eq!(median_interval(&values(9)), Some((2.0, 8.0)));
        assert_eq!(median_interval(&values(21)), Some((6.0, 16.0)));
        assert_eq!(median_interval(&values(100)), Some((40.0, 61.0)));
    }
}
