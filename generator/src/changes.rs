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
//!   disappears); a new required parameter; a removed enum value; a changed base URL,
//!   HTTP method or path; a method that stops accepting a scope (any one of a method's
//!   scopes authorises it, so a token that carries only the dropped scope is refused).
//! - **Additive**: new methods, optional parameters, schemas, fields and enum values, new
//!   scopes on a method, new scope constants; newly deprecated items (a warning only,
//!   listed in a section of their own). This assumes the way generated types are meant to
//!   be used: struct literals end with `..Default::default()`, and matches on enums have a
//!   wildcard arm, since the service may always send values the crate does not know.
//!
//! Descriptions are not compared. Every other difference in a schema, field, method or
//! parameter is reported: what the checks below do not classify is listed as "other
//! attribute changes" (additive: the generated types and requests are unchanged).
//!
//! The report is sorted: the same two documents always give the same text.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde_json::Value;

use crate::discovery::{self, JsonSchema, ParseError, RestDescription, RestMethod, RestResource};
use crate::ir::{self, Api, Field, Method, Param, ResolveError, Resource, Type, TypeDef};
use crate::naming;

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
    let (old_side, new_side) = (Side::new(&old), Side::new(&new));
    let mut diff = Diff::default();
    diff.api(&old_side, &new_side);
    diff.schemas(&old_side, &new_side);
    diff.fields(&old_side, &new_side);
    diff.methods(&old_side, &new_side);
    let mut changes = diff.changes;
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

impl ChangeReport {
    /// Names the crate version the bump is computed from in the rendered reports.
    pub fn with_crate_version(mut self, version: impl Into<String>) -> Self {
        self.crate_version = Some(version.into());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for change in &self.changes {
            match (change.impact, change.kind) {
                (Impact::Breaking, _) => counts.breaking += 1,
                (Impact::Additive, ChangeKind::Deprecated) => counts.deprecated += 1,
                (Impact::Additive, _) => counts.additive += 1,
            }
        }
        counts
    }

    /// The bump these changes need. A 0.x crate takes breaking changes in a minor release
    /// and additive ones in a patch release (Cargo treats `0.x` minors as incompatible);
    /// from 1.0 on, major and minor. A version that does not parse is treated as >= 1.0.
    pub fn recommended_bump(&self, current_version: &str) -> Bump {
        let pre_1_0 = parse_version(current_version).is_some_and(|(major, _, _)| major == 0);
        let breaking = self.changes.iter().any(|c| c.impact == Impact::Breaking);
        match (self.changes.is_empty(), breaking, pre_1_0) {
            (true, _, _) => Bump::None,
            (false, true, true) => Bump::Minor,
            (false, true, false) => Bump::Major,
            (false, false, true) => Bump::Patch,
            (false, false, false) => Bump::Minor,
        }
    }

    /// `## people v1: revision 20210302 -> 20251117`: the first line of the Markdown
    /// section, and how [`prepend_section`] recognises it.
    pub fn heading(&self) -> String {
        format!("## {} {}: revision {} -> {}", self.api, self.version, self.old_revision, self.new_revision)
    }

    fn bump_phrase(&self, strong: &str) -> String {
        let breaking = self.changes.iter().any(|c| c.impact == Impact::Breaking);
        let Some(version) = &self.crate_version else {
            return match (self.changes.is_empty(), breaking) {
                (true, _) => format!("{strong}none{strong}"),
                (false, true) => format!("{strong}major{strong} ({strong}minor{strong} for a 0.x crate)"),
                (false, false) => format!("{strong}minor{strong} ({strong}patch{strong} for a 0.x crate)"),
            };
        };
        let bump = self.recommended_bump(version);
        let pre_1_0 = parse_version(version).is_some_and(|(major, _, _)| major == 0);
        let why = match (bump, pre_1_0) {
            (Bump::None, _) => "no API changes",
            (Bump::Minor, true) => "breaking changes in a 0.x crate",
            (Bump::Patch, true) => "additive changes only, 0.x crate",
            (Bump::Major, _) => "breaking changes",
            _ => "additive changes only",
        };
        match bump.apply(version) {
            Some(next) if bump != Bump::None => format!("{strong}{bump}{strong} ({version} -> {next}: {why})"),
            _ => format!("{strong}{bump}{strong} ({why})"),
        }
    }

    fn summary(&self, strong: &str) -> String {
        if self.changes.is_empty() {
            return format!(
                "No changes to methods, parameters, schemas, scopes or the base URL; recommended bump: {}.",
                self.bump_phrase(strong)
            );
        }
        let counts = self.counts();
        format!(
            "{} breaking, {} additive, {} deprecations; recommended bump: {}.",
            counts.breaking,
            counts.additive,
            counts.deprecated,
            self.bump_phrase(strong)
        )
    }

    /// A `CHANGES.md` section: the [`heading`](Self::heading), a summary line with the
    /// counts and the recommended bump, then the breaking, additive and deprecation lists,
    /// grouped by kind. Ends with one newline.
    pub fn render_markdown(&self) -> String {
        let mut out = format!("{}\n\n{}\n", self.heading(), self.summary("**"));
        if self.changes.is_empty() {
            return out;
        }
        let breaking: Vec<&Change> = self.changes.iter().filter(|c| c.impact == Impact::Breaking).collect();
        let additive: Vec<&Change> =
            self.changes.iter().filter(|c| c.impact == Impact::Additive && c.kind != ChangeKind::Deprecated).collect();
        let deprecated: Vec<&Change> = self.changes.iter().filter(|c| c.kind == ChangeKind::Deprecated).collect();
        // Breaking always gets a section: "None." is what the reviewer looks for first.
        out.push_str("\n### Breaking\n\n");
        if breaking.is_empty() {
            out.push_str("None.\n");
        }
        push_by_kind(&mut out, &breaking);
        if !additive.is_empty() {
            out.push_str("\n### Additive\n\n");
            push_by_kind(&mut out, &additive);
        }
        if !deprecated.is_empty() {
            out.push_str("\n### Deprecated\n\nAdditive: existing code gets deprecation warnings.\n\n");
            deprecated.iter().for_each(|change| push_line(&mut out, change));
        }
        out
    }

