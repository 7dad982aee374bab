//! libFuzzer target: any bytes, read as (lossy) UTF-8, must make the generator return
//! `Ok` with Rust files that parse, or a `Parse`/`Resolve` error. A panic, a stack
//! overflow, a timeout (`-timeout`) or `Error::Format` is a crash.
//!
//! The custom mutator applies the structure-aware mutations of `../mutator.rs` (shared
//! with the stable harness) to inputs that are JSON, and libFuzzer's own byte mutations
//! otherwise and some of the time, so that coverage feedback steers both.

#![no_main]

#[path = "../mutator.rs"]
mod mutator;

use std::sync::OnceLock;

use discovery_codegen::{generate, CrateOptions, Error};
use libfuzzer_sys::{fuzz_mutator, fuzz_target, fuzzer_mutate};
use mutator::{mutate_bytes, mutate_tree, Json, Rng};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match generate(&text, &CrateOptions::default()) {
        Ok(krate) => {
            for file in krate.files.iter().filter(|f| f.path.extension().is_some_and(|e| e == "rs")) {
                if let Err(err) = syn::parse_file(&file.contents) {
                    panic!("{} does not parse: {err}", file.path.display());
                }
            }
        }
        Err(err @ Error::Format { .. }) => panic!("{err}"),
        Err(Error::Parse(_) | Error::Resolve(_)) => {}
    }
});

/// Subtrees to splice in: the seed documents.
fn donors() -> &'static [Json] {
    static DONORS: OnceLock<Vec<Json>> = OnceLock::new();
    DONORS.get_or_init(|| {
        [
            include_str!("../seeds/admin.datatransferv1.json"),
            include_str!("../seeds/kgsearch.v1.json"),
            include_str!("../seeds/oauth2.v2.json"),
            include_str!("../seeds/translate.v2.json"),
            include_str!("../seeds/youtubeAnalytics.v1.json"),
        ]
        .iter()
        .filter_map(|text| Json::parse(text))
        .collect()
    })
}

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    let mut rng = Rng::new(u64::from(seed));
    if rng.chance(1, 4) {
        return fuzzer_mutate(data, size, max_size);
    }
    let Some(mut tree) = std::str::from_utf8(&data[..size]).ok().and_then(Json::parse) else {
        return fuzzer_mutate(data, size, max_size);
    };
    for _ in 0..1 + rng.below(3) {
        mutate_tree(&mut tree, &mut rng, donors());
    }
    let mut bytes = tree.to_text().into_bytes();
    if rng.chance(1, 5) {
        mutate_bytes(&mut bytes, &mut rng);
    }
    if bytes.len() > max_size {
        return fuzzer_mutate(data, size, max_size);
    }
    data[..bytes.len()].copy_from_slice(&bytes);
    bytes.len()
});
