//! Fuzzing the generator with mutated Discovery documents, on stable Rust.
//!
//! Every input must end in `Ok(crate)` whose Rust files parse, or in a `Parse`/`Resolve`
//! error; a panic, an input that runs past the time bound, or `Error::Format` (emitted
//! tokens that are not Rust, which the generator itself calls a bug) is a failure.
//!
//! - `fuzz_bounded` runs in CI: a fixed seed and a fixed number of inputs, deterministic.
//! - `fuzz_long` is ignored by default and runs for `FUZZ_SECONDS` (see
//!   `docs/reliability.md`):
//!
//!   ```sh
//!   FUZZ_SECONDS=600 cargo test --release -p discovery-codegen --test fuzz -- --ignored --nocapture fuzz_long
//!   ```
//!
//!   `FUZZ_SEED` fixes the seed (printed otherwise), `FUZZ_TIMEOUT_MS` the per-input bound,
//!   `FUZZ_CORPUS` adds a directory of seed documents, `FUZZ_SAMPLE=N` keeps N successful
//!   inputs for `cargo xtask corpus` to compile, and `FUZZ_REPRO=FILE` replays one input.
//!
//! Inputs come from seed documents mutated by `generator/fuzz/mutator.rs`. There is no
//! coverage instrumentation on stable; the harness keeps, as a stand-in, inputs whose
//! outcome has a new *signature* (error kind with names and numbers blanked, the JSON
//! member the error is at, or the features of a successful output) and mutates those
//! further. The number of distinct signatures is what "coverage" means in its reports;
//! for real edge coverage see the cargo-fuzz target in `generator/fuzz/`.

#[path = "../fuzz/mutator.rs"]
mod mutator;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use discovery_codegen::{generate, CrateOptions, Error};
use mutator::{mutate_bytes, mutate_tree, Json, Rng};

/// Inputs of the CI run: about 7 s in a debug build, 15 s on a busy machine.
const BOUNDED_INPUTS: u64 = 1500;
const BOUNDED_SEED: u64 = 0x00D1_5C0F_3E27;
/// Generous, so that a loaded CI machine does not turn slowness into a failure; the
/// slowest input of a run is reported so that creeping slowness stays visible.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The harness stops after this many failures: the first few say enough.
const MAX_FAILURES: usize = 5;

#[test]
fn fuzz_bounded() {
    let config = Config {
        seed: BOUNDED_SEED,
        budget: Budget::Inputs(BOUNDED_INPUTS),
        timeout: env_u64("FUZZ_TIMEOUT_MS").map(Duration::from_millis).unwrap_or(DEFAULT_TIMEOUT),
        seeds: seed_documents(false, None),
        sample: 0,
        progress: false,
    };
    let report = run(&config);
    println!("{}", report.summary(&config));
    assert!(report.failures.is_empty(), "{}", report.failure_text());
    // The run must have explored: successes, parse errors and resolve errors all occur,
    // and the mutations reach many kinds of outcome. A harness that silently stopped
    // mutating (or a generator that accepts everything) fails here.
    assert_eq!(report.inputs, BOUNDED_INPUTS);
    assert!(report.ok > BOUNDED_INPUTS / 20, "{}", report.summary(&config));
    assert!(report.signatures.keys().any(|s| s.starts_with("parse:")));
    assert!(report.signatures.keys().any(|s| s.starts_with("resolve:")));
    assert!(report.signatures.len() >= 40, "{}", report.summary(&config));
}

#[test]
#[ignore = "long-running; see docs/reliability.md"]
fn fuzz_long() {
    if let Ok(path) = std::env::var("FUZZ_REPRO") {
        let text = String::from_utf8_lossy(&std::fs::read(&path).expect("FUZZ_REPRO file")).into_owned();
        let started = Instant::now();
        let outcome = classify(&text);
        println!("{path}: {outcome:?} in {:?}", started.elapsed());
        assert!(!matches!(outcome, Outcome::Bug(_)), "{outcome:?}");
        return;
    }
    let seed = env_u64("FUZZ_SEED").unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        nanos.as_nanos() as u64
    });
    let corpus = std::env::var_os("FUZZ_CORPUS").map(PathBuf::from);
    let config = Config {
        seed,
        budget: Budget::Time(Duration::from_secs(env_u64("FUZZ_SECONDS").unwrap_or(60))),
        timeout: env_u64("FUZZ_TIMEOUT_MS").map(Duration::from_millis).unwrap_or(DEFAULT_TIMEOUT),
        seeds: seed_documents(true, corpus.as_deref()),
        sample: env_u64("FUZZ_SAMPLE").unwrap_or(0) as usize,
        progress: true,
    };
    println!("fuzz_long: seed {seed:#x} (FUZZ_SEED={seed}), {} seed documents", config.seeds.len());
    let report = run(&config);
    println!("{}", report.summary(&config));
    assert!(report.failures.is_empty(), "{}", report.failure_text());
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={text} is not a number")))
}

