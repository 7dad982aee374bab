//! `cargo xtask fetch`: download a Discovery document and pin it under `discovery/`.
//!
//! Nothing on disk changes unless the whole download succeeded and the document validated:
//! the pinned file is the only input of regen, so a half-written or foreign file there would
//! silently turn into a broken or wrong crate.

use std::fmt;
use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value};

/// Where Google publishes the People v1 document.
pub const PEOPLE_URL: &str = "https://people.googleapis.com/$discovery/rest?version=v1";

/// Long enough for a slow link, short enough that a machine without network fails fast
/// instead of looking hung.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest documents (compute.v1) are about 5 MB.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(120);
/// How much of an error response body to quote: enough for Google's JSON error message.
const ERROR_BODY_EXCERPT: usize = 300;

/// Who a document is: the pair that must not change when a pinned file is refreshed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub version: String,
    /// Empty when the document has none.
    pub revision: String,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.version)
    }
}

/// What a successful fetch did.
#[derive(Clone, Debug)]
pub struct FetchOutcome {
    /// The document that was pinned before, if any, as it was on disk.
    pub old_text: Option<String>,
    pub old: Option<Identity>,
    /// The document as written (stable pretty form).
    pub new_text: String,
    pub new: Identity,
    /// Whether the file on disk was replaced; false when it already had these bytes.
    pub written: bool,
}

impl FetchOutcome {
    /// One line for the terminal: `revision OLD -> NEW`, or `unchanged`.
    pub fn summary(&self) -> String {
        let new = display_revision(&self.new.revision);
        match &self.old {
            None => format!("revision (none) -> {new} (new file)"),
            Some(old) if old.revision != self.new.revision => {
                format!("revision {} -> {new}", display_revision(&old.revision))
            }
            Some(_) if self.written => format!("revision {new} unchanged (file rewritten: contents or form differed)"),
            Some(_) => format!("unchanged (revision {new})"),
        }
    }
}

fn display_revision(revision: &str) -> &str {
    if revision.is_empty() {
        "(none)"
    } else {
        revision
    }
}

/// Downloads the document at `url` and pins it at `out`, which keeps its old bytes on any
/// failure. When `out` exists it must hold the same API (`name` and `version`).
pub fn fetch(url: &str, out: &Path) -> Result<FetchOutcome> {
    let old_text = match fs::read_to_string(out) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(err).with_context(|| format!("cannot read the pinned document {}", out.display())),
    };
    // Checked before the download so that a wrong --out fails without touching the network.
    let old = match &old_text {
        None => None,
        Some(text) => Some(identity_of_text(text).with_context(|| {
            format!(
                "{} exists but is not a Discovery document; refusing to overwrite it (remove it first if it \
                 should be replaced)",
                out.display()
            )
        })?),
    };

    let body = download(url)?;
    let new_text =
        stable_form_of_document(&body).with_context(|| format!("{url} did not return a Discovery document"))?;
    let new = identity_of_text(&new_text).with_context(|| format!("{url} did not return a Discovery document"))?;
    if let Some(old) = &old {
        if (&old.name, &old.version) != (&new.name, &new.version) {
            bail!(
                "{url} returned the document of {new}, but {} holds {old}; refusing to replace one API with another",
                out.display()
            );
        }
    }

    let written = old_text.as_deref() != Some(new_text.as_str());
    if written {
        discovery_codegen::output::write_atomically(out, new_text.as_bytes())
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(FetchOutcome { old_text, old, new_text, new, written })
}

