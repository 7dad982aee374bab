//! Rust names for Discovery names.
//!
//! Only the resolve stage ([`crate::ir`]) calls these; the emitter takes names as given.
//! Every function here returns a valid Rust identifier (possibly raw, `r#type`) for any
//! input, including empty strings, punctuation and names starting with a digit.

use std::collections::{BTreeMap, BTreeSet};

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Strict and reserved keywords of editions 2015 to 2024.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait",
    "true", "try", "type", "typeof", "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "crate", "super", "_"];

/// Type names the generated code uses unqualified, or that users would lose to a glob
/// import: `use types::*` shadows the prelude, so a schema called `Default` would break
/// `..Default::default()` and one called `Send` every `T: Send` in the user's module. The
/// std preludes of every edition (2015 to 2024), the traits users write most often beside
/// them (`Debug`, `Display`, `Hash`), the runtime's `Error`, which generated crates
/// re-export at their root, types the generated code names, and `Self`.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "AsMut",
    "AsRef",
    "AsyncFn",
    "AsyncFnMut",
    "AsyncFnOnce",
    "Box",
    "Clone",
    "Copy",
    "Default",
    "DoubleEndedIterator",
    "Drop",
    "Eq",
    "Err",
    "ExactSizeIterator",
    "Extend",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "FromIterator",
    "Future",
    "Into",
    "IntoFuture",
    "IntoIterator",
    "Iterator",
    "None",
    "Ok",
    "Option",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Result",
    "Send",
    "Sized",
    "Some",
    "String",
    "Sync",
    "ToOwned",
    "ToString",
    "TryFrom",
    "TryInto",
    "Unpin",
    "Vec",
    "Debug",
    "Display",
    "Hash",
    "Error",
    "BTreeMap",
    "Value",
    "Self",
];

/// Methods that generated handles, builders and the client get from std (`Clone`,
/// `Debug`, `From` and the blanket `Into`, `ToOwned`, `Borrow`, `Any`...), or that clippy
/// expects an inherent method of that name and receiver to implement a trait with
/// (`should_implement_trait`: `eq`, `hash`, `as_ref`...), or to return `Self` (`new`). A
/// generated method of one of these names would shadow the trait's (`handle.clone()`
/// would need arguments) or fail clippy.
const STD_METHOD_NAMES: &[&str] = &[
    "as_ref",
    "borrow",
    "borrow_mut",
    "clone",
    "clone_from",
    "clone_into",
    "cmp",
    "default",
    "deref",
    "eq",
    "fmt",
    "from",
    "hash",
    "index",
    "into",
    "ne",
    "new",
    "partial_cmp",
    "to_owned",
    "to_string",
    "try_from",
    "try_into",
    "type_id",
];

/// Operator methods, which clippy expects a method taking `self` and one argument (a
/// builder's setter) to implement the operator with.
const OPERATOR_METHOD_NAMES: &[&str] = &["add", "bitand", "bitor", "bitxor", "div", "mul", "rem", "shl", "shr", "sub"];

/// Names a method of a generated resource handle or client must not take.
pub fn handle_reserved_methods() -> impl Iterator<Item = &'static str> {
    STD_METHOD_NAMES.iter().copied()
}

/// Names a parameter setter of a generated builder must not take (besides the builder's
/// own methods).
pub fn setter_reserved_methods() -> impl Iterator<Item = &'static str> {
    STD_METHOD_NAMES.iter().chain(OPERATOR_METHOD_NAMES).copied()
}

/// Whether `name` is a Rust keyword in any edition.
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// Keeps letters, digits and `_`, turning every other character into a word break.
fn words_only(raw: &str) -> String {
    raw.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' }).collect()
}

