//! `cargo xtask package`: package the published crates and use them the way a user would.
//!
//! 1. `cargo package` of [`PUBLISHED`] (multi-package, so the People crate's dependency on
//!    the unpublished runtime resolves to the runtime being packaged). `--no-verify`: the
//!    steps below build the same packaged sources, and more of them (doctests, examples).
//! 2. Each `.crate` file is checked against what users need (licenses, README, no tests)
//!    and unpacked on its own, outside the repository's workspace.
//! 3. A scratch workspace holds the unpacked crates and a small application whose manifest
//!    takes its dependency lines from the READMEs; `[patch.crates-io]` points the registry
//!    names at the unpacked crates, exactly as crates.io would serve them once published.
//! 4. `cargo test --workspace` there: the unpacked crates' unit tests, programs, examples and
//!    doctests (their README examples), and the application's test, which runs the README's
//!    flows (update, batch, rename) against the packaged test server.
//!
//! The READMEs' git dependency lines must name the workspace's `repository`: it is a
//! placeholder until the project has a public repository, and this is where a line that
//! was missed is found.

use std::fmt::Write as _;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::{cargo_command, display_path};

/// The crates users depend on, in dependency order.
pub const PUBLISHED: &[&str] = &["discovery-runtime", "google-people-v1", "google-people-v1-test-server"];

/// Where the READMEs that show dependency lines are, relative to the workspace root.
pub const READMES: &[&str] =
    &["README.md", "generated/README.md", "generated/test-server/README.md", "generator/runtime/README.md"];

/// The scratch application: its name and the README that gives each of its dependency lines.
const APP: &str = "people-scratch-app";
/// (crate, README it is taken from, dev-dependency?)
const APP_DEPENDENCIES: &[(&str, &str, bool)] = &[
    ("google-people-v1", "generated/README.md", false),
    ("google-people-v1-test-server", "generated/test-server/README.md", true),
];
/// The application's test: the README flows, shared with the test server's own tests.
const APP_TEST: &str = "generated/test-server/tests/readme_flows.rs";

/// Files every package must ship.
const REQUIRED_FILES: &[&str] = &["Cargo.toml", "README.md", "LICENSE-MIT", "LICENSE-APACHE"];

/// `cargo xtask package` options.
#[derive(Clone, Debug)]
pub struct PackageOptions {
    /// The scratch workspace: unpacked crates and the application.
    pub out_dir: PathBuf,
    /// Cargo's target directory for packaging and for the scratch builds.
    pub target_dir: PathBuf,
}

/// One packaged crate.
#[derive(Clone, Debug)]
pub struct Packaged {
    pub name: String,
    pub version: String,
    pub crate_file: PathBuf,
    pub compressed: u64,
    pub uncompressed: u64,
    /// Paths inside the package, without the `name-version/` prefix.
    pub files: Vec<String>,
}

