//! The `scale` section: a service acting for 10,000 users (clients derived per user from one
//! shared client, against building each from scratch and against google-people1 hubs sharing
//! one hyper client), and a 1 GiB resumable upload from a file, on the loopback server of the
//! `runtime` section; and a 450-contact batch with 3 refused contacts and an error that names
//! none, against the public People test server. All are `bench/runtime-bench` modes (`users`,
//! `upload`, `isolation`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::{BenchOptions, Summary};

/// One way of making per-user clients, measured.
pub struct Users {
    pub label: &'static str,
    pub build_ms: Summary,
    /// Resident memory the clients added, KiB.
    pub rss_kib: Summary,
    pub calls_s: Summary,
    pub sockets: Summary,
}

pub struct ScaleResults {
    pub users_n: usize,
    pub users: Vec<Users>,
    pub upload_mib: u64,
    pub upload_mib_s: Summary,
    pub upload_peak_mib: Summary,
    pub isolation: Isolation,
    pub load: Vec<String>,
}

/// The 450-contact batch over every placement of its 3 refused contacts that was tried.
pub struct Isolation {
    pub placements: usize,
    pub requests: Summary,
    pub isolation_requests: Summary,
    pub wall_ms: Summary,
    /// Placements where all 447 valid contacts were written (and stored), the 3 reported with
    /// the service's message, and all 450 accounted for.
    pub complete: usize,
    /// The placement that took the most requests.
    pub worst: String,
}

