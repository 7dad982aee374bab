//! The comparison: every difference between the two sides, classified.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::index::{innermost, FieldEntry, MethodEntry, ParamEntry, Role, SchemaEntry, Side};
use super::{code, code_list, Change, ChangeKind, Impact};
use crate::discovery::JsonSchema;
use crate::ir::{self, Argument, Method, Param, Requirement, Spelling, TypeDef, BY_ITEM, BY_PAGE, DOWNLOAD, UPLOAD};

// ---------------------------------------------------------------------------------------
// Types in the report's words: the Rust side as the IR spells it, the JSON side in short.

/// In code spans already: `` `i32` `` or `` `ReadSourceType` (repeated) ``.
fn param_type(param: &Param) -> String {
    let ty = code(&param.ty.spell(Spelling::Short));
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
        TypeDef::Alias(a) => format!("type alias `{} = {}`", a.name, a.ty.spell(Spelling::Short)),
        other => format!("`{}`", other.name()),
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

/// Every difference between `old` and `new`, unsorted.
pub(super) fn changes(old: &Side, new: &Side) -> Vec<Change> {
    let mut diff = Diff::default();
    diff.api(old, new);
    diff.schemas(old, new);
    diff.fields(old, new);
    diff.methods(old, new);
    diff.changes
}

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
                        Some((owner, f)) => {
                            format!("; Rust `{owner}::{}: {}`", f.name, f.declared_type(Spelling::Short))
                        }
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
        let (old_rust, new_rust) = (
            o.rust.map(|(_, f)| f.declared_type(Spelling::Short)),
            n.rust.map(|(_, f)| f.declared_type(Spelling::Short)),
        );
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
            if let (Some((_, a)), Some((ty, b))) = (variant(old_enum, value), variant(new_enum, value)) {
                if a != b {
                    let mut detail = format!("Rust variant for `{value}` renamed `{a}` -> `{b}`");
                    // Worse than a name that is gone: one that now means another value.
                    let taken = new_enum.and_then(|e| e.variants.iter().find(|v| v.name == a));
                    if let Some(other) = taken {
                        detail.push_str(&format!(
                            "; `{ty}::{a}` is now `{}`: code that used it still compiles and means the other value",
                            other.wire
                        ));
                    }
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
                // Additive: generated enums are `#[non_exhaustive]`. Code that looked for
                // the value in the catch-all no longer finds it there.
                let was = old_enum
                    .map(|e| format!("; read until now as `{}::{}({value:?})`", e.name, e.unknown_variant))
                    .unwrap_or_default();
                let detail = format!("`{value}` added{}{was}", rust(new_enum, value));
                self.additive(ChangeKind::EnumValueAdded, subject, detail);
            }
        }
        if let (Some(a), Some(b)) = (old_enum, new_enum) {
            if a.unknown_variant != b.unknown_variant {
                let detail = format!(
                    "the variant for values the crate does not know renamed `{}` -> `{}`",
                    a.unknown_variant, b.unknown_variant
                );
                self.breaking(ChangeKind::EnumChanged, subject, detail);
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

        let body = |m: &Method| m.body.as_ref().map(|b| b.ty.spell(Spelling::Short));
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

        let response = |m: &Method| m.response.as_ref().map(|t| t.spell(Spelling::Short));
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
            (Some(_), None) => {
                self.breaking(MethodChanged, id, format!("no longer pages: `{BY_PAGE}()` and `{BY_ITEM}()` removed"))
            }
            (None, Some(_)) => {
                self.additive(MethodChanged, id, format!("now pages: new `{BY_PAGE}()` and `{BY_ITEM}()`"))
            }
            (Some(a), Some(b)) => {
                let items = |p: &ir::Paging| {
                    p.items.as_ref().map(|(_, t)| t.spell(Spelling::Short)).unwrap_or_else(|| "()".into())
                };
                if items(a) != items(b) {
                    self.breaking(MethodChanged, id, format!("page items `{}` -> `{}`", items(a), items(b)));
                }
            }
            (None, None) => {}
        }

        match (&om.media_upload, &nm.media_upload) {
            (Some(_), None) => {
                self.breaking(MethodChanged, id, format!("no longer supports media upload: `{UPLOAD}()` removed"));
                explained.extend(["supportsMediaUpload", "mediaUpload"]);
            }
            (None, Some(_)) => {
                self.additive(MethodChanged, id, format!("now supports media upload: new `{UPLOAD}()`"));
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
                self.breaking(MethodChanged, id, format!("no longer supports media download: `{DOWNLOAD}()` removed"))
            }
            (false, true) => {
                self.additive(MethodChanged, id, format!("now supports media download: new `{DOWNLOAD}()`"))
            }
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
            m.arguments()
                .map(|argument| match argument {
                    Argument::Path(p) | Argument::Query(p) => p.wire.clone(),
                    Argument::Body(_) => "(request body)".to_owned(),
                })
                .collect()
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
        // The IR says why a parameter is required; the description is the one reason the
        // attributes do not show.
        let because = |param: &Param, says: &str| match param.requirement {
            Some(Requirement::Description) => format!(" (its description {says} with `Required.`)"),
            _ => String::new(),
        };
        use Role::{OptionalQuery, Path, RequiredQuery};
        match (old_role, new_role) {
            (OptionalQuery, Path | RequiredQuery) => {
                let detail = format!(
                    "now required: an argument `{}` of `{}()` instead of the setter `.{}()`{}",
                    np.ident,
                    nm.call,
                    op.ident,
                    because(np, "now starts")
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
                    because(op, "no longer starts")
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
