//! What changed between two revisions of a Discovery document, and what it means for
//! users of the generated crate.
//!
//! Both documents go through the normal pipeline ([`crate::discovery`], then
//! [`crate::ir`]): the report speaks the document's names (schemas and fields by JSON
//! name, `Person.names`; methods by id, `people.people.updateContact`; parameters by wire
//! name, `people.people.get(personFields)`), and the IR supplies the Rust side, so that
//! a change that only the Rust code sees (an `int32` that became `int64`, an inline enum
//! that got a new name) is caught too. Members of inline objects are reported under their
//! parent's path (`Person.metadata.sources`).
//!
//! Classification, for code written against the generated crate:
//!
//! - **Breaking**: code that compiled may not compile, or the same code sends different
//!   requests. Anything public removed; a retyped field, parameter, body or response; a
//!   parameter that becomes required (a new constructor argument) or optional (an argument
//!   disappears); a new required parameter; a removed enum value; a renamed enum variant
//!   (the catch-all included: a new value `UNKNOWN_VALUE` moves it to
//!   `UnrecognizedValue`, and a value that makes a shortened variant name ambiguous gives
//!   that variant its full name back); a changed base URL, HTTP method or path; a method
//!   that stops accepting a scope (any one of a method's scopes authorises it, so a token
//!   that carries only the dropped scope is refused).
//! - **Additive**: new methods, optional parameters, schemas, fields and enum values, new
//!   scopes on a method, new scope constants; newly deprecated items (a warning only,
//!   listed in a section of their own). Generated enums are `#[non_exhaustive]`, so every
//!   match on one already has a wildcard arm and a new value compiles; what changes is
//!   that the value, read until now as the catch-all `UnknownValue("..")`, decodes to its
//!   own variant, and the report says so. Struct literals are assumed to end with
//!   `..Default::default()`, as generated types are meant to be built.
//!
//! Descriptions are not compared. Every other difference in a schema, field, method or
//! parameter is reported: what the checks below do not classify is listed as "other
//! attribute changes" (additive: the generated types and requests are unchanged).
//!
//! The report is sorted: the same two documents always give the same text.
//!
//! `index` lays each document out by the names the report uses, beside what the IR made
//! of it; `diff` compares the two; `report` renders the result. None of them names or
//! types anything itself: Rust names and types come from the IR (types spelled with
//! [`Spelling::Short`](crate::ir::Spelling::Short)), so a report describes what is generated.

mod diff;
mod index;
mod report;

use std::fmt;

pub use report::{prepend_section, recorded_version, CHANGELOG_TITLE};

use index::{Loaded, Side};

/// What a change means for code written against the generated crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impact {
    /// Code that compiled may not compile, or behaves differently on the wire.
    Breaking,
    /// Existing code keeps compiling and sends the same requests.
    Additive,
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Impact::Breaking => "breaking",
            Impact::Additive => "additive",
        })
    }
}

/// What kind of item changed and how; the report groups changes by kind, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// The API's name or version, the crate or client type name.
    Api,
    BaseUrl,
    ScopeAdded,
    ScopeRemoved,
    MethodAdded,
    MethodRemoved,
    /// HTTP method, path, Rust call or builder name, argument order, paging, media.
    MethodChanged,
    MethodScopes,
    Request,
    Response,
    ParamAdded,
    ParamRemoved,
    ParamMadeRequired,
    ParamMadeOptional,
    ParamRetyped,
    /// Location, setter name, pattern, or a JSON type change that keeps the Rust type.
    ParamChanged,
    SchemaAdded,
    SchemaRemoved,
    /// The Rust type a schema becomes: its kind, name or alias target.
    SchemaChanged,
    FieldAdded,
    FieldRemoved,
    FieldRetyped,
    /// Rust field name, output-only flag, or a JSON type change that keeps the Rust type.
    FieldChanged,
    EnumValueAdded,
    EnumValueRemoved,
    /// A variant renamed, or values reordered.
    EnumChanged,
    /// Newly deprecated: additive, listed separately.
    Deprecated,
    Undeprecated,
    /// Attributes the generated code does not use (`flatPath`, `default`, ...).
    Other,
}

