//! The `wan` section: both clients against the People server over a link shaped like a
//! real one, TLS included.
//!
//! The link: two network namespaces made for the run, the client's and the server's, each
//! with a TUN device. `runtime-bench wan-relay` moves IP packets between the two devices
//! after a fixed delay per direction (20 ms, so 40 ms round trip), and a `tbf` qdisc on each
//! device's egress limits each direction to 20 Mbit/s. TCP therefore runs end to end over
//! the delayed, limited path, as on a real link (the kernel here has no `netem`). Nothing
//! of it touches the host's own namespace: the clients and the server run inside the
//! namespaces through `ip netns exec`.
//!
//! Cleanup: everything made here belongs to one [`Link`], whose drop stops the relay and the
//! server and deletes both namespaces (their devices and qdiscs go with them). A watchdog
//! shell in its own process group does the same deletions when this process dies without
//! unwinding (Ctrl-C, a kill): it waits for its stdin, which only this process holds, to
//! close. Namespaces left by a run whose process is gone are deleted at the start.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{bail, Context, Result};

use super::{build_runtime_bench, loadavg, ratio, verdict, BenchOptions, Summary};

/// Each direction's rate, as `tc` reads it.
const RATE: &str = "20mbit";
const RATE_MBIT: f64 = 20.0;
const ONE_WAY_MS: u64 = 20;
/// Enough for about ten full-size packets at line rate, as a router's would pass.
const TBF_BURST: &str = "16kb";
/// Queue limit, as the time a full queue takes to drain: a bottleneck buffer of about two
/// and a half bandwidth-delay products.
const TBF_LATENCY: &str = "100ms";
const DEVICE: &str = "wan0";
const CLIENT_ADDR: &str = "10.250.0.1";
const SERVER_ADDR: &str = "10.250.0.2";
const SEED: u64 = 20_261_206;
/// Namespace names are `{NS_PREFIX}{pid}-c` and `-s`.
const NS_PREFIX: &str = "xtask-wan-";

/// Row key (the client mode's name), label, requests per run, ours/google-people1 throughput
/// target.
const ROWS: [(&str, &str, usize, f64); 3] = [
    ("list", "(a) `connections.list`, one page of 1000 persons", 1, 3.0),
    ("get", "(b) 100 concurrent `people.get` (different persons)", 100, 1.5),
    ("update", "(c) 50 sequential `updateContact`", 50, 1.0),
];
const SIDES: [&str; 2] = ["ours", "theirs"];

