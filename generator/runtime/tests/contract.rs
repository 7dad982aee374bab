//! The names in `src/contract.rs`, which the generator compiles too, against what this
//! crate really defines. A method added to `call_options!` without being listed there (or
//! listed and not added) fails here: the generator would let a parameter setter take its
//! name, and the generated builder would not compile.

use std::collections::{BTreeMap, BTreeSet};

use discovery_runtime::contract;
use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// `macro_rules!` bodies of `src/macros.rs`, by macro name, with whether each is exported.
fn macros() -> BTreeMap<String, (bool, TokenStream)> {
    let source: TokenStream = include_str!("../src/macros.rs").parse().expect("src/macros.rs tokenizes");
    let tokens: Vec<TokenTree> = source.into_iter().collect();
    let mut out = BTreeMap::new();
    let mut exported = false;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            // `#[macro_export]` (doc comments are `#[doc = ".."]` attributes too).
            TokenTree::Group(group) if group.delimiter() == Delimiter::Bracket => {
                exported |= group.stream().to_string() == "macro_export";
            }
            TokenTree::Ident(ident) if ident == "macro_rules" => {
                if let (Some(TokenTree::Ident(name)), Some(TokenTree::Group(body))) =
                    (tokens.get(i + 2), tokens.get(i + 3))
                {
                    out.insert(name.to_string(), (exported, body.stream()));
                }
                exported = false;
            }
            _ => {}
        }
    }
    out
}

/// Every `fn NAME` in `tokens`, at any depth.
fn functions(tokens: TokenStream, out: &mut BTreeSet<String>) {
    let mut after_fn = false;
    for token in tokens {
        match &token {
            TokenTree::Ident(ident) if after_fn => {
                out.insert(ident.to_string());
            }
            TokenTree::Group(group) => functions(group.stream(), out),
            _ => {}
        }
        after_fn = matches!(&token, TokenTree::Ident(ident) if ident == "fn");
    }
}

/// Every `self.NAME` in `tokens`, at any depth.
fn self_fields(tokens: TokenStream, out: &mut BTreeSet<String>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Ident(ident) if ident == "self" => {
                if let (Some(TokenTree::Punct(dot)), Some(TokenTree::Ident(field))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    if dot.as_char() == '.' {
                        out.insert(field.to_string());
                    }
                }
            }
            TokenTree::Group(group) => self_fields(group.stream(), out),
            _ => {}
        }
    }
}

#[test]
fn call_options_adds_exactly_the_listed_builder_methods() {
    let macros = macros();
    let (_, body) = macros.get(contract::CALL_OPTIONS).expect("call_options! is defined in src/macros.rs");
    let mut defined = BTreeSet::new();
    functions(body.clone(), &mut defined);
    let listed: BTreeSet<String> =
        contract::BUILDER_OPTIONS.iter().chain(contract::BUILDER_SENDERS).map(|name| name.to_string()).collect();
    let unlisted: Vec<&String> = defined.difference(&listed).collect();
    let missing: Vec<&String> = listed.difference(&defined).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "call_options! and src/contract.rs disagree: the macro adds {unlisted:?}, which contract::BUILDER_OPTIONS \
         (options) or BUILDER_SENDERS (sending methods) must list so that the generator keeps parameter setters off \
         them; the contract lists {missing:?}, which the macro does not add"
    );
}

#[test]
fn call_options_reads_the_builder_field_the_generator_writes() {
    let macros = macros();
    let (_, body) = &macros[contract::CALL_OPTIONS];
    let mut fields = BTreeSet::new();
    self_fields(body.clone(), &mut fields);
    let expected: BTreeSet<String> = [contract::BUILDER_CALL_FIELD.to_owned()].into();
    assert_eq!(fields, expected, "the fields of a builder that call_options! reads");
}

#[test]
fn table_macros_are_exported_macros_of_this_crate() {
    let macros = macros();
    for name in contract::TABLE_MACROS {
        match macros.get(*name) {
            Some((true, _)) => {}
            Some((false, _)) => panic!("`{name}!` is listed in contract::TABLE_MACROS but not #[macro_export]ed"),
            None => panic!("`{name}!` is listed in contract::TABLE_MACROS but src/macros.rs does not define it"),
        }
    }
}

#[test]
fn crate_and_package_names_are_this_crates() {
    assert_eq!(contract::PACKAGE, env!("CARGO_PKG_NAME"));
    assert_eq!(contract::CRATE, contract::PACKAGE.replace('-', "_"));
}

#[test]
fn the_drift_checks_can_fail() {
    // The scanner sees a method added to a macro like call_options!, nested as it is there.
    let body: TokenStream =
        "($b:ty) => { impl $b { /// `fn not_this`\n pub fn deadline(mut self) -> Self { self.call.x(); self } } };"
            .parse()
            .unwrap();
    let mut names = BTreeSet::new();
    functions(body.clone(), &mut names);
    assert_eq!(names, ["deadline".to_owned()].into());
    let mut fields = BTreeSet::new();
    self_fields(body, &mut fields);
    assert_eq!(fields, ["call".to_owned()].into());
}
