//! The names that generated code, the generator and this crate must agree on.
//!
//! The generator (`discovery-codegen`) compiles this very file (through `#[path]`), so
//! each name is written once: the generator reads it here, and `tests/contract.rs` fails
//! when the macros of this crate stop matching it. Constants and self-contained `const fn`s
//! only: no item of this file may need anything else from this crate.

/// The crate name generated code reaches this crate by (`discovery_runtime::Call`).
pub const CRATE: &str = "discovery_runtime";

/// The module of [`CRATE`] holding what only generated code uses (`Call`, `MethodInfo`, the
/// JSON reader and writer), hidden from the documentation.
pub const GENERATED_CODE: &str = "for_generated_code";

/// The package name generated manifests depend on.
pub const PACKAGE: &str = "discovery-runtime";

/// The options `call_options!` adds to every method builder. The
/// generator keeps parameter setters off these names (and off [`BUILDER_SENDERS`]).
pub const BUILDER_OPTIONS: &[&str] =
    &["fields", "quota_user", "param", "header", "add_scope", "retry_policy", "timeout", "deadline"];

/// The sending methods `call_options!` adds, given a response type.
pub const BUILDER_SENDERS: &[&str] = &["send", "send_with_response"];

/// The field of a method builder that `call_options!` reads
/// (`self.call`): a `Call`.
pub const BUILDER_CALL_FIELD: &str = "call";

/// `call_options!`: a builder's options and sending methods.
pub const CALL_OPTIONS: &str = "call_options";
/// `json_object!`: an object type's JSON members.
pub const JSON_OBJECT: &str = "json_object";
/// `string_enum!`: an enum's wire spellings.
pub const STRING_ENUM: &str = "string_enum";
/// `field_names!`: the field names a field mask accepts.
pub const FIELD_NAMES: &str = "field_names";

/// The macros generated code invokes as `discovery_runtime::NAME!(..)`, each a table that
/// the generator lays out one entry per line.
pub const TABLE_MACROS: &[&str] = &[CALL_OPTIONS, JSON_OBJECT, STRING_ENUM, FIELD_NAMES];

/// The feature of this crate that checks path parameters against patterns of any form, with
/// a regex engine. Generated manifests enable it only when the document has a pattern that
/// [`is_segments_pattern`] rejects (8 of the 56 documents of the corpus; not People).
pub const REGEX_FEATURE: &str = "regex";

/// Whether a path parameter's `pattern` has the form this crate checks without a regex
/// engine: `^` and `$` around `/`-separated segments, each either `[^/]+` or a literal of
/// ASCII letters, digits, `_` and `-` (`^projects/[^/]+/locations/[^/]+$`). Every pattern
/// of 48 of the 56 documents of the corpus has it; any other needs [`REGEX_FEATURE`].
///
/// A `const fn`, so that a generated constant naming another pattern fails to compile
/// without the feature instead of going unchecked at run time.
pub const fn is_segments_pattern(pattern: &str) -> bool {
    const ANY: &[u8] = b"[^/]+";
    let p = pattern.as_bytes();
    if p.len() < 2 || p[0] != b'^' || p[p.len() - 1] != b'$' {
        return false;
    }
    let end = p.len() - 1;
    let mut i = 1;
    // One segment per turn: `[^/]+`, or a literal up to the next `/` or the end.
    loop {
        let mut is_any = i + ANY.len() <= end;
        let mut k = 0;
        while is_any && k < ANY.len() {
            is_any = p[i + k] == ANY[k];
            k += 1;
        }
        if is_any {
            i += ANY.len();
        } else {
            while i < end && p[i] != b'/' {
                if !(p[i].is_ascii_alphanumeric() || p[i] == b'_' || p[i] == b'-') {
                    return false;
                }
                i += 1;
            }
        }
        if i == end {
            return true;
        }
        if p[i] != b'/' {
            return false;
        }
        i += 1;
    }
}

/// The operators of RFC 6570 expressions (`{/name}`, `{?name}`...) that this crate does not
/// expand: all but `+` (reserved expansion). The generator refuses a document whose path
/// templates use one, since every call of the method would fail.
pub const UNSUPPORTED_TEMPLATE_OPERATORS: &[char] = &['#', '/', '.', ';', '?', '&', '=', ',', '!', '@', '|'];

/// Whether `text` can be an `x-goog-api-version` header value as this crate sends a
/// document's `apiVersion`: `HeaderValue::from_static`, which takes visible ASCII, spaces
/// and tabs. A `const fn`, so that a generated constant breaking the rule does not compile;
/// the generator holds documents to it.
pub const fn is_static_header_text(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b == b'\t' || (b >= 0x20 && b < 0x7f)) {
            return false;
        }
        i += 1;
    }
    true
}