struct Config {
    seed: u64,
    budget: Budget,
    timeout: Duration,
    seeds: Vec<(String, Json)>,
    /// Successful inputs to keep for compilation (`cargo xtask corpus DIR`).
    sample: usize,
    progress: bool,
}

enum Budget {
    Inputs(u64),
    Time(Duration),
}

/// The seed documents: the small real documents copied into `generator/fuzz/seeds` and the
/// generator's feature fixtures; the long form adds the People document and `extra`.
fn seed_documents(long: bool, extra: Option<&Path>) -> Vec<(String, Json)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("fuzz/seeds"), root.join("tests/fixtures")];
    dirs.extend(extra.map(Path::to_path_buf));
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        // Big documents slow every input down; the bounded run keeps to small ones.
        .filter(|path| long || std::fs::metadata(path).map(|m| m.len() < 64 * 1024).unwrap_or(false))
        .collect();
    if long {
        files.push(root.join("../discovery/people.v1.json"));
    }
    files.sort();
    let seeds: Vec<(String, Json)> = files
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).ok()?;
            Some((path.file_name()?.to_string_lossy().into_owned(), Json::parse(&text)?))
        })
        .collect();
    assert!(seeds.len() >= 5, "seed documents missing: {dirs:?}");
    seeds
}

/// How one input ended.
#[derive(Debug)]
enum Outcome {
    /// Generated, and every Rust file parses; the signature names the output's features.
    Ok(String),
    /// A `Parse` or `Resolve` error, by signature.
    Rejected(String),
    /// Not acceptable: `Error::Format`, or output that does not parse.
    Bug(String),
}

/// Runs the generator on one input and checks what it returns.
fn classify(input: &str) -> Outcome {
    match generate(input, &CrateOptions::default()) {
        Ok(krate) => {
            let mut features = BTreeSet::new();
            for file in &krate.files {
                if file.path.extension().is_some_and(|ext| ext == "rs") {
                    if let Err(err) = syn::parse_file(&file.contents) {
                        return Outcome::Bug(format!("{} does not parse: {err}", file.path.display()));
                    }
                    for (marker, feature) in FEATURES {
                        if file.contents.contains(marker) {
                            features.insert(*feature);
                        }
                    }
                }
            }
            Outcome::Ok(format!("ok:{}", features.into_iter().collect::<Vec<_>>().join(",")))
        }
        Err(Error::Parse(err)) => Outcome::Rejected(format!("parse:{}:{}", member(&err.path), shape(&err.message))),
        Err(Error::Resolve(err)) => Outcome::Rejected(format!("resolve:{}:{}", member(&err.path), shape(&err.message))),
        Err(err @ Error::Format { .. }) => Outcome::Bug(err.to_string()),
    }
}

/// Text that shows a feature of the generated code, for success signatures.
const FEATURES: &[(&str, &str)] = &[
    ("impl discovery_runtime::Page for", "paging"),
    ("MediaUploadInfo {", "upload"),
    ("pub async fn download", "download"),
    ("Option<Box<", "boxed"),
    ("\npub type ", "alias"),
    ("(String),\n", "enum"),
    ("pub const fn as_str(self)", "mask"),
    ("r#", "raw-ident"),
    ("#[deprecated]", "deprecated"),
    ("```text", "code-block"),
    ("pub mod scopes", "scopes"),
    ("with = \"discovery_runtime::wire::int64\"", "int64"),
    ("BTreeMap<String, crate::types::", "map"),
    ("call.query_repeated(", "repeated"),
];

/// The member an error is at, when it is a Discovery key; `*` for names from the document.
fn member(path: &str) -> &str {
    let last = path.rsplit('.').next().unwrap_or(path);
    if mutator::KEYS.contains(&last) || last == "." {
        last
    } else {
        "*"
    }
}

