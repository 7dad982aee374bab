//! Each document indexed by the names the report uses, beside what the IR made of it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::discovery::{self, JsonSchema, ParseError, RestDescription, RestMethod, RestResource};
use crate::ir::{self, Api, Field, Method, Param, ResolveError, Resource, Struct, Type, TypeDef};

pub(super) struct Loaded {
    pub doc: RestDescription,
    pub api: Api,
    pub raw: Value,
}

impl Loaded {
    pub fn new(json: &str, which: &str) -> Result<Self, crate::Error> {
        let doc = discovery::parse(json)
            .map_err(|e| ParseError { path: e.path, message: format!("{} (in the {which} document)", e.message) })?;
        let api = ir::resolve(&doc)
            .map_err(|e| ResolveError { path: e.path, message: format!("{} (in the {which} document)", e.message) })?;
        let raw = serde_json::from_str(json).map_err(|e| ParseError { path: ".".into(), message: e.to_string() })?;
        Ok(Loaded { doc, api, raw })
    }
}

pub(super) struct SchemaEntry<'a> {
    pub json: &'a JsonSchema,
    pub raw: &'a Value,
    /// The type the IR made of the schema.
    pub rust: Option<&'a TypeDef>,
}

pub(super) struct FieldEntry<'a> {
    /// Path of the schema or field this is a member of.
    pub parent: String,
    pub json: &'a JsonSchema,
    pub raw: &'a Value,
    /// The Rust struct and its field.
    pub rust: Option<(&'a str, &'a Field)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    Path,
    RequiredQuery,
    OptionalQuery,
}

pub(super) struct ParamEntry<'a> {
    pub json: &'a JsonSchema,
    pub raw: &'a Value,
    pub rust: Option<(Role, &'a Param)>,
}

pub(super) struct MethodEntry<'a> {
    pub json: &'a RestMethod,
    pub raw: &'a Value,
    pub rust: Option<&'a Method>,
    /// The constructor as called on the client: `people().connections().list`.
    pub call: String,
    pub params: BTreeMap<&'a str, ParamEntry<'a>>,
}

pub(super) struct Side<'a> {
    pub api: &'a Api,
    pub schemas: BTreeMap<&'a str, SchemaEntry<'a>>,
    pub fields: BTreeMap<String, FieldEntry<'a>>,
    pub methods: BTreeMap<String, MethodEntry<'a>>,
    /// Resource path (`people.connections`) to whether it is deprecated, and its accessor
    /// as called on the client (`people().connections()`).
    pub resources: BTreeMap<String, (bool, String)>,
}

static NULL: Value = Value::Null;

pub(super) fn member<'a>(value: &'a Value, key: &str) -> &'a Value {
    value.get(key).unwrap_or(&NULL)
}

impl<'a> Side<'a> {
    pub fn new(loaded: &'a Loaded) -> Self {
        let (doc, api, raw) = (&loaded.doc, &loaded.api, &loaded.raw);
        let raw_schemas = member(raw, "schemas");
        let schemas: BTreeMap<&str, SchemaEntry> = doc
            .schemas
            .iter()
            .map(|(key, schema)| {
                (key.as_str(), SchemaEntry { json: schema, raw: member(raw_schemas, key), rust: api.schema_type(key) })
            })
            .collect();
        let mut fields = BTreeMap::new();
        for (key, entry) in &schemas {
            let owner = match entry.rust {
                Some(TypeDef::Struct(s)) => Some(s),
                Some(TypeDef::Alias(alias)) => struct_of(api, &alias.ty),
                _ => None,
            };
            collect_fields(api, &mut fields, key, owner, entry.json, entry.raw);
        }
        let mut side = Side { api, schemas, fields, methods: BTreeMap::new(), resources: BTreeMap::new() };
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

    pub fn has_item(&self, path: &str) -> bool {
        self.schemas.contains_key(path) || self.fields.contains_key(path)
    }

    /// The enum a field or parameter holds, under any arrays and maps.
    pub fn enum_of(&self, ty: Option<&Type>) -> Option<&'a ir::Enum> {
        match ty?.unwrapped().0 {
            Type::Named(name) => match self.api.find_type(name) {
                Some(TypeDef::Enum(e)) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The struct a value of type `ty` is, or holds under arrays and maps.
fn struct_of<'a>(api: &'a Api, ty: &Type) -> Option<&'a Struct> {
    match ty.unwrapped().0 {
        Type::Named(name) => match api.find_type(name) {
            Some(TypeDef::Struct(s)) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// Members of an object schema, through arrays and maps, recursively, each beside the
/// field the IR made of it: `owner` is the struct the IR made of `schema`.
fn collect_fields<'a>(
    api: &'a Api,
    out: &mut BTreeMap<String, FieldEntry<'a>>,
    path: &str,
    owner: Option<&'a Struct>,
    mut schema: &'a JsonSchema,
    mut raw: &'a Value,
) {
    while schema.reference.is_none() && schema.properties.is_empty() {
        if let Some(items) = &schema.items {
            (schema, raw) = (items, member(raw, "items"));
        } else if let Some(values) = &schema.additional_properties {
            (schema, raw) = (values, member(raw, "additionalProperties"));
        } else {
            return;
        }
    }
    // Members of a referenced schema are reported under that schema.
    if schema.reference.is_some() {
        return;
    }
    let raw_properties = member(raw, "properties");
    for (wire, property) in &schema.properties {
        let field_path = format!("{path}.{wire}");
        let field = owner.and_then(|s| s.fields.iter().find(|f| f.wire == *wire));
        let rust = owner.zip(field).map(|(s, f)| (s.name.as_str(), f));
        let raw_property = member(raw_properties, wire);
        out.insert(field_path.clone(), FieldEntry { parent: path.to_owned(), json: property, raw: raw_property, rust });
        let inner = field.and_then(|f| struct_of(api, &f.ty));
        collect_fields(api, out, &field_path, inner, property, raw_property);
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
pub(super) fn innermost(mut schema: &JsonSchema) -> &JsonSchema {
    while schema.reference.is_none() && schema.properties.is_empty() && schema.enum_values.is_empty() {
        match (&schema.items, &schema.additional_properties) {
            (Some(inner), _) | (None, Some(inner)) => schema = inner,
            (None, None) => break,
        }
    }
    schema
}