/// Why the section cannot run here, if it cannot.
pub(super) fn preflight() -> Result<(), String> {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|v| v.split_whitespace().nth(1));
    if euid != Some("0") {
        return Err("needs root (network namespaces, TUN devices and qdiscs)".to_owned());
    }
    for tool in ["ip", "tc"] {
        match Command::new(tool).arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status() {
            Ok(s) if s.success() => {}
            _ => return Err(format!("`{tool}` (iproute2) is not installed or does not run")),
        }
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err("/dev/net/tun is missing (no TUN support)".to_owned());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The link

/// A child process driven through its stdin and stdout: one `stats` line in, one JSON line
/// out. It exits when its stdin closes.
struct Controlled {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Controlled {
    /// Starts `cmd` and waits for its first line, which must start with `ready`; returns the
    /// rest of that line.
    fn start(name: &'static str, mut cmd: Command) -> Result<(Controlled, String)> {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = cmd.spawn().with_context(|| format!("cannot start the {name}: {cmd:?}"))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        let mut process = Controlled { name, child, stdin, stdout };
        let mut line = String::new();
        process.stdout.read_line(&mut line)?;
        match line.trim().strip_prefix("ready") {
            Some(rest) => Ok((process, rest.trim().to_owned())),
            None => bail!("the {name} did not start (said {line:?}; its errors are above)"),
        }
    }

    fn stats(&mut self) -> Result<serde_json::Value> {
        let stdin = self.stdin.as_mut().context("closed")?;
        writeln!(stdin, "stats").and_then(|()| stdin.flush()).with_context(|| format!("the {} is gone", self.name))?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        serde_json::from_str(&line).with_context(|| format!("bad stats from the {}: {line:?}", self.name))
    }

    fn stop(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The namespaces and the processes of one run; dropping it undoes everything.
struct Link {
    namespaces: [String; 2],
    relay: Option<Controlled>,
    server: Option<Controlled>,
    /// Holds the watchdog's stdin open while the link lives.
    watchdog: Option<(Child, ChildStdin)>,
}

impl Link {
    fn client_ns(&self) -> &str {
        &self.namespaces[0]
    }
    fn server_ns(&self) -> &str {
        &self.namespaces[1]
    }

    fn create() -> Result<Link> {
        remove_stale_namespaces();
        let pid = std::process::id();
        let namespaces = [format!("{NS_PREFIX}{pid}-c"), format!("{NS_PREFIX}{pid}-s")];
        let script = format!(
            "cat >/dev/null; ip netns del {0} 2>/dev/null; ip netns del {1} 2>/dev/null",
            namespaces[0], namespaces[1]
        );
        let mut watchdog = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            // Its own process group: a Ctrl-C meant for the bench must not stop the cleanup.
            .process_group(0)
            .spawn()
            .context("cannot start the cleanup watchdog")?;
        let stdin = watchdog.stdin.take().context("no watchdog stdin")?;
        let link = Link { namespaces, relay: None, server: None, watchdog: Some((watchdog, stdin)) };
        for ns in link.namespaces.clone() {
            ip(&["netns", "add", &ns])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            // The link carries IPv4 only; IPv6 would add router solicitations to the counts.
            let _ = Command::new("ip")
                .args(["netns", "exec", &ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
                .stderr(Stdio::null())
                .status();
            ip(&["-n", &ns, "tuntap", "add", "dev", DEVICE, "mode", "tun"])?;
            ip(&["-n", &ns, "link", "set", DEVICE, "up"])?;
            tc(&[
                "-n",
                &ns,
                "qdisc",
                "add",
                "dev",
                DEVICE,
                "root",
                "tbf",
                "rate",
                RATE,
                "burst",
                TBF_BURST,
                "latency",
                TBF_LATENCY,
            ])?;
        }
        let (c, s) = (link.client_ns().to_owned(), link.server_ns().to_owned());
        ip(&["-n", &c, "addr", "add", CLIENT_ADDR, "peer", SERVER_ADDR, "dev", DEVICE])?;
        ip(&["-n", &s, "addr", "add", SERVER_ADDR, "peer", CLIENT_ADDR, "dev", DEVICE])?;
        Ok(link)
    }

    /// Packets the `tbf` queues dropped so far, both directions.
    fn drops(&self) -> u64 {
        self.namespaces
            .iter()
            .map(|ns| {
                let out = Command::new("tc").args(["-s", "-n", ns, "qdisc", "show", "dev", DEVICE]).output();
                let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
                // "Sent N bytes M pkt (dropped D, overlimits O requeues R)"
                text.split_once("dropped ")
                    .and_then(|(_, rest)| rest.split(',').next()?.trim().parse::<u64>().ok())
                    .unwrap_or(0)
            })
            .sum()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        for process in [&mut self.relay, &mut self.server].into_iter().flatten() {
            process.stop();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).stderr(Stdio::null()).status();
        }
        if let Some((mut child, stdin)) = self.watchdog.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

/// Deletes the namespaces of earlier runs whose process is gone (killed too hard for even
/// the watchdog, or a machine that kept its state).
fn remove_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else { return };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else { continue };
        let Some(pid) = name.strip_prefix(NS_PREFIX).and_then(|rest| rest.split('-').next()) else { continue };
        if !Path::new("/proc").join(pid).exists() {
            eprintln!("  removing namespace {name} left by an earlier run");
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

fn run_tool(tool: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(tool).args(args).output().with_context(|| format!("cannot run {tool}"))?;
    if !out.status.success() {
        bail!("`{tool} {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

fn ip(args: &[&str]) -> Result<()> {
    run_tool("ip", args)
}

fn tc(args: &[&str]) -> Result<()> {
    run_tool("tc", args)
}

/// `binary args…` inside namespace `ns`, without the proxy variables of this environment
/// (a proxy is not reachable from the namespace, and would not be on the measured path).
fn in_ns(ns: &str, binary: &Path) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns]).arg(binary);
    for var in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"] {
        cmd.env_remove(var);
    }
    cmd
}

// ---------------------------------------------------------------------------------------
// Measuring

pub(super) struct LinkResults {
    connect_ms: Summary,
    echo_ms: Summary,
    down_small_kib: f64,
    down_small_ms: f64,
    down_mib: f64,
    down_mbit: f64,
    down_late_mbit: f64,
    up_mib: f64,
    up_mbit: f64,
}

/// Per side ([ours, google-people1]) summaries of one row.
pub(super) struct WanRow {
    label: &'static str,
    requests: usize,
    target: f64,
    wall_ms: [Summary; 2],
    rate: [Summary; 2],
    cpu_ms: [Summary; 2],
    down_kib: [Summary; 2],
    up_kib: [Summary; 2],
    down_packets: [Summary; 2],
    up_packets: [Summary; 2],
    connections: [Summary; 2],
    h2: [Summary; 2],
    h1: [Summary; 2],
    gzip: [Summary; 2],
    drops: [Summary; 2],
}

pub(super) struct WanResults {
    link: LinkResults,
    rows: Vec<WanRow>,
    /// The page's body as served: indented (Google's default), gzipped, compact
    /// (`prettyPrint=false`), compact gzipped.
    page_bytes: [u64; 4],
    runs: usize,
    warmup: bool,
    load: Vec<String>,
}

/// Everything one client run measured.
#[derive(Default)]
struct Sample {
    wall_ms: f64,
    rate: f64,
    cpu_ms: f64,
    down_kib: f64,
    up_kib: f64,
    down_packets: f64,
    up_packets: f64,
    connections: f64,
    h2: f64,
    h1: f64,
    gzip: f64,
    drops: f64,
}

pub(super) fn run(root: &Path, bench_dir: &Path, options: &BenchOptions) -> Result<Option<WanResults>> {
    let binary = build_runtime_bench(root, bench_dir)?;
    let cert = bench_dir.join("wan-cert.pem");
    let _ = fs::remove_file(&cert);

    eprintln!("  setting up the link ({RATE} each way, {ONE_WAY_MS} ms each way)");
    let mut link = match Link::create() {
        Ok(link) => link,
        Err(err) => {
            eprintln!("  wan: skipped: the link could not be set up: {err:#}");
            return Ok(None);
        }
    };
    let mut relay = Command::new(&binary);
    relay.args(["wan-relay", link.client_ns(), link.server_ns(), DEVICE, &ONE_WAY_MS.to_string()]);
    link.relay = Some(Controlled::start("relay", relay)?.0);
    let mut server = in_ns(link.server_ns(), &binary);
    server.args(["wan-serve", SERVER_ADDR]).arg(&cert).arg(SEED.to_string());
    let (server, ready) = Controlled::start("server", server)?;
    link.server = Some(server);
    let field = |key: &str| {
        ready
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let page_bytes = [field("page"), field("page_gz"), field("page_compact"), field("page_compact_gz")];

    eprintln!("  probing the link");
    let link_results = probe(&link, &binary)?;
    eprintln!(
        "  link: round trip {:.1} ms (connect) / {:.1} ms (echo), down {:.1} Mbit/s, up {:.1} Mbit/s",
        link_results.connect_ms.median, link_results.echo_ms.median, link_results.down_late_mbit, link_results.up_mbit
    );

    let base = format!("https://{SERVER_ADDR}/");
    let runs = options.runs.max(1);
    let warmup = !options.quick;
    let mut results =
        WanResults { link: link_results, rows: Vec::new(), page_bytes, runs, warmup, load: vec![loadavg()] };
    for (row, label, requests, target) in ROWS {
        if warmup {
            // The server's and the kernel's first-use costs, on neither side's account.
            for side in SIDES {
                client_run(&mut link, &binary, side, row, &base, &cert)
                    .with_context(|| format!("warm-up of {side} {row}"))?;
            }
        }
        let mut samples: [Vec<Sample>; 2] = Default::default();
        for run in 0..runs {
            let order: [usize; 2] = if run % 2 == 0 { [0, 1] } else { [1, 0] };
            for &i in &order {
                let mut sample = client_run(&mut link, &binary, SIDES[i], row, &base, &cert)
                    .with_context(|| format!("{} {row}, run {}", SIDES[i], run + 1))?;
                sample.rate = requests as f64 / (sample.wall_ms / 1000.0);
                eprintln!(
                    "  {row} {} run {}: {:.0} ms, {:.0} KiB down, {} connection(s)",
                    ["ours", "google-people1"][i],
                    run + 1,
                    sample.wall_ms,
                    sample.down_kib,
                    sample.connections
                );
                samples[i].push(sample);
            }
        }
        let summary = |f: fn(&Sample) -> f64| -> [Summary; 2] {
            [0, 1].map(|i| Summary::of(&samples[i].iter().map(f).collect::<Vec<_>>()))
        };
        results.rows.push(WanRow {
            label,
            requests,
            target,
            wall_ms: summary(|s| s.wall_ms),
            rate: summary(|s| s.rate),
            cpu_ms: summary(|s| s.cpu_ms),
            down_kib: summary(|s| s.down_kib),
            up_kib: summary(|s| s.up_kib),
            down_packets: summary(|s| s.down_packets),
            up_packets: summary(|s| s.up_packets),
            connections: summary(|s| s.connections),
            h2: summary(|s| s.h2),
            h1: summary(|s| s.h1),
            gzip: summary(|s| s.gzip),
            drops: summary(|s| s.drops),
        });
        let r = results.rows.last().expect("row");
        eprintln!(
            "  {row}: ours {:.0} ms, google-people1 {:.0} ms: {} throughput",
            r.wall_ms[0].median,
            r.wall_ms[1].median,
            ratio(r.rate[0].median, r.rate[1].median)
        );
        results.load.push(loadavg());
    }
    drop(link);
    Ok(Some(results))
}

fn probe(link: &Link, binary: &Path) -> Result<LinkResults> {
    let out = in_ns(link.client_ns(), binary).args(["wan-probe", SERVER_ADDR]).stderr(Stdio::inherit()).output()?;
    if !out.status.success() {
        bail!("the link probe failed ({})", out.status);
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("bad probe output {:?}", String::from_utf8_lossy(&out.stdout)))?;
    let list = |k: &str| -> Vec<f64> {
        v[k].as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect()).unwrap_or_default()
    };
    let num = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let mbit = |bytes: f64, ms: f64| bytes * 8.0 / (ms / 1000.0) / 1e6;
    Ok(LinkResults {
        connect_ms: Summary::of(&list("connect_ms")),
        echo_ms: Summary::of(&list("echo_ms")),
        down_small_kib: num("down_small_bytes") / 1024.0,
        down_small_ms: num("down_small_ms"),
        down_mib: num("down_bytes") / 1048576.0,
        down_mbit: mbit(num("down_bytes"), num("down_ms")),
        down_late_mbit: num("down_late_mbit"),
        up_mib: num("up_bytes") / 1048576.0,
        up_mbit: mbit(num("up_bytes"), num("up_ms")),
    })
}

/// One client process for one row; the relay's, the server's and the queues' counters are
/// read before and after it, nothing else using the link meanwhile.
fn client_run(link: &mut Link, binary: &Path, side: &str, row: &str, base: &str, cert: &PathBuf) -> Result<Sample> {
    let relay0 = link.relay.as_mut().context("no relay")?.stats()?;
    let server0 = link.server.as_mut().context("no server")?.stats()?;
    let drops0 = link.drops();
    let out = in_ns(link.client_ns(), binary)
        .args(["wan", side, row, base])
        .arg(cert)
        .arg(SEED.to_string())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run the client")?;
    if !out.status.success() {
        bail!("runtime-bench wan {side} {row} failed ({})", out.status);
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("bad client output {:?}", String::from_utf8_lossy(&out.stdout)))?;
    let relay1 = link.relay.as_mut().context("no relay")?.stats()?;
    let server1 = link.server.as_mut().context("no server")?.stats()?;
    let delta = |a: &serde_json::Value, b: &serde_json::Value, k: &str| {
        b[k].as_f64().unwrap_or(f64::NAN) - a[k].as_f64().unwrap_or(f64::NAN)
    };
    Ok(Sample {
        wall_ms: v["wall_s"].as_f64().unwrap_or(f64::NAN) * 1000.0,
        rate: 0.0,
        cpu_ms: v["cpu_s"].as_f64().unwrap_or(f64::NAN) * 1000.0,
        down_kib: delta(&relay0, &relay1, "down_bytes") / 1024.0,
        up_kib: delta(&relay0, &relay1, "up_bytes") / 1024.0,
        down_packets: delta(&relay0, &relay1, "down_packets"),
        up_packets: delta(&relay0, &relay1, "up_packets"),
        connections: delta(&relay0, &relay1, "syns"),
        h2: delta(&server0, &server1, "connections_h2"),
        h1: delta(&server0, &server1, "connections_h1"),
        gzip: delta(&server0, &server1, "gzip_responses"),
        drops: (link.drops() - drops0) as f64,
    })
}

// ---------------------------------------------------------------------------------------
// Report

/// A count: one number when every run gave the same (to the unit shown).
fn count(s: &Summary) -> String {
    if format!("{:.0}", s.min) == format!("{:.0}", s.max) {
        format!("{:.0}", s.median)
    } else {
        s.show(0)
    }
}

pub(super) fn render(s: &mut String, w: &WanResults) {
    let l = &w.link;
    let _ = writeln!(s, "## 5. Run time over a limited link (WAN, TLS, release)\n");
    let _ = writeln!(
        s,
        "The same People server, now speaking TLS, behind a link of about {RATE_MBIT:.0} Mbit/s each way and \
         {} ms round trip. The link is two network namespaces made for the run (client, server), joined by a \
         TUN device in each: `runtime-bench wan-relay` moves every IP packet from one device to the other \
         {ONE_WAY_MS} ms after it left (a FIFO per direction, so TCP runs end to end and sees the real round \
         trip: slow start, window growth, losses), and a `tbf` qdisc (rate {RATE}, burst {TBF_BURST}, queue \
         {TBF_LATENCY}) on each device's egress limits the rate. Measured on the link before the rows, with \
         plain TCP:\n",
        2 * ONE_WAY_MS
    );
    let _ = writeln!(s, "| link | configured | measured |\n| --- | --- | --- |");
    let _ = writeln!(s, "| round trip: TCP connect, ms | {} | {} |", 2 * ONE_WAY_MS, l.connect_ms.show(1));
    let _ = writeln!(
        s,
        "| round trip: 1-byte echo on an open connection, ms | {} | {} |",
        2 * ONE_WAY_MS,
        l.echo_ms.show(1)
    );
    let _ = writeln!(
        s,
        "| server → client: {:.0} MiB download on a new connection, Mbit/s of payload | {RATE_MBIT:.0} (IP) | {:.1} overall, {:.1} over its second half |",
        l.down_mib, l.down_mbit, l.down_late_mbit
    );
    let _ = writeln!(
        s,
        "| client → server: {:.0} MiB upload on a new connection, Mbit/s of payload | {RATE_MBIT:.0} (IP) | {:.1} |",
        l.up_mib, l.up_mbit
    );
    let _ = writeln!(
        s,
        "| {:.0} KiB download on a new connection (slow start), ms | | {:.0} |\n",
        l.down_small_kib, l.down_small_ms
    );
    let _ = writeln!(
        s,
        "The server (`runtime-bench wan-serve`, hyper-util's `auto` server on tokio-rustls, two worker threads) \
         has a self-signed certificate made with rcgen at start, which each client is told to trust (ours \
         through `ClientBuilder::add_root_certificate`, google-people1 through a rustls `ClientConfig` holding \
         it, given to `hyper_rustls::HttpsConnectorBuilder::with_tls_config`). It offers ALPN `h2` and \
         `http/1.1` and serves both, gzips a body when the request's `Accept-Encoding` names gzip (bodies of \
         GETs are compressed once at start, `updateContact` answers per request), indents JSON as Google does \
         unless `prettyPrint=false`, and sends Google's usual response headers. Its data: 1000 different \
         persons made from a fixed seed (names in several scripts, 0–3 emails and phones, 0–2 addresses and \
         organizations, memberships, photos, some birthdays, URLs, relations and notes of 3–120 words, every \
         entry with its source metadata, person-level sources with etags). The 1000-person page is {:.1} MB \
         indented ({:.0} KB gzipped), {:.1} MB compact with `prettyPrint=false` ({:.0} KB gzipped).\n",
        w.page_bytes[0] as f64 / 1e6,
        w.page_bytes[1] as f64 / 1e3,
        w.page_bytes[2] as f64 / 1e6,
        w.page_bytes[3] as f64 / 1e3
    );
    let _ = writeln!(
        s,
        "Each run is a new client process that builds its client and then makes the row's requests: \
         connection setup (TCP and TLS handshakes, ALPN) is part of every run. The clock starts once the \
         client is built and the request inputs are ready, and stops when the last response is decoded and \
         checked. Both sides ask for the same 13 person fields. Ours is the generated crate with its runtime's \
         default client; google-people1 is configured as its docs and `people1-usage` show \
         (`https_or_http().enable_http2()`, so its ALPN offers only `h2`; hyper-util's legacy client with \
         its defaults). {} per side, alternating which side goes first{}; medians, min–max in parentheses.\n",
        if w.runs == 1 { "1 run".to_owned() } else { format!("{} runs", w.runs) },
        if w.warmup { ", after one unmeasured run of each side per row" } else { "" }
    );
    let _ = writeln!(
        s,
        "| row | requests per run | ours, ms wall | google-people1, ms wall | ours req/s | google-people1 req/s | ratio | target |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for r in &w.rows {
        let rat = r.rate[0].median / r.rate[1].median;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | ≥ {:.1}×: {} |",
            r.label,
            r.requests,
            r.wall_ms[0].show(0),
            r.wall_ms[1].show(0),
            r.rate[0].show(if r.rate[0].median < 10.0 { 2 } else { 1 }),
            r.rate[1].show(if r.rate[1].median < 10.0 { 2 } else { 1 }),
            ratio(r.rate[0].median, r.rate[1].median),
            r.target,
            verdict(rat >= r.target)
        );
    }
    let _ = writeln!(
        s,
        "\n\"ratio\" is ours / google-people1 requests per second. What crossed the link per run (IP bytes \
         counted by the relay, TCP connections by the SYNs it saw, protocols and encodings by the server, drops \
         by the `tbf` queues):\n"
    );
    let _ = writeln!(
        s,
        "| row | side | KiB server → client | KiB client → server | IP packets server → client, client → server | TCP connections | of which HTTP/2, HTTP/1.1 | gzipped responses | packets dropped | client CPU, ms |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for r in &w.rows {
        let short = r.label.split_once(')').map_or(r.label, |(n, _)| n);
        for (i, side) in ["ours", "google-people1"].iter().enumerate() {
            let _ = writeln!(
                s,
                "| {short}) | {side} | {} | {} | {}, {} | {} | {}, {} | {} | {} | {} |",
                count(&r.down_kib[i]),
                count(&r.up_kib[i]),
                count(&r.down_packets[i]),
                count(&r.up_packets[i]),
                count(&r.connections[i]),
                count(&r.h2[i]),
                count(&r.h1[i]),
                count(&r.gzip[i]),
                count(&r.drops[i]),
                r.cpu_ms[i].show(1)
            );
        }
    }
    let _ = writeln!(s, "\nLoad average: {}.\n", w.load.join(" → "));
}