/// An error message with quoted names and numbers blanked, so that messages differing only
/// in the document's names count once.
fn shape(message: &str) -> String {
    let mut out = String::new();
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' | '"' => {
                // Debug-quoted strings escape their quotes.
                while let Some(d) = chars.next() {
                    if d == '\\' && c == '"' {
                        chars.next();
                    } else if d == c {
                        break;
                    }
                }
                out.push('_');
            }
            c if c.is_ascii_digit() => {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push('N');
            }
            c => out.push(c),
        }
        if out.len() > 100 {
            break;
        }
    }
    out
}

#[derive(Default)]
struct Report {
    inputs: u64,
    ok: u64,
    rejected: u64,
    elapsed: Duration,
    /// Signature to the number of inputs that had it.
    signatures: BTreeMap<String, u64>,
    operations: BTreeMap<&'static str, u64>,
    failures: Vec<String>,
    slowest: (Duration, usize),
    largest_input: usize,
    pool: usize,
    sampled: usize,
}

impl Report {
    fn summary(&self, config: &Config) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let mut text = format!(
            "fuzz: seed {:#x}: {} inputs in {:.1} s ({:.0}/s): {} generated, {} rejected, {} failures; \
             {} distinct outcome signatures; pool {}; slowest input {:?} ({} bytes, kept in {}); largest input {} bytes",
            config.seed,
            self.inputs,
            secs,
            self.inputs as f64 / secs,
            self.ok,
            self.rejected,
            self.failures.len(),
            self.signatures.len(),
            self.pool,
            self.slowest.0,
            self.slowest.1,
            artifacts().join("slowest-input.json").display(),
            self.largest_input,
        );
        if self.sampled > 0 {
            text.push_str(&format!(
                "; {} successful inputs kept in {}",
                self.sampled,
                artifacts().join("sample").display()
            ));
        }
        text.push_str("\noperations:");
        for (op, n) in &self.operations {
            text.push_str(&format!(" {op}={n}"));
        }
        text.push_str("\nsignatures:");
        for (signature, n) in &self.signatures {
            text.push_str(&format!("\n  {n:>7}  {signature}"));
        }
        text
    }

    fn failure_text(&self) -> String {
        format!("{} failure(s):\n{}", self.failures.len(), self.failures.join("\n"))
    }
}

/// Where failing inputs, the input being run and samples go.
fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz")
}

/// The message and place of the last panic on the worker thread.
static PANIC: Mutex<Option<String>> = Mutex::new(None);
const WORKER: &str = "fuzz-worker";

