//! Snapshots of the emitted code: one hand-written Discovery fixture per feature, and the
//! People API per schema and per method. Review every change (`cargo insta review`).

use std::path::Path;

use discovery_codegen::{generate, CrateOptions, GeneratedCrate, RuntimeDependency};

fn generate_fixture(name: &str) -> GeneratedCrate {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    generate(&text, &CrateOptions::default()).unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn file<'a>(krate: &'a GeneratedCrate, path: &str) -> &'a str {
    &krate.files.iter().find(|f| f.path == Path::new(path)).unwrap_or_else(|| panic!("no {path}")).contents
}

macro_rules! fixture_snapshots {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let krate = generate_fixture(stringify!($name));
            insta::assert_snapshot!(concat!(stringify!($name), "_types"), file(&krate, "src/types.rs"));
            let resources = file(&krate, "src/resources.rs");
            if resources.contains("pub struct") {
                insta::assert_snapshot!(concat!(stringify!($name), "_resources"), resources);
                insta::assert_snapshot!(concat!(stringify!($name), "_lib"), file(&krate, "src/lib.rs"));
            }
        }
    )*};
}

fixture_snapshots!(
    scalars,
    collections,
    inline,
    enums,
    naming,
    recursion,
    non_object,
    docs,
    deprecated,
    methods,
    locals,
    query_ref,
    ref_by_id,
    int64_alias,
    nested_collections,
    std_names,
    title_markup,
);

/// The README is the crate's documentation, rendered by rustdoc as Markdown.
#[test]
fn title_markup_readme() {
    let krate = generate_fixture("title_markup");
    insta::assert_snapshot!(file(&krate, "README.md"));
}

/// People, one snapshot per schema and one per method, so that a regen diff shows up
/// next to the schema or method that changed.
#[test]
fn people_items() {
    let text = include_str!("../../discovery/people.v1.json");
    let krate = generate(text, &CrateOptions::default()).expect("People generates");
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots/people");
    settings.bind(|| {
        for (name, item) in split_items(file(&krate, "src/types.rs")) {
            insta::assert_snapshot!(format!("type_{name}"), item);
        }
        for (name, item) in split_items(file(&krate, "src/resources.rs")) {
            insta::assert_snapshot!(format!("resource_{name}"), item);
        }
    });
}

/// Splits a generated file into top-level items (with their docs and attributes), keyed
/// by the name of the struct, enum or type they define; impls go with their type.
fn split_items(source: &str) -> Vec<(String, String)> {
    let mut items: Vec<(String, String)> = Vec::new();
    let mut current = String::new();
    for line in source.lines() {
        current.push_str(line);
        current.push('\n');
        let ends_item = line == "}" || (line.ends_with(';') && !line.starts_with(' ') && !line.starts_with("//"));
        if !ends_item {
            continue;
        }
        let text = std::mem::take(&mut current);
        match defined_name(&text) {
            Some(name) => items.push((name, text.trim_start_matches('\n').to_owned())),
            None => {
                if let Some((_, previous)) = items.last_mut() {
                    previous.push_str(&text);
                }
            }
        }
    }
    items
}

fn defined_name(item: &str) -> Option<String> {
    item.lines().find_map(|line| {
        let rest = line
            .strip_prefix("pub struct ")
            .or_else(|| line.strip_prefix("pub enum "))
            .or_else(|| line.strip_prefix("pub type "))?;
        Some(rest.split(|c: char| !c.is_alphanumeric() && c != '_').next()?.to_owned())
    })
}

/// The doc examples of media methods name the crate by the package name it was given,
/// which need not be the one the document's name suggests (`google-methods-v1`).
#[test]
fn examples_name_the_crate_chosen() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/methods.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let options = CrateOptions { crate_name: Some("hm-methods".to_owned()), ..CrateOptions::default() };
    let krate = generate(&text, &options).unwrap();
    let resources = file(&krate, "src/resources.rs");
    assert!(resources.contains("# async fn example(call: hm_methods::resources::"), "{resources}");
    assert!(resources.contains("use hm_methods::{Media, Upload};"), "{resources}");
    assert!(!resources.contains("google_methods"), "{resources}");
    assert!(file(&krate, "Cargo.toml").contains("name = \"hm-methods\""));
}

/// Every struct's unknown-members field links to the runtime's `Extra` through the
/// crate's own re-export, a path rustdoc resolves from the generated crate.
#[test]
fn unknown_members_link_to_extra() {
    let krate = generate_fixture("scalars");
    let types = file(&krate, "src/types.rs");
    assert!(types.contains("see [`Extra`](crate::wire::Extra)."), "{types}");
    assert!(!types.contains("#rt"), "{types}");
}

/// The manifest of a standalone crate: publishable, the runtime by version.
#[test]
fn title_markup_manifest() {
    let krate = generate_fixture("title_markup");
    insta::assert_snapshot!(file(&krate, "Cargo.toml"));
}

/// The runtime's regex engine is a dependency only of crates whose documents have a path
/// pattern that the runtime cannot check without it (`methods` has `^b/[^/]+/o/.+$`),
/// whichever way the manifest names the runtime.
#[test]
fn manifests_ask_for_the_regex_feature_only_when_a_pattern_needs_it() {
    let line = |fixture: &str, runtime: RuntimeDependency| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(format!("{fixture}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        let krate = generate(&text, &CrateOptions { runtime, ..CrateOptions::default() }).unwrap();
        let manifest = file(&krate, "Cargo.toml");
        manifest.lines().find(|l| l.starts_with("discovery-runtime =")).unwrap().to_owned()
    };
    assert_eq!(line("people.v1.20210302", RuntimeDependency::Registry), r#"discovery-runtime = "0.1.0""#);
    assert_eq!(
        line("methods", RuntimeDependency::Registry),
        r#"discovery-runtime = { version = "0.1.0", features = ["regex"] }"#
    );
    assert_eq!(
        line("methods", RuntimeDependency::Path("../rt".into())),
        r#"discovery-runtime = { path = "../rt", version = "0.1.0", features = ["regex"] }"#
    );
    assert_eq!(
        line("people.v1.20210302", RuntimeDependency::Git("https://x.invalid/r".into())),
        r#"discovery-runtime = { git = "https://x.invalid/r", version = "0.1.0" }"#
    );
}