    /// For the terminal: the summary, every breaking change (up to 20), and counts of the
    /// rest by kind.
    pub fn render_text(&self) -> String {
        const SHOWN: usize = 20;
        let mut out = format!(
            "{} {}: revision {} -> {}\n  {}\n",
            self.api,
            self.version,
            self.old_revision,
            self.new_revision,
            self.summary("")
        );
        let breaking: Vec<&Change> = self.changes.iter().filter(|c| c.impact == Impact::Breaking).collect();
        if !breaking.is_empty() {
            out.push_str("  breaking:\n");
            for change in breaking.iter().take(SHOWN) {
                out.push_str(&format!("    {}: {}\n", change.subject, change.detail));
            }
            if breaking.len() > SHOWN {
                out.push_str(&format!("    ... and {} more\n", breaking.len() - SHOWN));
            }
        }
        let mut by_kind: BTreeMap<ChangeKind, usize> = BTreeMap::new();
        for change in self.changes.iter().filter(|c| c.impact == Impact::Additive) {
            *by_kind.entry(change.kind).or_default() += 1;
        }
        if !by_kind.is_empty() {
            let parts: Vec<String> = by_kind.iter().map(|(kind, n)| format!("{}: {n}", kind.title())).collect();
            out.push_str(&format!("  additive: {}\n", parts.join(", ")));
        }
        out
    }
}

fn push_line(out: &mut String, change: &Change) {
    out.push_str(&format!("- {}: {}\n", code(&change.subject), change.detail));
}

/// One `####` heading per kind; `changes` come sorted, so each kind is one run.
fn push_by_kind(out: &mut String, changes: &[&Change]) {
    let mut kind = None;
    for change in changes {
        if kind != Some(change.kind) {
            if kind.is_some() {
                out.push('\n');
            }
            out.push_str(&format!("#### {}\n\n", capitalize(change.kind.title())));
            kind = Some(change.kind);
        }
        push_line(out, change);
    }
}

/// Title of a new `CHANGES.md`.
pub const CHANGELOG_TITLE: &str =
    "# API changes\n\nWhat changed between revisions of the Discovery document, newest first.\n";

/// Puts the report's section at the top of a `CHANGES.md` text (after its title and
/// introduction, before the first `## ` section).
///
/// Idempotent: a text that already has a section with the same heading (API, version and
/// revision pair) comes back unchanged, and so does any text when the report compares a
/// revision with itself and finds nothing. An empty text gets [`CHANGELOG_TITLE`] first.
pub fn prepend_section(changelog: &str, report: &ChangeReport) -> String {
    let heading = report.heading();
    let same_revision = report.old_revision == report.new_revision && report.is_empty();
    if same_revision || changelog.lines().any(|line| line.trim_end() == heading) {
        return changelog.to_owned();
    }
    let section = report.render_markdown();
    if changelog.trim().is_empty() {
        return format!("{CHANGELOG_TITLE}\n{section}");
    }
    let mut offset = 0;
    for line in changelog.split_inclusive('\n') {
        if line.starts_with("## ") {
            return format!("{}{section}\n{}", &changelog[..offset], &changelog[offset..]);
        }
        offset += line.len();
    }
    format!("{}\n\n{section}", changelog.trim_end())
}

// ---------------------------------------------------------------------------------------
// The two sides: each document indexed by the names the report uses.

struct Loaded {
    doc: RestDescription,
    api: Api,
    raw: Value,
}

impl Loaded {
    fn new(json: &str, which: &str) -> Result<Self, crate::Error> {
        let doc = discovery::parse(json)
            .map_err(|e| ParseError { path: e.path, message: format!("{} (in the {which} document)", e.message) })?;
        let api = ir::resolve(&doc)
            .map_err(|e| ResolveError { path: e.path, message: format!("{} (in the {which} document)", e.message) })?;
        let raw = serde_json::from_str(json).map_err(|e| ParseError { path: ".".into(), message: e.to_string() })?;
        Ok(Loaded { doc, api, raw })
    }
}

struct SchemaEntry<'a> {
    json: &'a JsonSchema,
    raw: &'a Value,
    rust: Option<&'a TypeDef>,
}

struct FieldEntry<'a> {
    /// Path of the schema or field this is a member of.
    parent: String,
    json: &'a JsonSchema,
    raw: &'a Value,
    /// The Rust struct and its field.
    rust: Option<(&'a str, &'a Field)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Path,
    RequiredQuery,
    OptionalQuery,
}

struct ParamEntry<'a> {
    json: &'a JsonSchema,
    raw: &'a Value,
    rust: Option<(Role, &'a Param)>,
}

struct MethodEntry<'a> {
    json: &'a RestMethod,
    raw: &'a Value,
    rust: Option<&'a Method>,
    /// The constructor as called on the client: `people().connections().list`.
    call: String,
    params: BTreeMap<&'a str, ParamEntry<'a>>,
}

struct Side<'a> {
    api: &'a Api,
    types: HashMap<&'a str, &'a TypeDef>,
    schemas: BTreeMap<&'a str, SchemaEntry<'a>>,
    fields: BTreeMap<String, FieldEntry<'a>>,
    methods: BTreeMap<String, MethodEntry<'a>>,
    /// Resource path (`people.connections`) to whether it is deprecated, and its accessor
    /// as called on the client (`people().connections()`).
    resources: BTreeMap<String, (bool, String)>,
}

static NULL: Value = Value::Null;

fn member<'a>(value: &'a Value, key: &str) -> &'a Value {
    value.get(key).unwrap_or(&NULL)
}

impl<'a> Side<'a> {
    fn new(loaded: &'a Loaded) -> Self {
        let (doc, api, raw) = (&loaded.doc, &loaded.api, &loaded.raw);
        let types: HashMap<&str, &TypeDef> = api.types.iter().map(|t| (t.name(), t)).collect();
        let by_origin: HashMap<&str, &TypeDef> = api
            .types
            .iter()
            .filter_map(|t| match t {
                TypeDef::Struct(s) => Some((s.origin.as_str(), t)),
                _ => None,
            })
            .collect();

        let mut fields = BTreeMap::new();
        let raw_schemas = member(raw, "schemas");
        for (name, schema) in &doc.schemas {
            let origin = format!("schemas.{name}");
            collect_fields(&by_origin, &mut fields, name, origin, schema, member(raw_schemas, name));
        }

        // The IR keeps the Rust name of a schema only on structs (as their origin); for
        // enums and aliases, a `$ref` to them shows it.
        let mut refs: HashMap<&str, &str> = HashMap::new();
        for entry in fields.values() {
            if let (Some(reference), Some((_, field))) = (&innermost(entry.json).reference, entry.rust) {
                if let Type::Named(name) = innermost_type(&field.ty) {
                    refs.insert(reference.as_str(), name.as_str());
                }
            }
        }
        let schemas = doc
            .schemas
            .iter()
            .map(|(name, schema)| {
                let rust = by_origin.get(format!("schemas.{name}").as_str()).copied().or_else(|| {
                    let guess = naming::type_ident(&naming::camel(name, "T", "Schema"));
                    let rust_name = refs.get(name.as_str()).copied().unwrap_or(guess.as_str());
                    types.get(rust_name).copied().filter(|t| matches!(t, TypeDef::Enum(_) | TypeDef::Alias(_)))
                });
                (name.as_str(), SchemaEntry { json: schema, raw: member(raw_schemas, name), rust })
            })
            .collect();

        let mut side = Side { api, types, schemas, fields, methods: BTreeMap::new(), resources: BTreeMap::new() };
        side.collect_methods(&doc.name, &doc.methods, &doc.resources, raw, Some(&api.root), "", "");
        side
    }

