//! `cargo xtask`: flag parsing only; the commands live in the library's modules.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::bench::{self, BenchOptions, Section};
use xtask::corpus::CorpusOptions;
use xtask::latest::LatestOptions;
use xtask::package::PackageOptions;
use xtask::{check, corpus, fetch, latest, package, regen, workspace_root, PEOPLE_DOCUMENT};

/// Maintainer commands for the Discovery client generator.
#[derive(Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate generated/src from discovery/people.v1.json (offline).
    Regen {
        /// Fetch the current People document first.
        #[arg(long)]
        fetch: bool,
    },
    /// Fail, showing a diff, when generated/ differs from what regen would write.
    Check,
    /// Download a Discovery document, validate it and pin it in a stable pretty form.
    Fetch {
        /// Where to download from.
        #[arg(long, default_value = fetch::PEOPLE_URL)]
        url: String,
        /// Where to write it [default: discovery/people.v1.json in the workspace].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Report what changed between two Discovery documents, and what breaks.
    Diff {
        /// The older document.
        old: PathBuf,
        /// The newer document.
        new: PathBuf,
        /// Print the Markdown report (as regen writes to generated/CHANGES.md).
        #[arg(long)]
        markdown: bool,
    },
    /// Benchmark against google-people1 (compile time, loopback and WAN run time, generation, size)
    /// and write docs/benchmarks.md. Slow; not run in CI.
    Bench {
        /// Runs per measurement (medians and min/max are reported).
        #[arg(long, default_value_t = 5, value_parser = parse_jobs)]
        runs: usize,
        /// Also time cold builds of each app, all dependencies included.
        #[arg(long)]
        cold: bool,
        /// Cold builds per app with --cold, alternating between the two (a cold build takes
        /// about 40 s; the paired ratio of one run varied from 0.80 to 0.95 on these machines,
        /// and 9 pairs are the fewest whose median has a 95 % interval narrower than the range).
        #[arg(long, default_value_t = 9, value_parser = parse_jobs)]
        cold_runs: usize,
        /// Only these sections: compile, runtime, gen, size, wan, scale (repeatable); the report keeps
        /// the others as they were.
        #[arg(long)]
        only: Vec<Section>,
        /// Smoke test of the tooling: few iterations.
        #[arg(long)]
        quick: bool,
        /// The report [default: docs/benchmarks.md in the workspace].
        #[arg(long)]
        out: Option<PathBuf>,
        /// The google-people1 comparison app [default: ../shared/bench/people1-usage, from
        /// the workspace root].
        #[arg(long)]
        people1_usage: Option<PathBuf>,
        /// Discovery documents for the corpus generation timing [default: ../shared/corpus,
        /// from the workspace root].
        #[arg(long)]
        corpus: Option<PathBuf>,
    },
    /// Package the published crates (runtime, People, test server), unpack them outside the
    /// workspace, run their tests and doctests there, and build and test a scratch application
    /// that depends on them through the READMEs' dependency lines.
    Package {
        /// The scratch workspace [default: target/package-check in the workspace].
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Cargo target directory [default: target in the workspace, to reuse its build].
        #[arg(long)]
        target_dir: Option<PathBuf>,
    },
    /// Copy the workspace, move every dependency to its newest semver-compatible version
    /// (`cargo update`), and run clippy and rustdoc with -D warnings and the tests there.
    /// Needs the crates.io index; not run in CI.
    Latest {
        /// Where the copy and its build go [default: target/latest in the workspace].
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Generate and compile a crate for every *.json Discovery document in DIR.
    Corpus {
        /// Directory of Discovery documents.
        dir: PathBuf,
        /// Parallel generator threads and cargo jobs [default: number of CPUs].
        #[arg(long, short, value_parser = parse_jobs)]
        jobs: Option<usize>,
        /// Only documents whose file name or stem matches this glob (`*`, `?`).
        #[arg(long)]
        filter: Option<String>,
        /// Run `cargo clippy` instead of `cargo check`.
        #[arg(long, conflicts_with = "no_check")]
        clippy: bool,
        /// Only generate (and time generation); compile nothing.
        #[arg(long)]
        no_check: bool,
        /// Package every crate (`cargo package`, against the local runtime) and check the
        /// packaged crates instead of the generated directories.
        #[arg(long, conflicts_with = "no_check")]
        package: bool,
        /// Where the crates and their workspace go [default: target/corpus in the workspace].
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Markdown report [default: OUT_DIR/report.md].
        #[arg(long)]
        report: Option<PathBuf>,
        /// Cargo target directory for the checks [default: target/corpus-target]; pass
        /// `target` to reuse the dependencies the workspace already built.
        #[arg(long)]
        target_dir: Option<PathBuf>,
    },
}

// Generation allocates and frees millions of small token trees; mimalloc makes regen and
// corpus runs about 1.7x faster than the system allocator (measured on compute.v1).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    let root = workspace_root();
    match command {
        Command::Regen { fetch } => regen::run(&root, fetch),
        Command::Check => check::run(&root),
        Command::Diff { old, new, markdown } => regen::diff(&old, &new, markdown),
        Command::Fetch { url, out } => {
            let out = out.unwrap_or_else(|| root.join(PEOPLE_DOCUMENT));
            let outcome = fetch::fetch(&url, &out)?;
            println!("{}: {}", out.display(), outcome.summary());
            Ok(())
        }
        Command::Bench { runs, cold, cold_runs, only, quick, out, people1_usage, corpus } => bench::run(
            &root,
            &BenchOptions {
                runs: if quick { 1 } else { runs },
                cold_runs: match (cold, quick) {
                    (false, _) => 0,
                    (true, true) => 1,
                    (true, false) => cold_runs,
                },
                only,
                quick,
                out: out.unwrap_or_else(|| root.join("docs/benchmarks.md")),
                people1_usage: people1_usage
                    .unwrap_or_else(|| bench::default_path(&root, bench::DEFAULT_PEOPLE1_USAGE)),
                corpus: corpus.unwrap_or_else(|| bench::default_path(&root, bench::DEFAULT_CORPUS)),
            },
        ),
        Command::Latest { dir } => {
            latest::run(&root, &LatestOptions { dir: dir.unwrap_or_else(|| root.join("target/latest")) })
        }
        Command::Package { out_dir, target_dir } => package::run(
            &root,
            &PackageOptions {
                out_dir: out_dir.unwrap_or_else(|| root.join("target/package-check")),
                target_dir: target_dir.unwrap_or_else(|| root.join("target")),
            },
        ),
        Command::Corpus { dir, jobs, filter, clippy, no_check, package, out_dir, report, target_dir } => {
            let out_dir = out_dir.unwrap_or_else(|| root.join("target/corpus"));
            let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
            corpus::run(&CorpusOptions {
                documents: dir,
                jobs,
                filter,
                clippy,
                no_check,
                package,
                report: report.unwrap_or_else(|| out_dir.join("report.md")),
                out_dir,
                target_dir: target_dir.unwrap_or_else(|| root.join("target/corpus-target")),
                runtime_dir: root.join("generator/runtime"),
                seed_lockfile: Some(root.join("Cargo.lock")),
            })
        }
    }
}

fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(jobs) => Ok(jobs),
        Err(err) => Err(err.to_string()),
    }
}