/// The response body of a successful GET, as text.
fn download(url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("invalid URL {url}"))?;
    // The workspace builds reqwest without a bundled crypto provider (the runtime brings
    // ring, so that no aws-lc is compiled); this process picks ring too. An error only
    // means a provider is already installed. (Deprecated since rustls 0.23.48 for its lack
    // of post-quantum key exchange, a download of a public document does not need.)
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::blocking::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .user_agent(concat!("discovery-rs-xtask/", env!("CARGO_PKG_VERSION")));
    // A proxy from the environment cannot reach this machine's own loopback interface.
    if is_loopback(&parsed) {
        builder = builder.no_proxy();
    }
    let client = builder.build().context("cannot build the HTTP client")?;

    let response = client
        .get(parsed)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .map_err(|err| anyhow!("cannot fetch {url}: {}", describe_request_error(err)))?;
    let status = response.status();
    if !status.is_success() {
        // The body of an error response is only a hint; failing to read it must not hide the status.
        let excerpt = response.text().map(|body| excerpt(&body)).unwrap_or_default();
        if excerpt.is_empty() {
            bail!("cannot fetch {url}: HTTP {status}");
        }
        bail!("cannot fetch {url}: HTTP {status}: {excerpt}");
    }
    let bytes = response.bytes().map_err(|err| {
        anyhow!("cannot fetch {url}: reading the response body failed: {}", describe_request_error(err))
    })?;
    String::from_utf8(bytes.to_vec())
        .map_err(|err| anyhow!("cannot fetch {url}: the response body is not UTF-8: {err}"))
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// reqwest's own message is often just "error sending request"; the cause (DNS, refused,
/// timed out, connection closed early) is further down the chain. The URL is dropped
/// because every caller already names it.
fn describe_request_error(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut message = crate::error_chain(&err);
    if err.is_timeout() && !message.contains("timed out") {
        message.push_str(" (timed out)");
    }
    message
}

fn excerpt(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(ERROR_BODY_EXCERPT) {
        Some((cut, _)) => format!("{}...", &flat[..cut]),
        None => flat,
    }
}

/// Validates `body` as a Discovery document and returns it in the form that is pinned:
/// keys sorted at every level, two-space indentation, one trailing newline. Sorting makes
/// the pinned file, and so the diff a maintainer reviews, independent of the key order the
/// server happened to use.
pub fn stable_form_of_document(body: &str) -> Result<String> {
    let value: Value = serde_json::from_str(body).map_err(|err| anyhow!("the body is not valid JSON: {err}"))?;
    if !value.is_object() {
        bail!("the body is JSON but not an object");
    }
    match value.get("kind").and_then(Value::as_str) {
        Some("discovery#restDescription") => {}
        Some(other) => bail!("`kind` is `{other}`, expected `discovery#restDescription`"),
        None => bail!("the JSON object has no `kind` (expected `discovery#restDescription`)"),
    }
    // The generator's own parser is the authority on what regen will accept.
    discovery_codegen::discovery::parse(body).map_err(|err| anyhow!("{err}"))?;
    stable_form(&value)
}

/// `value` pretty-printed with sorted keys and a trailing newline.
pub fn stable_form(value: &Value) -> Result<String> {
    let mut text = serde_json::to_string_pretty(&sorted(value)).context("cannot serialize the document")?;
    text.push('\n');
    Ok(text)
}

/// A copy with every object's keys in sorted order, whichever map type serde_json was
/// built with (`preserve_order` may be switched on by another crate in the build).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(entries.into_iter().map(|(key, value)| (key.clone(), sorted(value))).collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Name, version and revision of a Discovery document's text. Deliberately lenient (no
/// full parse): a pinned file that an older or newer generator would reject is still
/// recognisably the same API and may be refreshed.
pub fn identity_of_text(text: &str) -> Result<Identity> {
    let value: Value = serde_json::from_str(text).map_err(|err| anyhow!("not valid JSON: {err}"))?;
    if let Some(kind) = value.get("kind") {
        if kind.as_str() != Some("discovery#restDescription") {
            bail!("`kind` is {kind}, expected \"discovery#restDescription\"");
        }
    }
    let field = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (name, version) = (field("name"), field("version"));
    if name.is_empty() || version.is_empty() {
        bail!("no `name` and `version` strings");
    }
    Ok(Identity { name, version, revision: field("revision") })
}