/// `cargo xtask package`.
pub fn run(root: &Path, options: &PackageOptions) -> Result<()> {
    let started = Instant::now();
    let mut problems = readme_git_problems(root)?;
    let versions = workspace_versions(root)?;
    for (name, readme, _) in APP_DEPENDENCIES {
        let version = versions.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or("?");
        let text = read(&root.join(readme))?;
        match readme_dependency_line(&text, name) {
            None => problems.push(format!("{readme}: no `{name} = ...` line in a toml block")),
            Some(line) => {
                if let Err(why) = requirement_matches(&line, version) {
                    problems.push(format!("{readme}: `{line}`: {why}"));
                }
            }
        }
    }
    if !problems.is_empty() {
        bail!("the READMEs do not match the manifests:\n  {}", problems.join("\n  "));
    }

    let packaged = package(root, &options.target_dir, &versions)?;
    println!("{}", render_sizes(&packaged));
    let mut problems = Vec::new();
    for krate in &packaged {
        problems.extend(content_problems(krate));
    }
    if !problems.is_empty() {
        bail!("the packages are not what users need:\n  {}", problems.join("\n  "));
    }

    let out_dir = &options.out_dir;
    write_scratch_workspace(root, out_dir, &packaged)?;
    let manifest = out_dir.join("Cargo.toml");
    let published: Vec<String> = packaged.iter().map(|k| k.name.clone()).collect();
    // Everything the packages hold that runs: unit tests, the programs, the examples, the
    // doctests (the README examples), then the application's test, the README flows.
    println!("==> cargo test --workspace in {}", display_path(out_dir, root));
    let status = cargo_command()
        .args(["test", "--workspace", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&options.target_dir)
        .status()
        .context("cannot run cargo")?;
    ensure!(status.success(), "the packaged crates or the scratch application failed their tests (see above)");
    println!(
        "{} packaged, unpacked and tested outside the workspace in {:.0} s",
        published.join(", "),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cargo package` of [`PUBLISHED`]; the `.crate` files with what they hold.
pub fn package(root: &Path, target_dir: &Path, versions: &[(String, String)]) -> Result<Vec<Packaged>> {
    let mut command = cargo_command();
    command.current_dir(root).arg("package").args(["--no-verify", "--allow-dirty", "--quiet"]);
    for name in PUBLISHED {
        command.args(["-p", name]);
    }
    let status = command.arg("--target-dir").arg(target_dir).status().context("cannot run cargo package")?;
    ensure!(status.success(), "cargo package failed");
    let mut packaged = Vec::new();
    for name in PUBLISHED {
        let version = versions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .with_context(|| format!("{name} is not a workspace member"))?;
        let crate_file = target_dir.join("package").join(format!("{name}-{version}.crate"));
        let compressed = fs::metadata(&crate_file).with_context(|| format!("no {}", crate_file.display()))?.len();
        let (files, uncompressed) = list_crate(&crate_file, &format!("{name}-{version}/"))?;
        packaged.push(Packaged { name: (*name).to_owned(), version, crate_file, compressed, uncompressed, files });
    }
    Ok(packaged)
}

impl Packaged {
    /// Unpacks the `.crate` into `dir/NAME-VERSION/`, as cargo does with a downloaded crate.
    pub fn unpack(&self, dir: &Path) -> Result<()> {
        let file = fs::File::open(&self.crate_file)?;
        tar::Archive::new(flate2::read::GzDecoder::new(file))
            .unpack(dir)
            .with_context(|| format!("cannot unpack {}", self.crate_file.display()))
    }
}

/// The files of a `.crate` (a gzipped tar) below `prefix`, and their total size.
fn list_crate(crate_file: &Path, prefix: &str) -> Result<(Vec<String>, u64)> {
    let file = fs::File::open(crate_file).with_context(|| format!("cannot open {}", crate_file.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = Vec::new();
    let mut total = 0;
    for entry in archive.entries().with_context(|| format!("cannot read {}", crate_file.display()))? {
        let entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let relative = path
            .strip_prefix(prefix)
            .with_context(|| format!("{path} is outside {prefix} in {}", crate_file.display()))?;
        total += entry.size();
        files.push(relative.to_owned());
    }
    files.sort();
    Ok((files, total))
}

/// What a package must hold, and must not: licenses and README in, tests and build
/// leftovers out.
pub fn content_problems(krate: &Packaged) -> Vec<String> {
    let mut problems = Vec::new();
    for required in REQUIRED_FILES {
        if !krate.files.iter().any(|file| file == required) {
            problems.push(format!("{} does not ship {required}", krate.name));
        }
    }
    for file in &krate.files {
        let unwanted = file.starts_with("tests/")
            || file.starts_with("target/")
            || file.ends_with(".snap")
            || file.ends_with(".pending-snap")
            || file.contains("proptest-regressions");
        if unwanted {
            problems.push(format!("{} ships {file}, which users do not need", krate.name));
        }
    }
    problems
}

fn render_sizes(packaged: &[Packaged]) -> String {
    let mut text = String::from("package                                   files  unpacked  .crate\n");
    for krate in packaged {
        let _ = writeln!(
            text,
            "{:<40} {:>6} {:>7.1} KiB {:>5.1} KiB",
            format!("{}-{}", krate.name, krate.version),
            krate.files.len(),
            krate.uncompressed as f64 / 1024.0,
            krate.compressed as f64 / 1024.0,
        );
    }
    text.trim_end().to_owned()
}

/// Unpacks the crates under `out_dir/crates/` and writes the application and the workspace
/// that patches the registry names to the unpacked crates.
fn write_scratch_workspace(root: &Path, out_dir: &Path, packaged: &[Packaged]) -> Result<()> {
    let crates_dir = out_dir.join("crates");
    if crates_dir.exists() {
        fs::remove_dir_all(&crates_dir).with_context(|| format!("cannot remove {}", crates_dir.display()))?;
    }
    fs::create_dir_all(&crates_dir)?;
    let mut patches = String::new();
    for krate in packaged {
        krate.unpack(&crates_dir)?;
        let _ = writeln!(patches, "{} = {{ path = \"crates/{}-{}\" }}", krate.name, krate.name, krate.version);
    }

    let app_dir = out_dir.join("app");
    fs::create_dir_all(app_dir.join("src"))?;
    fs::create_dir_all(app_dir.join("tests"))?;
    let mut dependencies = String::new();
    let mut dev_dependencies = String::new();
    for (name, readme, dev) in APP_DEPENDENCIES {
        let text = read(&root.join(readme))?;
        let line =
            readme_dependency_line(&text, name).with_context(|| format!("no `{name} = ...` line in {readme}"))?;
        let section = if *dev { &mut dev_dependencies } else { &mut dependencies };
        let _ = writeln!(section, "# from {readme}\n{line}");
    }
    let manifest = format!(
        "# Written by `cargo xtask package`: an application outside the workspace, depending\n\
         # on the packaged crates through the READMEs' dependency lines.\n\
         [package]\nname = \"{APP}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\n{dependencies}\
         tokio = {{ version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }}\n\n\
         [dev-dependencies]\n{dev_dependencies}\
         serde_json = \"1\"\n"
    );
    fs::write(app_dir.join("Cargo.toml"), manifest)?;
    fs::write(app_dir.join("src/main.rs"), APP_MAIN)?;
    let test = read(&root.join(APP_TEST))?;
    fs::write(app_dir.join("tests/readme_flows.rs"), test)?;

    let workspace = format!(
        "# Written by `cargo xtask package`; rewritten on every run.\n\
         [workspace]\nresolver = \"2\"\nmembers = [\"crates/*\", \"app\"]\n\n\
         # What crates.io will serve once the crates are published.\n\
         [patch.crates-io]\n{patches}\n\
         # The repository's dev profile, so that the workspace's built dependencies are reused.\n\
         [profile.dev]\ndebug = \"line-tables-only\"\n\n[profile.dev.package.\"*\"]\ndebug = false\n"
    );
    fs::write(out_dir.join("Cargo.toml"), workspace)?;
    // The repository's versions of every dependency, so that nothing is built twice.
    let lockfile = out_dir.join("Cargo.lock");
    if !lockfile.exists() {
        fs::copy(root.join("Cargo.lock"), &lockfile)?;
    }
    Ok(())
}

/// The application's program: the README's quickstart, with the `gcp-auth` feature the
/// README's dependency line turns on.
const APP_MAIN: &str = r#"//! The README's quickstart, compiled against the packaged crates.

use google_people_v1::auth::GcpAuth;
use google_people_v1::PeopleClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = PeopleClient::builder().token_provider(GcpAuth::new().await?).build()?;
    let me = client.people().get("people/me", "names,emailAddresses").send().await?;
    println!("signed in as {:?}", me.names.first().and_then(|n| n.display_name.as_ref()));
    Ok(())
}
"#;

/// Name and version of every workspace member, from `cargo metadata`.
pub fn workspace_versions(root: &Path) -> Result<Vec<(String, String)>> {
    let output = cargo_command()
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .context("cannot run cargo metadata")?;
    ensure!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout)?;
    let packages = metadata.get("packages").and_then(Value::as_array).context("no packages in cargo metadata")?;
    Ok(packages
        .iter()
        .filter_map(|package| {
            Some((package.get("name")?.as_str()?.to_owned(), package.get("version")?.as_str()?.to_owned()))
        })
        .collect())
}

/// The workspace's `repository`, which every README git line must name.
pub fn workspace_repository(root: &Path) -> Result<String> {
    let manifest: toml_edit::DocumentMut = read(&root.join("Cargo.toml"))?.parse()?;
    manifest
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("repository"))
        .and_then(|r| r.as_str())
        .map(str::to_owned)
        .context("no workspace.package.repository in Cargo.toml")
}

/// README lines whose `git = "..."` is not the workspace's repository.
pub fn readme_git_problems(root: &Path) -> Result<Vec<String>> {
    let repository = workspace_repository(root)?;
    let mut problems = Vec::new();
    for readme in READMES {
        let text = read(&root.join(readme))?;
        for (number, line) in text.lines().enumerate() {
            for url in git_urls(line) {
                if url != repository {
                    problems.push(format!("{readme}:{}: git = \"{url}\", the repository is {repository}", number + 1));
                }
            }
        }
    }
    Ok(problems)
}

/// The values of `git = "..."` in a line.
fn git_urls(line: &str) -> Vec<&str> {
    let mut urls = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("git = \"") {
        let after = &rest[at + "git = \"".len()..];
        let Some(end) = after.find('"') else { break };
        urls.push(&after[..end]);
        rest = &after[end..];
    }
    urls
}

/// The first `name = ...` line inside a ```` ```toml ```` block of a README that is not a git
/// dependency: the line users are told to write.
pub fn readme_dependency_line(readme: &str, name: &str) -> Option<String> {
    let mut in_toml = false;
    for line in readme.lines() {
        let trimmed = line.trim();
        if let Some(fence) = trimmed.strip_prefix("```") {
            in_toml = !in_toml && fence.trim() == "toml";
            continue;
        }
        let is_dependency = trimmed.strip_prefix(name).is_some_and(|rest| rest.trim_start().starts_with('='));
        if in_toml && is_dependency && !trimmed.contains("git =") {
            return Some(trimmed.to_owned());
        }
    }
    None
}

/// Whether a dependency line's version requirement accepts `version`.
pub fn requirement_matches(line: &str, version: &str) -> std::result::Result<(), String> {
    let table: toml_edit::DocumentMut = line.parse().map_err(|e| format!("not TOML: {e}"))?;
    let (_, item) = table.iter().next().ok_or("no dependency")?;
    let requirement = match item.as_str() {
        Some(requirement) => requirement.to_owned(),
        None => item
            .as_inline_table()
            .and_then(|t| t.get("version"))
            .and_then(|v| v.as_str())
            .ok_or("no version requirement")?
            .to_owned(),
    };
    let parsed = semver::VersionReq::parse(&requirement).map_err(|e| format!("version `{requirement}`: {e}"))?;
    let version = semver::Version::parse(version).map_err(|e| format!("crate version `{version}`: {e}"))?;
    if parsed.matches(&version) {
        Ok(())
    } else {
        Err(format!("`{requirement}` does not accept the crate's version {version}"))
    }
}

fn read(path: &Path) -> Result<String> {
    let mut text = String::new();
    fs::File::open(path)
        .and_then(|mut file| file.read_to_string(&mut text))
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_line_is_the_first_non_git_one_in_a_toml_block() {
        let readme = "google-people-v1 = \"9\"\n\n```toml\n[dependencies]\ngoogle-people-v1-test-server = \"0.1\"\n\
                      google-people-v1 = { git = \"https://x\" }\ngoogle-people-v1 = { version = \"0.1\", features = [\"gcp-auth\"] }\n```\n";
        assert_eq!(
            readme_dependency_line(readme, "google-people-v1").as_deref(),
            Some("google-people-v1 = { version = \"0.1\", features = [\"gcp-auth\"] }")
        );
        assert_eq!(
            readme_dependency_line(readme, "google-people-v1-test-server").as_deref(),
            Some("google-people-v1-test-server = \"0.1\"")
        );
        assert_eq!(readme_dependency_line("```rust\nx = 1\n```\n", "x"), None);
    }

    #[test]
    fn requirements_follow_cargo_semantics_with_build_metadata() {
        assert!(requirement_matches("a = \"0.1\"", "0.1.0+20251117").is_ok());
        assert!(requirement_matches("a = { version = \"0.1\", features = [\"x\"] }", "0.1.3+20251117").is_ok());
        let err = requirement_matches("a = \"0.1\"", "0.2.0+20260101").unwrap_err();
        assert!(err.contains("does not accept"), "{err}");
        assert!(requirement_matches("a = { git = \"x\" }", "0.1.0").unwrap_err().contains("no version"));
    }

    #[test]
    fn git_urls_are_found_wherever_they_are_in_a_line() {
        assert_eq!(git_urls("a = { git = \"https://x/y\", features = [] } # git = \"u\""), ["https://x/y", "u"]);
        assert!(git_urls("no url").is_empty());
    }

    #[test]
    fn packages_must_ship_licenses_and_no_tests() {
        let krate = |files: &[&str]| Packaged {
            name: "demo".into(),
            version: "0.1.0".into(),
            crate_file: PathBuf::new(),
            compressed: 0,
            uncompressed: 0,
            files: files.iter().map(|f| (*f).to_owned()).collect(),
        };
        let complete = ["Cargo.toml", "README.md", "LICENSE-MIT", "LICENSE-APACHE", "src/lib.rs"];
        assert!(content_problems(&krate(&complete)).is_empty());
        let problems = content_problems(&krate(&["Cargo.toml", "README.md", "LICENSE-MIT", "tests/a.rs"]));
        assert_eq!(problems, ["demo does not ship LICENSE-APACHE", "demo ships tests/a.rs, which users do not need"]);
    }
}
