//! Records the version of the compiler building this crate, for the `gl-rust/VERSION` token
//! of the `x-goog-api-client` header Google's clients send (there is no built-in way to
//! read it at compile time).

use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=RUSTC");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        // "rustc 1.95.0 (59807616e 2026-04-14)"
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_owned))
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo::rustc-env=DISCOVERY_RUNTIME_RUSTC_VERSION={version}");
}