/// `snake_case` identifier text for a field, method or parameter, without `r#`.
///
/// Returns `fallback` when nothing identifier-like is left (`"@"`, `""`).
pub fn snake(raw: &str, fallback: &str) -> String {
    let mut name = words_only(raw).to_snake_case();
    if name.is_empty() {
        name = fallback.to_owned();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// `UpperCamelCase` identifier text for a type or variant, without `r#`.
///
/// A leading digit gets `prefix` in front (`30fps` -> `V30fps` for `prefix = "V"`).
pub fn camel(raw: &str, prefix: &str, fallback: &str) -> String {
    let mut name = words_only(raw).to_upper_camel_case();
    if name.is_empty() {
        name = fallback.to_owned();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, prefix);
    }
    name
}

/// A value identifier (field, method, argument) that can be written in Rust source:
/// keywords become raw identifiers, and the few that cannot be raw get a `_` suffix.
pub fn value_ident(snake_name: &str) -> String {
    if NOT_RAW.contains(&snake_name) {
        format!("{snake_name}_")
    } else if is_keyword(snake_name) {
        format!("r#{snake_name}")
    } else {
        snake_name.to_owned()
    }
}

/// A type identifier: prelude clashes get a `Schema` suffix, keywords a `_` suffix.
pub fn type_ident(camel_name: &str) -> String {
    if RESERVED_TYPE_NAMES.contains(&camel_name) {
        format!("{camel_name}Schema")
    } else if is_keyword(camel_name) {
        format!("{camel_name}_")
    } else {
        camel_name.to_owned()
    }
}

/// A variant identifier: only `Self` is a problem among camel-case keywords.
pub fn variant_ident(camel_name: &str) -> String {
    if is_keyword(camel_name) {
        format!("{camel_name}_")
    } else {
        camel_name.to_owned()
    }
}

/// The `SCREAMING_SNAKE` name of a constant for an OAuth scope URL:
/// `https://www.googleapis.com/auth/contacts.readonly` -> `CONTACTS_READONLY`.
pub fn scope_const(url: &str) -> String {
    let tail = url
        .split_once("/auth/")
        .map(|(_, tail)| tail.to_owned())
        .unwrap_or_else(|| url.trim_start_matches("https://").trim_start_matches("http://").to_owned());
    let name = snake(&tail, "scope").to_uppercase();
    if name.starts_with('_') {
        format!("SCOPE{name}")
    } else {
        name
    }
}

/// Hands out names that are unique within one scope (a module, a struct, an impl block).
///
/// Names are claimed in a deterministic order chosen by the caller; a name already
/// taken gets the first free numeric suffix (`Foo2`, `foo_2`).
#[derive(Clone, Debug, Default)]
pub struct Namespace {
    taken: BTreeSet<String>,
    /// Per numeric-suffix stem (`Foo`, `foo_`), the first suffix not known to be taken:
    /// names are never released, so a later claim can start there. Without it, n names
    /// that collide cost O(n^2) (an enum of 10k values that convert to one name).
    next_suffix: BTreeMap<String, u32>,
}

impl Namespace {
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks names as used without handing them out (names the emitter writes itself).
    pub fn reserve<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        self.taken.extend(names.into_iter().map(unraw).map(str::to_owned));
    }

    pub fn contains(&self, name: &str) -> bool {
        self.taken.contains(unraw(name))
    }

    /// Claims `wanted`, or the first free alternative from `alternatives`, or `wanted`
    /// with a numeric suffix (`separator` between them: `""` for types, `"_"` for values).
    pub fn claim_with(&mut self, wanted: &str, alternatives: &[String], separator: &str) -> String {
        for candidate in std::iter::once(wanted).chain(alternatives.iter().map(String::as_str)) {
            if !self.contains(candidate) {
                self.taken.insert(unraw(candidate).to_owned());
                return candidate.to_owned();
            }
        }
        let base = wanted.strip_prefix("r#").unwrap_or(wanted).trim_end_matches('_');
        let stem = format!("{base}{separator}");
        let mut n = self.next_suffix.get(&stem).copied().unwrap_or(2);
        loop {
            let candidate = format!("{stem}{n}");
            n += 1;
            if !self.contains(&candidate) {
                self.taken.insert(candidate.clone());
                self.next_suffix.insert(stem, n);
                return candidate;
            }
        }
    }

    pub fn claim(&mut self, wanted: &str, separator: &str) -> String {
        self.claim_with(wanted, &[], separator)
    }
}

fn unraw(name: &str) -> &str {
    name.strip_prefix("r#").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names() {
        let field = |raw: &str| value_ident(&snake(raw, "field"));
        assert_eq!(field("type"), "r#type");
        assert_eq!(field("match"), "r#match");
        assert_eq!(field("self"), "self_");
        assert_eq!(field("@type"), "r#type");
        assert_eq!(field("$schema"), "schema");
        assert_eq!(field("end-date"), "end_date");
        assert_eq!(field("emailAddresses"), "email_addresses");
        assert_eq!(field("$"), "field");
        assert_eq!(field("2xx"), "_2xx");
        assert_eq!(field("gen"), "r#gen");
    }

    #[test]
    fn type_and_variant_names() {
        assert_eq!(type_ident(&camel("Option", "T", "Type")), "OptionSchema");
        assert_eq!(type_ident(&camel("HTTPHealthCheck", "T", "Type")), "HttpHealthCheck");
        assert_eq!(variant_ident(&camel("30fps", "V", "Value")), "V30fps");
        assert_eq!(variant_ident(&camel("SELF", "V", "Value")), "Self_");
        assert_eq!(variant_ident(&camel("NOT_ACTIVATED", "V", "Value")), "NotActivated");
        assert_eq!(variant_ident(&camel("", "V", "Empty")), "Empty");
    }

    #[test]
    fn namespace_resolves_collisions_deterministically() {
        let mut names = Namespace::new();
        assert_eq!(names.claim("HttpHealthCheck", ""), "HttpHealthCheck");
        assert_eq!(names.claim_with("HttpHealthCheck", &["HTTPHealthCheck".into()], ""), "HTTPHealthCheck");
        assert_eq!(names.claim("HttpHealthCheck", ""), "HttpHealthCheck2");
        names.reserve(["extra"]);
        assert_eq!(names.claim("extra", "_"), "extra_2");
        assert_eq!(names.claim("r#type", "_"), "r#type");
        assert_eq!(names.claim("r#type", "_"), "type_2");
    }

    #[test]
    fn scope_constants() {
        assert_eq!(scope_const("https://www.googleapis.com/auth/contacts.readonly"), "CONTACTS_READONLY");
        assert_eq!(scope_const("https://www.googleapis.com/auth/cloud-platform"), "CLOUD_PLATFORM");
        assert_eq!(scope_const("https://mail.google.com/"), "MAIL_GOOGLE_COM");
    }
}
