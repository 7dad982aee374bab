//! `discovery-codegen DOCUMENT.json OUT_DIR [--name CRATE] [--version VERSION] [--license SPDX]
//! [--runtime-path PATH | --runtime-git URL] [--runtime-version REQUIREMENT]`
//!
//! Generates a standalone client crate from one Discovery document. It depends on the
//! runtime by version (crates.io), and also by path or git when asked, so that it can be
//! packaged and published either way.

use std::process::ExitCode;

use discovery_codegen::{generate, write_crate, CrateOptions, RuntimeDependency, WriteScope};

const USAGE: &str = "\
usage: discovery-codegen DOCUMENT.json OUT_DIR [options]

  --name CRATE                 package name [default: google-API-VERSION]
  --version VERSION            package version; the document's revision is added as build
                               metadata [default: 0.1.0]
  --license SPDX               package license [default: MIT OR Apache-2.0]
  --runtime-path PATH          depend on the runtime at PATH too (relative to OUT_DIR)
  --runtime-git URL            depend on the runtime from a git repository too
  --runtime-version REQ        the version requirement on the runtime [default: the
                               version this generator is written against]";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut positional = Vec::new();
    let mut options = CrateOptions::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--name" => options.crate_name = Some(value("--name")?),
            "--version" => options.crate_version = value("--version")?,
            "--license" => options.license = value("--license")?,
            "--runtime-path" => options.runtime = RuntimeDependency::Path(value("--runtime-path")?),
            "--runtime-git" => options.runtime = RuntimeDependency::Git(value("--runtime-git")?),
            "--runtime-version" => options.runtime_version = value("--runtime-version")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}\n{USAGE}")),
            _ => positional.push(arg),
        }
    }
    let [document, out_dir] = <[String; 2]>::try_from(positional).map_err(|_| USAGE.to_owned())?;
    let text = std::fs::read_to_string(&document).map_err(|err| format!("cannot read {document}: {err}"))?;
    let krate = generate(&text, &options).map_err(|err| format!("{document}: {err}"))?;
    let report = write_crate(out_dir.as_ref(), &krate, WriteScope::Everything)
        .map_err(|err| format!("cannot write {out_dir}: {err}"))?;
    println!(
        "{}: {} types, {} methods, {} lines; {} files written, {} unchanged, {} removed",
        krate.crate_name,
        krate.stats.types,
        krate.stats.methods,
        krate.stats.lines,
        report.written.len(),
        report.unchanged.len(),
        report.removed.len()
    );
    Ok(())
}