fn run(config: &Config) -> Report {
    let dir = artifacts();
    std::fs::create_dir_all(dir.join("failures")).expect("artifact directory");
    if config.sample > 0 {
        let _ = std::fs::remove_dir_all(dir.join("sample"));
        std::fs::create_dir_all(dir.join("sample")).expect("sample directory");
    }
    // Panics on the worker are expected findings: record them instead of printing a
    // backtrace per input. Other threads keep the default hook.
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if thread::current().name() == Some(WORKER) {
            *PANIC.lock().unwrap_or_else(|p| p.into_inner()) = Some(info.to_string());
        } else {
            default_hook(info);
        }
    }));

    // The generator runs on a worker thread with the default stack size of spawned threads
    // (2 MiB, what a library user on a thread pool gets), so that deep recursion shows up
    // here rather than only on the 8 MiB main thread of the CLI.
    let (job_tx, job_rx) = mpsc::channel::<String>();
    let (done_tx, done_rx) = mpsc::channel::<(Result<Outcome, String>, Duration)>();
    thread::Builder::new()
        .name(WORKER.into())
        .spawn(move || {
            for input in job_rx {
                let started = Instant::now();
                let result = panic::catch_unwind(AssertUnwindSafe(|| classify(&input))).map_err(|_| {
                    PANIC.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_else(|| "panic".to_owned())
                });
                if done_tx.send((result, started.elapsed())).is_err() {
                    break;
                }
            }
        })
        .expect("spawn the worker");

    let mut rng = Rng::new(config.seed);
    let donors: Vec<Json> = config.seeds.iter().map(|(_, doc)| doc.clone()).collect();
    let mut pool: Vec<Json> = Vec::new();
    let mut report = Report::default();
    let started = Instant::now();
    let mut last_progress = started;
    let current_input = dir.join("current-input.json");
    loop {
        match config.budget {
            Budget::Inputs(n) if report.inputs >= n => break,
            Budget::Time(limit) if started.elapsed() >= limit => break,
            _ => {}
        }
        if report.failures.len() >= MAX_FAILURES {
            break;
        }

        // Half the time start again from a seed, otherwise from an input that reached a
        // new outcome, and stack one to six mutations on it.
        let mut tree = if pool.is_empty() || rng.chance(1, 2) {
            rng.pick(&config.seeds).1.clone()
        } else {
            rng.pick(&pool).clone()
        };
        let mutations = 1 + (rng.next_u64() | 1 << 5).trailing_zeros() as usize;
        for _ in 0..mutations {
            *report.operations.entry(mutate_tree(&mut tree, &mut rng, &donors)).or_default() += 1;
        }
        let mut bytes = tree.to_text().into_bytes();
        let byte_level = rng.chance(1, 5);
        if byte_level {
            for _ in 0..rng.size(3) {
                *report.operations.entry(mutate_bytes(&mut bytes, &mut rng)).or_default() += 1;
            }
        }
        let input = String::from_utf8_lossy(&bytes).into_owned();
        report.largest_input = report.largest_input.max(input.len());

        // Kept on disk while it runs: a stack overflow aborts the process, and then this
        // file is the input that did it.
        let _ = std::fs::write(&current_input, &input);
        job_tx.send(input.clone()).expect("worker alive");
        let (result, took) = match done_rx.recv_timeout(config.timeout) {
            Ok(done) => done,
            Err(RecvTimeoutError::Timeout) => {
                let file = save_failure("hang", &input);
                report.failures.push(format!("no result within {:?}: {}", config.timeout, file.display()));
                break; // the worker is stuck; nothing more can run
            }
            Err(RecvTimeoutError::Disconnected) => unreachable!("the worker catches panics"),
        };
        report.inputs += 1;
        if took > report.slowest.0 {
            report.slowest = (took, input.len());
            // Kept for a look at what makes the generator slow.
            let _ = std::fs::write(dir.join("slowest-input.json"), &input);
        }
        let signature = match result {
            Ok(Outcome::Ok(signature)) => {
                report.ok += 1;
                // The first success of each kind, and every 50th, for variety.
                let keep = !report.signatures.contains_key(&signature) || report.ok % 50 == 0;
                if keep && report.sampled < config.sample {
                    report.sampled += 1;
                    let path = dir.join("sample").join(format!("fuzz{:04}.json", report.sampled));
                    std::fs::write(path, &input).expect("write sample");
                }
                signature
            }
            Ok(Outcome::Rejected(signature)) => {
                report.rejected += 1;
                signature
            }
            Ok(Outcome::Bug(message)) => {
                let file = save_failure("bug", &input);
                report.failures.push(format!("{message}: {}", file.display()));
                continue;
            }
            Err(panic) => {
                let file = save_failure("panic", &input);
                report.failures.push(format!("{panic}: {}", file.display()));
                continue;
            }
        };
        let count = report.signatures.entry(signature).or_default();
        *count += 1;
        // A new outcome: keep the input to mutate further (as a tree, which byte-level
        // inputs are not, and not when huge, which would slow every later input).
        if *count == 1 && !byte_level && input.len() < 512 * 1024 {
            if pool.len() < 512 {
                pool.push(tree);
            } else {
                let i = rng.below(pool.len());
                pool[i] = tree;
            }
        }
        if config.progress && last_progress.elapsed() >= Duration::from_secs(30) {
            last_progress = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "fuzz: {:>5.0} s {:>9} inputs {:>6.0}/s {:>5} signatures {} failures",
                secs,
                report.inputs,
                report.inputs as f64 / secs,
                report.signatures.len(),
                report.failures.len()
            );
        }
    }
    report.elapsed = started.elapsed();
    report.pool = pool.len();
    report
}

fn save_failure(kind: &str, input: &str) -> PathBuf {
    // FNV-1a: a stable name, so the same failure found twice is one file.
    let hash = input.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let path = artifacts().join("failures").join(format!("{kind}-{hash:016x}.json"));
    std::fs::write(&path, input).expect("write failure");
    path
}

#[test]
fn signatures_blank_names_and_numbers() {
    assert_eq!(shape("unknown type `x1` at line 3 column 17"), "unknown type _ at line N column N");
    assert_eq!(shape(r#"invalid type: string "a\"b", expected u32"#), "invalid type: string _, expected uN");
    assert_eq!(member("schemas.Foo.properties.type"), "type");
    assert_eq!(member("schemas.Foo"), "*");
}