    #[allow(clippy::too_many_arguments)]
    fn collect_methods(
        &mut self,
        api_name: &str,
        methods: &'a BTreeMap<String, RestMethod>,
        resources: &'a BTreeMap<String, RestResource>,
        raw: &'a Value,
        rust: Option<&'a Resource>,
        chain: &str,
        path: &str,
    ) {
        let raw_methods = member(raw, "methods");
        for (name, method) in methods {
            let raw_method = member(raw_methods, name);
            let rust_method = rust.and_then(|r| r.methods.iter().find(|m| m.wire_name == *name));
            let raw_params = member(raw_method, "parameters");
            let params = method
                .parameters
                .iter()
                .map(|(wire, param)| {
                    let rust = rust_method.and_then(|m| find_param(m, wire));
                    (wire.as_str(), ParamEntry { json: param, raw: member(raw_params, wire), rust })
                })
                .collect();
            let id = if method.id.is_empty() { format!("{api_name}.{path}{name}") } else { method.id.clone() };
            let call = rust_method.map(|m| format!("{chain}{}", m.accessor)).unwrap_or_default();
            self.methods.insert(id, MethodEntry { json: method, raw: raw_method, rust: rust_method, call, params });
        }
        let raw_resources = member(raw, "resources");
        for (name, resource) in resources {
            let rust_child = rust.and_then(|r| r.children.iter().find(|c| c.wire_name == *name));
            let child_chain = rust_child.map(|c| format!("{chain}{}().", c.accessor)).unwrap_or_default();
            let child_path = format!("{path}{name}.");
            let accessor = child_chain.trim_end_matches('.').to_owned();
            self.resources.insert(child_path.trim_end_matches('.').to_owned(), (resource.deprecated, accessor));
            self.collect_methods(
                api_name,
                &resource.methods,
                &resource.resources,
                member(raw_resources, name),
                rust_child,
                &child_chain,
                &child_path,
            );
        }
    }

    fn has_item(&self, path: &str) -> bool {
        self.schemas.contains_key(path) || self.fields.contains_key(path)
    }