impl ChangeKind {
    /// Reads as a count: "3 methods added".
    pub fn title(self) -> &'static str {
        match self {
            ChangeKind::Api => "API identity changes",
            ChangeKind::BaseUrl => "base URL changes",
            ChangeKind::ScopeAdded => "scopes added",
            ChangeKind::ScopeRemoved => "scopes removed",
            ChangeKind::MethodAdded => "methods added",
            ChangeKind::MethodRemoved => "methods removed",
            ChangeKind::MethodChanged => "method changes",
            ChangeKind::MethodScopes => "method scope changes",
            ChangeKind::Request => "request body changes",
            ChangeKind::Response => "response changes",
            ChangeKind::ParamAdded => "parameters added",
            ChangeKind::ParamRemoved => "parameters removed",
            ChangeKind::ParamMadeRequired => "parameters made required",
            ChangeKind::ParamMadeOptional => "parameters made optional",
            ChangeKind::ParamRetyped => "parameters retyped",
            ChangeKind::ParamChanged => "parameter changes",
            ChangeKind::SchemaAdded => "schemas added",
            ChangeKind::SchemaRemoved => "schemas removed",
            ChangeKind::SchemaChanged => "schema changes",
            ChangeKind::FieldAdded => "fields added",
            ChangeKind::FieldRemoved => "fields removed",
            ChangeKind::FieldRetyped => "fields retyped",
            ChangeKind::FieldChanged => "field changes",
            ChangeKind::EnumValueAdded => "enum values added",
            ChangeKind::EnumValueRemoved => "enum values removed",
            ChangeKind::EnumChanged => "enum changes",
            ChangeKind::Deprecated => "deprecations",
            ChangeKind::Undeprecated => "no longer deprecated",
            ChangeKind::Other => "other attribute changes",
        }
    }
}

/// One difference between the two documents.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Change {
    pub impact: Impact,
    pub kind: ChangeKind,
    /// The item as the document names it: `Person.names`, `people.people.get`,
    /// `people.people.get(personFields)`, a scope URL, or `base URL`.
    pub subject: String,
    /// One line: what changed, and the Rust item where it helps.
    pub detail: String,
}

/// A semantic version bump.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bump {
    None,
    Patch,
    Minor,
    Major,
}

impl Bump {
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::None => "none",
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }

    /// The version after this bump (`0.1.3` + minor = `0.2.0`); `None` when `version` is
    /// not `MAJOR[.MINOR[.PATCH]]`. Pre-release and build suffixes are dropped.
    pub fn apply(self, version: &str) -> Option<String> {
        let (major, minor, patch) = parse_version(version)?;
        let (major, minor, patch) = match self {
            Bump::None => (major, minor, patch),
            Bump::Patch => (major, minor, patch + 1),
            Bump::Minor => (major, minor + 1, 0),
            Bump::Major => (major + 1, 0, 0),
        };
        Some(format!("{major}.{minor}.{patch}"))
    }
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn parse_version(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.trim().split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    parts.next().is_none().then_some((major, minor, patch))
}

/// Changes by classification; deprecations are additive but counted apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub breaking: usize,
    /// Additive changes other than deprecations.
    pub additive: usize,
    pub deprecated: usize,
}

/// The changes from one revision of a document to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeReport {
    /// The API's `name` (of the new document), e.g. `people`.
    pub api: String,
    pub version: String,
    pub old_revision: String,
    pub new_revision: String,
    /// The generated crate's current version; the rendered reports name the next one.
    pub crate_version: Option<String>,
    /// Sorted by impact, kind, subject and detail.
    pub changes: Vec<Change>,
}

/// Compares two Discovery documents, `old_json` being the earlier revision.
///
/// Fails when either document does not parse or resolve; the error says which one.
pub fn compare(old_json: &str, new_json: &str) -> Result<ChangeReport, crate::Error> {
    let old = Loaded::new(old_json, "old")?;
    let new = Loaded::new(new_json, "new")?;
    let mut changes = diff::changes(&Side::new(&old), &Side::new(&new));
    changes.sort();
    changes.dedup();
    Ok(ChangeReport {
        api: new.doc.name.clone(),
        version: new.doc.version.clone(),
        old_revision: old.doc.revision.clone(),
        new_revision: new.doc.revision.clone(),
        crate_version: None,
        changes,
    })
}

// ---------------------------------------------------------------------------------------
// Text shared by the comparison and the rendered report.

fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

fn code_list<'s>(items: impl IntoIterator<Item = &'s String>) -> String {
    items.into_iter().map(|s| code(s)).collect::<Vec<_>>().join(", ")
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