fn run_json(binary: &Path, args: &[&str]) -> Result<serde_json::Value> {
    let out = Command::new(binary).args(args).output().with_context(|| format!("cannot run {}", binary.display()))?;
    if !out.status.success() {
        bail!("runtime-bench {} failed ({}): {}", args.join(" "), out.status, String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("bad output {:?}", String::from_utf8_lossy(&out.stdout)))
}

/// A file of `mib` MiB of varied bytes, made once.
fn media_file(dir: &Path, mib: u64) -> Result<std::path::PathBuf> {
    let path = dir.join(format!("upload-{mib}MiB.bin"));
    if path.metadata().is_ok_and(|m| m.len() == mib << 20) {
        return Ok(path);
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let block: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    for _ in 0..mib {
        file.write_all(&block)?;
    }
    file.flush()?;
    Ok(path)
}

pub fn run(binary: &Path, base: &str, bench_dir: &Path, options: &BenchOptions) -> Result<ScaleResults> {
    let runs = options.runs.max(1);
    let users_n = if options.quick { 1000 } else { 10_000 };
    let mut load = vec![super::loadavg()];
    let mut users = Vec::new();
    for (client, label) in [
        ("ours", "ours: `shared.with_token_provider(..)` per user"),
        ("ours-naive", "ours: a client built from scratch per user"),
        ("theirs", "google-people1: a hub per user sharing one hyper client"),
    ] {
        let (mut build, mut rss, mut calls, mut sockets) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let v = run_json(binary, &["users", client, &users_n.to_string(), base])?;
            let get = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
            build.push(get("build_s") * 1e3);
            rss.push(get("rss_built_kib") - get("rss_before_kib"));
            calls.push(get("calls_s"));
            sockets.push(get("sockets"));
        }
        let result = Users {
            label,
            build_ms: Summary::of(&build),
            rss_kib: Summary::of(&rss),
            calls_s: Summary::of(&calls),
            sockets: Summary::of(&sockets),
        };
        eprintln!(
            "  users {client}: {:.1} ms to make {users_n}, {:.0} KiB, calls {:.2} s, {:.0} sockets",
            result.build_ms.median, result.rss_kib.median, result.calls_s.median, result.sockets.median
        );
        users.push(result);
    }
    load.push(super::loadavg());

    let upload_mib = if options.quick { 64 } else { 1024 };
    let file = media_file(bench_dir, upload_mib)?;
    let (mut rate, mut peak) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let v = run_json(binary, &["upload", &file.display().to_string(), base])?;
        let wall = v["wall_s"].as_f64().unwrap_or(f64::NAN);
        rate.push(upload_mib as f64 / wall);
        peak.push(v["peak_rss_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0);
        eprintln!("  upload run {}: {:.0} MiB/s, peak RSS {:.1} MiB", run + 1, rate[run], peak[run]);
    }
    load.push(super::loadavg());

    let random = if options.quick { 5 } else { 60 };
    let v = run_json(binary, &["isolation", &random.to_string()])?;
    let rows = v.as_array().context("isolation: expected a list")?;
    let num = |row: &serde_json::Value, k: &str| row[k].as_f64().unwrap_or(f64::NAN);
    let complete = rows
        .iter()
        .filter(|r| {
            num(r, "written") == 447.0
                && num(r, "stored") == 447.0
                && num(r, "accounted") == 450.0
                && r["reported"].as_bool() == Some(true)
        })
        .count();
    let worst = rows
        .iter()
        .max_by(|a, b| num(a, "requests").total_cmp(&num(b, "requests")))
        .map(|r| format!("{} ({} requests)", r["placement"], r["requests"]))
        .unwrap_or_default();
    let isolation = Isolation {
        placements: rows.len(),
        requests: Summary::of(&rows.iter().map(|r| num(r, "requests")).collect::<Vec<_>>()),
        isolation_requests: Summary::of(&rows.iter().map(|r| num(r, "isolation")).collect::<Vec<_>>()),
        wall_ms: Summary::of(&rows.iter().map(|r| num(r, "wall_s") * 1e3).collect::<Vec<_>>()),
        complete,
        worst,
    };
    eprintln!(
        "  isolation: {} placements, {} complete, requests {:.0} median, {:.0} at worst",
        isolation.placements, isolation.complete, isolation.requests.median, isolation.requests.max
    );
    load.push(super::loadavg());
    Ok(ScaleResults {
        isolation,
        users_n,
        users,
        upload_mib,
        upload_mib_s: Summary::of(&rate),
        upload_peak_mib: Summary::of(&peak),
        load,
    })
}

pub fn render(s: &mut String, r: &ScaleResults) {
    let _ = writeln!(s, "## 6. Scale: many users on one HTTP client, a large upload\n");
    let _ = writeln!(
        s,
        "`bench/runtime-bench users` and `upload`, against the loopback server of section 2. A service acting for \
         {n} users makes a client per user, then each user makes one `people.get`, 100 at a time (a multi-thread \
         tokio runtime with 2 workers, HTTP/1.1 over plain `http://`). \"Memory\" is the resident memory the \
         clients added (`VmRSS` after making them minus before); \"sockets\" are the process's open sockets after \
         the calls.\n",
        n = r.users_n
    );
    let _ = writeln!(s, "| {n} users | time to make the clients, ms | memory they add, KiB | time of the {n} calls, s | sockets open after |", n = r.users_n);
    let _ = writeln!(s, "| --- | --- | --- | --- | --- |");
    for u in &r.users {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            u.label,
            u.build_ms.show(1),
            u.rss_kib.show(0),
            u.calls_s.show(2),
            u.sockets.show(0)
        );
    }
    let _ = writeln!(
        s,
        "\nA {mib} MiB file uploaded through a resumable session (`Media::from_path`, `Upload::resumable()`, 8 MiB \
         chunks) to the loopback server, which counts the bytes and keeps none; a current-thread runtime. Peak \
         memory is the uploading process's `VmHWM`.\n",
        mib = r.upload_mib
    );
    let _ = writeln!(s, "| upload | result | target |");
    let _ = writeln!(s, "| --- | --- | --- |");
    let _ = writeln!(
        s,
        "| throughput, MiB/s | {} | ≥ 300: {} |",
        r.upload_mib_s.show(0),
        super::verdict(r.upload_mib_s.median >= 300.0)
    );
    let _ = writeln!(
        s,
        "| peak resident memory of the uploading process, MiB | {} | < 64: {} |",
        r.upload_peak_mib.show(1),
        super::verdict(r.upload_peak_mib.median < 64.0)
    );
    let i = &r.isolation;
    let _ = writeln!(
        s,
        "\nA 450-contact `batchUpdateContacts` run through `BatchWriter` (chunks of 200, `item_errors`) against \
         the public People test server (`google-people-v1-test-server`, in-process) answering a refused request \
         with an error that names no contact (`BatchErrorShape::Unnamed`); 3 contacts were changed by another \
         writer after they were read, so the service refuses them (stale etag) and the writer has to find them \
         by splitting requests. {n} placements of the three: 7 chosen as hard (together, at chunk edges, one per \
         chunk) and {r} random. \"Complete\" means all 447 valid contacts written and stored, the 3 reported \
         with the service's message, all 450 accounted for. Min–max in parentheses span the placements.\n",
        n = i.placements,
        r = i.placements.saturating_sub(7)
    );
    let _ = writeln!(s, "| batch of 450, 3 refused, error naming none | result | target |");
    let _ = writeln!(s, "| --- | --- | --- |");
    let _ = writeln!(
        s,
        "| placements complete | {} of {} | all: {} |",
        i.complete,
        i.placements,
        super::verdict(i.complete == i.placements)
    );
    let _ = writeln!(
        s,
        "| requests sent, median (min–max) | {:.0} ({:.0}–{:.0}); worst placement {} | ≤ 50 wherever the 3 fall: {} |",
        i.requests.median,
        i.requests.min,
        i.requests.max,
        i.worst,
        super::verdict(i.requests.max <= 50.0)
    );
    let _ = writeln!(s, "| of which spent isolating | {} | |", i.isolation_requests.show(0));
    let _ = writeln!(s, "| time of the run on loopback, ms | {} | |", i.wall_ms.show(1));
    let _ = writeln!(s, "\nLoad average: {}.\n", r.load.join(" → "));
}