    fn enum_of(&self, ty: Option<&Type>) -> Option<&'a ir::Enum> {
        match innermost_type(ty?) {
            Type::Named(name) => match self.types.get(name.as_str()).copied() {
                Some(TypeDef::Enum(e)) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Members of an object schema, through arrays and maps, recursively. `origin` follows the
/// IR's naming of where a struct comes from (`schemas.A.properties.b.items`).
fn collect_fields<'a>(
    by_origin: &HashMap<&str, &'a TypeDef>,
    out: &mut BTreeMap<String, FieldEntry<'a>>,
    path: &str,
    mut origin: String,
    mut schema: &'a JsonSchema,
    mut raw: &'a Value,
) {
    while schema.reference.is_none() && schema.properties.is_empty() {
        if let Some(items) = &schema.items {
            origin.push_str(".items");
            (schema, raw) = (items, member(raw, "items"));
        } else if let Some(values) = &schema.additional_properties {
            origin.push_str(".additionalProperties");
            (schema, raw) = (values, member(raw, "additionalProperties"));
        } else {
            return;
        }
    }
    if schema.reference.is_some() {
        return;
    }
    let owner = match by_origin.get(origin.as_str()).copied() {
        Some(TypeDef::Struct(s)) => Some(s),
        _ => None,
    };
    let raw_properties = member(raw, "properties");
    for (wire, property) in &schema.properties {
        let field_path = format!("{path}.{wire}");
        let rust = owner.and_then(|s| s.fields.iter().find(|f| f.wire == *wire).map(|f| (s.name.as_str(), f)));
        let raw_property = member(raw_properties, wire);
        out.insert(field_path.clone(), FieldEntry { parent: path.to_owned(), json: property, raw: raw_property, rust });
        collect_fields(by_origin, out, &field_path, format!("{origin}.properties.{wire}"), property, raw_property);
    }
}

fn find_param<'a>(method: &'a Method, wire: &str) -> Option<(Role, &'a Param)> {
    let find = |params: &'a [Param], role| params.iter().find(|p| p.wire == wire).map(|p| (role, p));
    find(&method.path_params, Role::Path)
        .or_else(|| find(&method.required_query, Role::RequiredQuery))
        .or_else(|| find(&method.optional_query, Role::OptionalQuery))
}

/// The schema that carries a value's own attributes (enum values, `$ref`) under any arrays
/// and maps.
fn innermost(mut schema: &JsonSchema) -> &JsonSchema {
    while schema.reference.is_none() && schema.properties.is_empty() && schema.enum_values.is_empty() {
        match (&schema.items, &schema.additional_properties) {
            (Some(inner), _) | (None, Some(inner)) => schema = inner,
            (None, None) => break,
        }
    }
    schema
}

fn innermost_type(mut ty: &Type) -> &Type {
    while let Type::Vec(inner) | Type::Map(inner) = ty {
        ty = inner;
    }
    ty
}

// ---------------------------------------------------------------------------------------
// Spelling types, for the report and for comparing.

/// The Rust type as the generated code spells it (unqualified).
fn rust_type(ty: &Type) -> String {
    match ty {
        Type::String => "String".into(),
        Type::Bool => "bool".into(),
        Type::I32 => "i32".into(),
        Type::U32 => "u32".into(),
        Type::I64 => "i64".into(),
        Type::U64 => "u64".into(),
        Type::F32 => "f32".into(),
        Type::F64 => "f64".into(),
        Type::Bytes => "Bytes".into(),
        Type::FieldMask => "FieldMask".into(),
        Type::Any => "serde_json::Value".into(),
        Type::Object => "BTreeMap<String, serde_json::Value>".into(),
        Type::Named(name) => name.clone(),
        Type::Vec(inner) => format!("Vec<{}>", rust_type(inner)),
        Type::Map(inner) => format!("BTreeMap<String, {}>", rust_type(inner)),
    }
}

/// A field's declared type: the emitter wraps everything but collections in `Option`, and
/// boxes the fields that close a cycle.
fn field_type(field: &Field) -> String {
    let inner = rust_type(&field.ty);
    match &field.ty {
        Type::Vec(_) | Type::Map(_) | Type::Object => inner,
        _ if field.boxed => format!("Option<Box<{inner}>>"),
        _ => format!("Option<{inner}>"),
    }
}

/// In code spans already: `` `i32` `` or `` `ReadSourceType` (repeated) ``.
fn param_type(param: &Param) -> String {
    let ty = code(&rust_type(&param.ty));
    if param.repeated {
        format!("{ty} (repeated)")
    } else {
        ty
    }
}

/// The JSON type in short: `integer(int32)`, `array<Person>`, `map<string>`, `object`.
fn json_type(schema: &JsonSchema) -> String {
    if let Some(reference) = &schema.reference {
        return reference.clone();
    }
    let base = match (schema.type_.as_deref(), &schema.items, &schema.additional_properties) {
        (Some("array") | None, Some(items), _) => format!("array<{}>", json_type(items)),
        (Some("array"), None, _) => "array".to_owned(),
        (Some("object") | None, _, _) if !schema.properties.is_empty() => "object".to_owned(),
        (Some("object") | None, _, Some(values)) => format!("map<{}>", json_type(values)),
        (Some(other), _, _) => other.to_owned(),
        (None, _, _) => "any".to_owned(),
    };
    match &schema.format {
        Some(format) => format!("{base}({format})"),
        None => base,
    }
}

fn type_summary(def: &TypeDef) -> String {
    match def {
        TypeDef::Struct(s) => format!("struct `{}`", s.name),
        TypeDef::Enum(e) => format!("enum `{}`", e.name),
        TypeDef::Alias(a) => format!("type alias `{} = {}`", a.name, rust_type(&a.ty)),
        other => format!("`{}`", other.name()),
    }
}

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

// ---------------------------------------------------------------------------------------
// Raw attributes: what the typed checks do not classify still gets reported.

/// Keys that are prose, or whose contents are compared item by item.
const NOT_ATTRIBUTES: &[&str] =
    &["description", "enumDescriptions", "properties", "parameters", "methods", "resources"];

/// The attributes that decide a Rust type: matched at any depth of arrays and maps.
const SHAPE: &[&str] = &["*type", "*format", "*$ref", "*items", "*additionalProperties"];
const ENUM: &[&str] = &["*enum", "*enumDeprecated"];

/// An item's attributes as dotted paths (`items.format`, `mediaUpload.maxSize`) to values,
/// with the defaults (`false`, `[]`, trailing `false`s of `enumDeprecated`) left out so
/// that spelling a default out is not a change.
fn attributes(raw: &Value) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    if !NOT_ATTRIBUTES.contains(&key.as_str()) {
                        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                        walk(&path, inner, out);
                    }
                }
            }
            Value::Null | Value::Bool(false) => {}
            Value::Array(items) if prefix == "enumDeprecated" || prefix.ends_with(".enumDeprecated") => {
                let keep = items.iter().rposition(|v| v != &Value::Bool(false)).map_or(0, |i| i + 1);
                if keep > 0 {
                    out.insert(prefix.to_owned(), Value::Array(items[..keep].to_vec()));
                }
            }
            Value::Array(items) if items.is_empty() => {}
            leaf => {
                out.insert(prefix.to_owned(), leaf.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", raw, &mut out);
    out
}

/// Whether a check that reported a change accounts for this attribute: `*name` matches
/// `name` under any arrays and maps, other entries match themselves and what they contain.
fn explains(explained: &[&str], key: &str) -> bool {
    explained.iter().any(|entry| match entry.strip_prefix('*') {
        Some(name) => {
            let mut segments: Vec<&str> = key.split('.').collect();
            segments.pop() == Some(name) && segments.iter().all(|s| *s == "items" || *s == "additionalProperties")
        }
        None => key == *entry || key.strip_prefix(entry).is_some_and(|rest| rest.starts_with('.')),
    })
}

fn show(value: Option<&Value>) -> String {
    const MAX: usize = 80;
    let text = match value {
        None => return "(none)".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        code(&format!("{cut}..."))
    } else {
        code(&text)
    }
}

// ---------------------------------------------------------------------------------------
// The comparison.

#[derive(Default)]
struct Diff {
    changes: Vec<Change>,
}

impl Diff {
    fn push(&mut self, impact: Impact, kind: ChangeKind, subject: &str, detail: impl Into<String>) {
        self.changes.push(Change { impact, kind, subject: subject.to_owned(), detail: detail.into() });
    }

    fn breaking(&mut self, kind: ChangeKind, subject: &str, detail: impl Into<String>) {
        self.push(Impact::Breaking, kind, subject, detail);
    }

    fn additive(&mut self, kind: ChangeKind, subject: &str, detail: impl Into<String>) {
        self.push(Impact::Additive, kind, subject, detail);
    }

    /// `rust` names the item that gets (or loses) `#[deprecated]`, when there is one.
    fn deprecation(&mut self, subject: &str, old: bool, new: bool, what: &str, rust: Option<String>) -> bool {
        let on = |preposition: &str| rust.as_ref().map(|item| format!(": `#[deprecated]` {preposition} {item}"));
        match (old, new) {
            (false, true) => {
                let detail = format!("{what} deprecated{}", on("on").unwrap_or_default());
                self.additive(ChangeKind::Deprecated, subject, detail);
            }
            (true, false) => {
                let detail = format!("{what} no longer deprecated{}", on("removed from").unwrap_or_default());
                self.additive(ChangeKind::Undeprecated, subject, detail);
            }
            _ => return false,
        }
        true
    }

    /// Reports the attributes that differ and that no reported change accounts for.
    fn other(&mut self, subject: &str, old: &Value, new: &Value, explained: &[&str]) {
        let (old, new) = (attributes(old), attributes(new));
        let keys: BTreeSet<&String> = old
            .keys()
            .chain(new.keys())
            .filter(|key| old.get(*key) != new.get(*key) && !explains(explained, key))
            .collect();
        if keys.is_empty() {
            return;
        }
        let parts: Vec<String> =
            keys.iter().map(|key| format!("`{key}` {} -> {}", show(old.get(*key)), show(new.get(*key)))).collect();
        self.additive(
            ChangeKind::Other,
            subject,
            format!("{} (the generated types and requests are unchanged)", parts.join("; ")),
        );
    }

    fn api(&mut self, old: &Side, new: &Side) {
        let (o, n) = (old.api, new.api);
        if (&o.name, &o.version) != (&n.name, &n.version) {
            let detail = format!("`{} {}` -> `{} {}`: a different API", o.name, o.version, n.name, n.version);
            self.breaking(ChangeKind::Api, "API", detail);
        }
        if o.crate_name != n.crate_name {
            self.breaking(ChangeKind::Api, "API", format!("crate `{}` -> `{}`", o.crate_name, n.crate_name));
        }
        if o.client_name != n.client_name {
            self.breaking(ChangeKind::Api, "API", format!("client type `{}` -> `{}`", o.client_name, n.client_name));
        }
        let (old_url, new_url) =
            (format!("{}{}", o.root_url, o.service_path), format!("{}{}", n.root_url, n.service_path));
        if old_url != new_url {
            let detail = format!("{} -> {}: every request goes to the new URL", code(&old_url), code(&new_url));
            self.breaking(ChangeKind::BaseUrl, "base URL", detail);
        }

        let old_scopes: BTreeMap<&str, &str> =
            o.scopes.iter().map(|s| (s.url.as_str(), s.const_name.as_str())).collect();
        let new_scopes: BTreeMap<&str, &str> =
            n.scopes.iter().map(|s| (s.url.as_str(), s.const_name.as_str())).collect();
        for (url, old_const) in &old_scopes {
            match new_scopes.get(url) {
                None => self.breaking(ChangeKind::ScopeRemoved, url, format!("constant `scopes::{old_const}` removed")),
                Some(new_const) if new_const != old_const => self.breaking(
                    ChangeKind::Api,
                    url,
                    format!("scope constant `scopes::{old_const}` renamed to `scopes::{new_const}`"),
                ),
                Some(_) => {}
            }
        }
        for (url, new_const) in &new_scopes {
            if !old_scopes.contains_key(url) {
                self.additive(ChangeKind::ScopeAdded, url, format!("new constant `scopes::{new_const}`"));
            }
        }

        for (path, (old_deprecated, _)) in &old.resources {
            if let Some((new_deprecated, accessor)) = new.resources.get(path) {
                let rust = (!accessor.is_empty()).then(|| format!("`{accessor}`"));
                self.deprecation(path, *old_deprecated, *new_deprecated, "resource", rust);
            }
        }
    }

    fn schemas(&mut self, old: &Side, new: &Side) {
        let names: BTreeSet<&str> = old.schemas.keys().chain(new.schemas.keys()).copied().collect();
        for name in names {
            match (old.schemas.get(name), new.schemas.get(name)) {
                (Some(o), Some(n)) => self.schema(name, o, n),
                (None, Some(n)) => {
                    let rust = n.rust.map(type_summary).unwrap_or_else(|| "a type".into());
                    self.additive(ChangeKind::SchemaAdded, name, format!("new {rust}"));
                }
                (Some(o), None) => {
                    let rust = o.rust.map(type_summary).unwrap_or_else(|| "its type".into());
                    self.breaking(ChangeKind::SchemaRemoved, name, format!("{rust} removed"));
                }
                (None, None) => {}
            }
        }
    }

    fn schema(&mut self, name: &str, o: &SchemaEntry, n: &SchemaEntry) {
        let mut explained: Vec<&str> = Vec::new();
        let (old_rust, new_rust) = (o.rust.map(type_summary), n.rust.map(type_summary));
        let (old_json, new_json) = (json_type(o.json), json_type(n.json));
        if old_rust != new_rust {
            let show = |s: Option<String>| s.unwrap_or_else(|| "no type".into());
            let rust = format!("Rust {} -> {}", show(old_rust), show(new_rust));
            let detail = if old_json != new_json { format!("`{old_json}` -> `{new_json}`; {rust}") } else { rust };
            self.breaking(ChangeKind::SchemaChanged, name, detail);
            explained.extend(SHAPE);
            explained.extend(ENUM);
        } else if old_json != new_json {
            let detail = format!("JSON type `{old_json}` -> `{new_json}`; the Rust type is unchanged");
            self.additive(ChangeKind::SchemaChanged, name, detail);
            explained.extend(SHAPE);
        }
        let rust = match n.rust {
            Some(TypeDef::Struct(s)) => Some(format!("`{}`", s.name)),
            _ => None,
        };
        if self.deprecation(name, o.json.deprecated, n.json.deprecated, "schema", rust) {
            explained.push("deprecated");
        }
        let enums = (enum_def(o.rust), enum_def(n.rust));
        self.enum_values(name, o.json, n.json, enums, &mut explained);
        self.other(name, o.raw, n.raw, &explained);
    }

    fn fields(&mut self, old: &Side, new: &Side) {
        let paths: BTreeSet<&String> = old.fields.keys().chain(new.fields.keys()).collect();
        for path in paths {
            match (old.fields.get(path), new.fields.get(path)) {
                (Some(o), Some(n)) => self.field(path, o, n, old, new),
                // Members of a new schema or field come with it.
                (None, Some(n)) if old.has_item(&n.parent) => {
                    let rust = match n.rust {
                        Some((owner, f)) => format!("; Rust `{owner}::{}: {}`", f.name, field_type(f)),
                        None => String::new(),
                    };
                    self.additive(ChangeKind::FieldAdded, path, format!("`{}`{rust}", json_type(n.json)));
                }
                (Some(o), None) if new.has_item(&o.parent) => {
                    let rust = match o.rust {
                        Some((owner, f)) => format!("Rust `{owner}::{}` removed", f.name),
                        None => "removed".to_owned(),
                    };
                    self.breaking(ChangeKind::FieldRemoved, path, rust);
                }
                _ => {}
            }
        }
    }

    fn field(&mut self, path: &str, o: &FieldEntry, n: &FieldEntry, old: &Side, new: &Side) {
        let mut explained: Vec<&str> = Vec::new();
        let (old_rust, new_rust) = (o.rust.map(|(_, f)| field_type(f)), n.rust.map(|(_, f)| field_type(f)));
        let (old_json, new_json) = (json_type(o.json), json_type(n.json));
        let item = n.rust.map(|(owner, f)| format!("`{owner}::{}`", f.name)).unwrap_or_else(|| "the field".into());
        if old_rust != new_rust {
            let rust = format!("Rust {item}: `{}` -> `{}`", old_rust.unwrap_or_default(), new_rust.unwrap_or_default());
            let detail = if old_json != new_json { format!("`{old_json}` -> `{new_json}`; {rust}") } else { rust };
            self.breaking(ChangeKind::FieldRetyped, path, detail);
            explained.extend(SHAPE);
            if innermost(o.json).enum_values.is_empty() != innermost(n.json).enum_values.is_empty() {
                explained.extend(ENUM);
            }
        } else if old_json != new_json {
            let detail = format!(
                "JSON type `{old_json}` -> `{new_json}`; the Rust type stays `{}`",
                new_rust.unwrap_or_default()
            );
            self.additive(ChangeKind::FieldChanged, path, detail);
            explained.extend(SHAPE);
        }
        if let (Some((old_owner, of)), Some((new_owner, nf))) = (o.rust, n.rust) {
            if of.name != nf.name {
                let detail = format!("Rust field `{old_owner}::{}` renamed to `{new_owner}::{}`", of.name, nf.name);
                self.breaking(ChangeKind::FieldChanged, path, detail);
            }
        }
        let rust = n.rust.map(|_| item.clone());
        if self.deprecation(path, o.json.deprecated, n.json.deprecated, "field", rust) {
            explained.push("deprecated");
        }
        match (o.json.read_only, n.json.read_only) {
            (false, true) => {
                let detail = "now output only: set by the service, ignored in requests";
                self.additive(ChangeKind::FieldChanged, path, detail);
                explained.push("readOnly");
            }
            (true, false) => {
                self.additive(ChangeKind::FieldChanged, path, "no longer output only: requests may set it");
                explained.push("readOnly");
            }
            _ => {}
        }
        let enums = (old.enum_of(o.rust.map(|(_, f)| &f.ty)), new.enum_of(n.rust.map(|(_, f)| &f.ty)));
        self.enum_values(path, innermost(o.json), innermost(n.json), enums, &mut explained);
        self.other(path, o.raw, n.raw, &explained);
    }

    /// Values added, removed, renamed in Rust, deprecated or reordered, when both sides
    /// are enums (a value list appearing or disappearing is a retype).
    fn enum_values(
        &mut self,
        subject: &str,
        old: &JsonSchema,
        new: &JsonSchema,
        (old_enum, new_enum): (Option<&ir::Enum>, Option<&ir::Enum>),
        explained: &mut Vec<&str>,
    ) {
        if old.enum_values.is_empty() || new.enum_values.is_empty() {
            return;
        }
        let before = self.changes.len();
        fn variant<'e>(e: Option<&'e ir::Enum>, wire: &str) -> Option<(&'e str, &'e str)> {
            let e = e?;
            e.variants.iter().find(|v| v.wire == wire).map(|v| (e.name.as_str(), v.name.as_str()))
        }
        let rust = |e: Option<&ir::Enum>, wire: &str| match variant(e, wire) {
            Some((ty, name)) => format!(" (`{ty}::{name}`)"),
            None => String::new(),
        };
        let position = |values: &[String], wire: &str| values.iter().position(|v| v == wire);
        for (i, value) in old.enum_values.iter().enumerate() {
            let Some(j) = position(&new.enum_values, value) else {
                self.breaking(
                    ChangeKind::EnumValueRemoved,
                    subject,
                    format!("`{value}` removed{}", rust(old_enum, value)),
                );
                continue;
            };
            if let (Some((_, a)), Some((_, b))) = (variant(old_enum, value), variant(new_enum, value)) {
                if a != b {
                    let detail = format!("Rust variant for `{value}` renamed `{a}` -> `{b}`");
                    self.breaking(ChangeKind::EnumChanged, subject, detail);
                }
            }
            let was = old.enum_deprecated.get(i).copied().unwrap_or(false);
            let is = new.enum_deprecated.get(j).copied().unwrap_or(false);
            let item = variant(new_enum, value).map(|(ty, name)| format!("`{ty}::{name}`"));
            self.deprecation(subject, was, is, &format!("value `{value}`"), item);
        }
        for value in &new.enum_values {
            if position(&old.enum_values, value).is_none() {
                self.additive(ChangeKind::EnumValueAdded, subject, format!("`{value}` added{}", rust(new_enum, value)));
            }
        }
        let common = |from: &[String], other: &[String]| -> Vec<String> {
            from.iter().filter(|v| other.contains(v)).cloned().collect()
        };
        if common(&old.enum_values, &new.enum_values) != common(&new.enum_values, &old.enum_values) {
            let ty = new_enum.map(|e| format!(" of `{}`", e.name)).unwrap_or_default();
            let detail = format!("values reordered: the variant order and derived `Ord`{ty} follow");
            self.additive(ChangeKind::EnumChanged, subject, detail);
        }
        if self.changes.len() > before {
            explained.extend(ENUM);
        }
    }

    fn methods(&mut self, old: &Side, new: &Side) {
        let ids: BTreeSet<&String> = old.methods.keys().chain(new.methods.keys()).collect();
        for id in ids {
            match (old.methods.get(id), new.methods.get(id)) {
                (Some(o), Some(n)) => self.method(id, o, n, old, new),
                (None, Some(n)) => {
                    let rust = n.rust.map(|m| format!("; Rust `{}()` -> `{}`", n.call, m.builder)).unwrap_or_default();
                    let detail = format!("`{} {}`{rust}", n.json.http_method.to_ascii_uppercase(), n.json.path);
                    self.additive(ChangeKind::MethodAdded, id, detail);
                }
                (Some(o), None) => {
                    let rust = o
                        .rust
                        .map(|m| format!("; Rust `{}()` and `{}` removed", o.call, m.builder))
                        .unwrap_or_default();
                    let detail = format!("`{} {}`{rust}", o.json.http_method.to_ascii_uppercase(), o.json.path);
                    self.breaking(ChangeKind::MethodRemoved, id, detail);
                }
                (None, None) => {}
            }
        }
    }

    fn method(&mut self, id: &str, o: &MethodEntry, n: &MethodEntry, old: &Side, new: &Side) {
        use ChangeKind::MethodChanged;
        let mut explained: Vec<&str> = Vec::new();
        let request_line = |m: &MethodEntry| format!("{} {}", m.json.http_method.to_ascii_uppercase(), m.json.path);
        if request_line(o) != request_line(n) {
            let detail =
                format!("`{}` -> `{}`: the same call sends a different request", request_line(o), request_line(n));
            self.breaking(MethodChanged, id, detail);
            explained.extend(["httpMethod", "path"]);
        }
        if o.call != n.call {
            self.breaking(MethodChanged, id, format!("Rust call `{}()` -> `{}()`", o.call, n.call));
        }
        let (Some(om), Some(nm)) = (o.rust, n.rust) else {
            self.other(id, o.raw, n.raw, &explained);
            return;
        };
        if om.builder != nm.builder {
            self.breaking(MethodChanged, id, format!("builder type `{}` -> `{}`", om.builder, nm.builder));
        }

        let body = |m: &Method| m.body.as_ref().map(|b| rust_type(&b.ty));
        match (body(om), body(nm)) {
            (a, b) if a == b => {
                let json = |m: &MethodEntry| m.json.request.as_ref().map(json_type);
                if json(o) != json(n) {
                    let detail = format!(
                        "JSON `{}` -> `{}`; the Rust type is unchanged",
                        json(o).unwrap_or_default(),
                        json(n).unwrap_or_default()
                    );
                    self.additive(ChangeKind::Request, id, detail);
                    explained.push("request");
                }
            }
            (Some(a), Some(b)) => {
                self.breaking(ChangeKind::Request, id, format!("request body `{a}` -> `{b}`"));
                explained.push("request");
            }
            (None, Some(b)) => {
                let detail = format!("now takes a request body `{b}`: a new argument of `{}()`", n.call);
                self.breaking(ChangeKind::Request, id, detail);
                explained.push("request");
            }
            (Some(a), None) => {
                let detail = format!("no longer takes a request body (`{a}`): an argument of `{}()` is gone", o.call);
                self.breaking(ChangeKind::Request, id, detail);
                explained.push("request");
            }
            (None, None) => {}
        }

        let response = |m: &Method| m.response.as_ref().map(rust_type);
        match (response(om), response(nm)) {
            (a, b) if a == b => {
                let json = |m: &MethodEntry| m.json.response.as_ref().map(json_type);
                if json(o) != json(n) {
                    let detail = format!(
                        "JSON `{}` -> `{}`; the Rust type is unchanged",
                        json(o).unwrap_or_default(),
                        json(n).unwrap_or_default()
                    );
                    self.additive(ChangeKind::Response, id, detail);
                    explained.push("response");
                }
            }
            (a, b) => {
                let show = |t: Option<String>| t.map(|t| format!("`{t}`")).unwrap_or_else(|| "nothing".into());
                self.breaking(ChangeKind::Response, id, format!("returns {} -> {}", show(a), show(b)));
                explained.push("response");
            }
        }

        match (&om.paging, &nm.paging) {
            (Some(_), None) => self.breaking(MethodChanged, id, "no longer pages: `by_page()` and `by_item()` removed"),
            (None, Some(_)) => self.additive(MethodChanged, id, "now pages: new `by_page()` and `by_item()`"),
            (Some(a), Some(b)) => {
                let items = |p: &ir::Paging| p.items.as_ref().map(|(_, t)| rust_type(t)).unwrap_or_else(|| "()".into());
                if items(a) != items(b) {
                    self.breaking(MethodChanged, id, format!("page items `{}` -> `{}`", items(a), items(b)));
                }
            }
            (None, None) => {}
        }

        match (&om.media_upload, &nm.media_upload) {
            (Some(_), None) => {
                self.breaking(MethodChanged, id, "no longer supports media upload: `upload()` removed");
                explained.extend(["supportsMediaUpload", "mediaUpload"]);
            }
            (None, Some(_)) => {
                self.additive(MethodChanged, id, "now supports media upload: new `upload()`");
                explained.extend(["supportsMediaUpload", "mediaUpload"]);
            }
            (Some(a), Some(b)) if a != b => {
                let detail = format!(
                    "media upload changed (paths {:?}/{:?} -> {:?}/{:?}, accept {:?} -> {:?}, max size {:?} -> {:?}): \
                     uploads are sent or checked differently",
                    a.simple_path,
                    a.resumable_path,
                    b.simple_path,
                    b.resumable_path,
                    a.accept,
                    b.accept,
                    a.max_size,
                    b.max_size
                );
                self.breaking(MethodChanged, id, detail);
                explained.extend(["supportsMediaUpload", "mediaUpload"]);
            }
            _ => {}
        }
        match (om.media_download, nm.media_download) {
            (true, false) => {
                self.breaking(MethodChanged, id, "no longer supports media download: `download()` removed")
            }
            (false, true) => self.additive(MethodChanged, id, "now supports media download: new `download()`"),
            _ => {}
        }
        if om.media_download != nm.media_download {
            explained.push("supportsMediaDownload");
        }

        let old_scopes: BTreeSet<&String> = om.scopes.iter().collect();
        let new_scopes: BTreeSet<&String> = nm.scopes.iter().collect();
        let dropped: Vec<&String> = old_scopes.difference(&new_scopes).copied().collect();
        let added: Vec<&String> = new_scopes.difference(&old_scopes).copied().collect();
        if !dropped.is_empty() {
            let detail =
                format!("no longer accepts {}: a token that carries only those scopes is refused", code_list(dropped));
            self.breaking(ChangeKind::MethodScopes, id, detail);
            explained.push("scopes");
        }
        if !added.is_empty() {
            self.additive(ChangeKind::MethodScopes, id, format!("also accepts {}", code_list(added)));
            explained.push("scopes");
        }

        let rust = n.rust.map(|_| format!("`{}()`", n.call));
        if self.deprecation(id, o.json.deprecated, n.json.deprecated, "method", rust) {
            explained.push("deprecated");
        }

        let before = self.changes.len();
        let wires: BTreeSet<&str> = o.params.keys().chain(n.params.keys()).copied().collect();
        for wire in wires {
            let subject = format!("{id}({wire})");
            match (o.params.get(wire), n.params.get(wire)) {
                (Some(op), Some(np)) => self.param(&subject, op, np, o, n, old, new),
                (None, Some(np)) => match np.rust {
                    Some((Role::OptionalQuery, p)) => {
                        let detail = format!("optional; Rust setter `.{}()` taking {}", p.ident, param_type(p));
                        self.additive(ChangeKind::ParamAdded, &subject, detail);
                    }
                    Some((role, p)) => {
                        let detail = format!(
                            "required {} parameter: a new argument `{}` ({}) of `{}()`",
                            if role == Role::Path { "path" } else { "query" },
                            p.ident,
                            param_type(p),
                            n.call
                        );
                        self.breaking(ChangeKind::ParamAdded, &subject, detail);
                    }
                    None => self.additive(ChangeKind::ParamAdded, &subject, "added"),
                },
                (Some(op), None) => {
                    let detail = match op.rust {
                        Some((Role::OptionalQuery, p)) => format!("setter `.{}()` removed", p.ident),
                        Some((_, p)) => format!("argument `{}` of `{}()` removed", p.ident, o.call),
                        None => "removed".to_owned(),
                    };
                    self.breaking(ChangeKind::ParamRemoved, &subject, detail);
                }
                (None, None) => {}
            }
        }

        // Arguments are positional: the same arguments in another order may still compile.
        let arguments = |m: &Method| -> Vec<String> {
            let mut args: Vec<String> = m.path_params.iter().map(|p| p.wire.clone()).collect();
            args.extend(m.body.as_ref().map(|_| "(request body)".to_owned()));
            args.extend(m.required_query.iter().map(|p| p.wire.clone()));
            args
        };
        let (old_args, new_args) = (arguments(om), arguments(nm));
        let common = |from: &[String], other: &[String]| -> Vec<String> {
            from.iter().filter(|a| other.contains(a)).cloned().collect()
        };
        let (old_order, new_order) = (common(&old_args, &new_args), common(&new_args, &old_args));
        if old_order != new_order {
            let detail =
                format!("arguments of `{}()` reordered: {} -> {}", n.call, old_order.join(", "), new_order.join(", "));
            self.breaking(MethodChanged, id, detail);
        }
        if self.changes.len() > before {
            explained.push("parameterOrder");
        }
        self.other(id, o.raw, n.raw, &explained);
    }

    #[allow(clippy::too_many_arguments)]
    fn param(
        &mut self,
        subject: &str,
        o: &ParamEntry,
        n: &ParamEntry,
        om: &MethodEntry,
        nm: &MethodEntry,
        old: &Side,
        new: &Side,
    ) {
        let mut explained: Vec<&str> = Vec::new();
        let (Some((old_role, op)), Some((new_role, np))) = (o.rust, n.rust) else {
            self.other(subject, o.raw, n.raw, &explained);
            return;
        };
        let same_flags = o.json.required == n.json.required && o.json.location == n.json.location;
        let because = |now: bool| {
            if same_flags {
                let says = if now { "now starts" } else { "no longer starts" };
                format!(" (its description {says} with `Required.`)")
            } else {
                String::new()
            }
        };
        use Role::{OptionalQuery, Path, RequiredQuery};
        match (old_role, new_role) {
            (OptionalQuery, Path | RequiredQuery) => {
                let detail = format!(
                    "now required: an argument `{}` of `{}()` instead of the setter `.{}()`{}",
                    np.ident,
                    nm.call,
                    op.ident,
                    because(true)
                );
                self.breaking(ChangeKind::ParamMadeRequired, subject, detail);
                explained.extend(["required", "location"]);
            }
            (Path | RequiredQuery, OptionalQuery) => {
                let detail = format!(
                    "now optional: the argument `{}` of `{}()` is gone, set it with `.{}()`{}",
                    op.ident,
                    om.call,
                    np.ident,
                    because(false)
                );
                self.breaking(ChangeKind::ParamMadeOptional, subject, detail);
                explained.extend(["required", "location"]);
            }
            (Path, RequiredQuery) | (RequiredQuery, Path) => {
                let (from, to) = if old_role == Path { ("path", "query") } else { ("query", "path") };
                self.breaking(ChangeKind::ParamChanged, subject, format!("moved from the {from} to the {to}"));
                explained.extend(["required", "location"]);
            }
            (OptionalQuery, OptionalQuery) if op.ident != np.ident => {
                let detail = format!("Rust setter `.{}()` renamed to `.{}()`", op.ident, np.ident);
                self.breaking(ChangeKind::ParamChanged, subject, detail);
            }
            _ => {}
        }

        let (old_rust, new_rust) = (param_type(op), param_type(np));
        let (old_json, new_json) = (json_type(o.json), json_type(n.json));
        if old_rust != new_rust {
            let rust = format!("Rust {old_rust} -> {new_rust}");
            let detail = if old_json != new_json { format!("`{old_json}` -> `{new_json}`; {rust}") } else { rust };
            self.breaking(ChangeKind::ParamRetyped, subject, detail);
            explained.extend(SHAPE);
            explained.push("repeated");
            if o.json.enum_values.is_empty() != n.json.enum_values.is_empty() {
                explained.extend(ENUM);
            }
        } else if old_json != new_json {
            let detail = format!("JSON type `{old_json}` -> `{new_json}`; the Rust type stays {new_rust}");
            self.additive(ChangeKind::ParamChanged, subject, detail);
            explained.extend(SHAPE);
        }

        // The crate checks path parameters against their pattern before sending.
        if old_role == Path && new_role == Path && op.pattern != np.pattern {
            match (&op.pattern, &np.pattern) {
                (Some(a), None) => {
                    self.additive(
                        ChangeKind::ParamChanged,
                        subject,
                        format!("pattern {} dropped: values are no longer checked", code(a)),
                    );
                }
                (a, Some(b)) => {
                    let from = a.as_deref().map(code).unwrap_or_else(|| "(none)".into());
                    let detail = format!("pattern {from} -> {}: values are checked against it before sending", code(b));
                    self.breaking(ChangeKind::ParamChanged, subject, detail);
                }
                (None, None) => {}
            }
            explained.push("pattern");
        }

        // Only setters carry the attribute: an argument cannot.
        let rust = (new_role == OptionalQuery).then(|| format!("`.{}()`", np.ident));
        if self.deprecation(subject, o.json.deprecated, n.json.deprecated, "parameter", rust) {
            explained.push("deprecated");
        }
        let enums = (old.enum_of(Some(&op.ty)), new.enum_of(Some(&np.ty)));
        self.enum_values(subject, innermost(o.json), innermost(n.json), enums, &mut explained);
        self.other(subject, o.raw, n.raw, &explained);
    }
}

fn enum_def(def: Option<&TypeDef>) -> Option<&ir::Enum> {
    match def {
        Some(TypeDef::Enum(e)) => Some(e),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_ignore_prose_and_spelled_out_defaults() {
        let a = serde_json::json!({"type": "string", "description": "x", "deprecated": false, "enum": ["A", "B"],
                                   "enumDeprecated": [false, false], "items": {"format": "int64", "description": "y"}});
        let b = serde_json::json!({"type": "string", "enum": ["A", "B"], "items": {"format": "int64"}, "scopes": []});
        assert_eq!(attributes(&a), attributes(&b));
        let keys: Vec<String> = attributes(&a).into_keys().collect();
        assert_eq!(keys, ["enum", "items.format", "type"]);
        let c = serde_json::json!({"enumDeprecated": [false, true, false]});
        assert_eq!(attributes(&c)["enumDeprecated"], serde_json::json!([false, true]));
    }

    #[test]
    fn shape_attributes_are_explained_under_arrays_and_maps_only() {
        assert!(explains(SHAPE, "items.additionalProperties.format"));
        assert!(explains(SHAPE, "type"));
        assert!(!explains(SHAPE, "mediaUpload.protocols.simple.path"));
        assert!(!explains(SHAPE, "annotations.type"));
        assert!(explains(&["mediaUpload"], "mediaUpload.protocols.simple.path"));
        assert!(!explains(&["path"], "mediaUpload.protocols.simple.path"));
        assert!(!explains(&["request"], "requestX"));
    }

    #[test]
    fn json_types_are_short() {
        let schema: JsonSchema = serde_json::from_value(serde_json::json!(
            {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "string", "format": "int64"}}}
        ))
        .unwrap();
        assert_eq!(json_type(&schema), "array<map<string(int64)>>");
    }
}
