//! Stage 2: resolve a Discovery document into the API that will be emitted.
//!
//! Every decision lives here, once: Rust names (keywords, prelude clashes, collisions
//! after case conversion), the Rust type of every type/format pair, which inline objects
//! and enums become named types, where recursion needs a `Box`, which parameters are
//! arguments and which are setters, which methods page, and how media is uploaded. The
//! emitter only reads the result.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use crate::discovery::{JsonSchema, RestDescription, RestMethod, RestResource};
use crate::naming::{self, Namespace};
use crate::runtime_contract;

/// The API to emit.
#[derive(Clone, Debug)]
pub struct Api {
    pub name: String,
    pub version: String,
    pub revision: String,
    pub title: String,
    pub description: String,
    pub documentation_link: String,
    pub root_url: String,
    pub service_path: String,
    /// The `apiVersion` sent as `x-goog-api-version`: the document's, or the one all its
    /// methods share (compute states it per method).
    pub api_version: Option<String>,
    /// Package name, e.g. `google-people-v1`.
    pub crate_name: String,
    /// The client type, e.g. `PeopleClient`.
    pub client_name: String,
    pub scopes: Vec<Scope>,
    /// Every named type, sorted by Rust name.
    pub types: Vec<TypeDef>,
    /// Each schema of the document (by its key) and the type it became.
    pub schemas: BTreeMap<String, TypeId>,
    /// Top-level methods and resources; its `struct_name` is the client's.
    pub root: Resource,
    /// Number of schemas in the document.
    pub schema_count: usize,
    /// Whether a path parameter's pattern is of a form only a regex engine checks, so that
    /// the crate needs the runtime's regex feature
    /// ([`REGEX_FEATURE`](crate::runtime_contract::REGEX_FEATURE)).
    pub needs_regex: bool,
    /// An upper bound of how deep a value nests, in types inside one another and the
    /// arrays and maps between them: rustc and rustdoc follow such chains by recursion.
    pub type_nesting: usize,
}

/// A type of [`Api::types`], by its position there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TypeId(pub usize);

impl Api {
    pub fn type_def(&self, id: TypeId) -> &TypeDef {
        &self.types[id.0]
    }

    /// The generated type with this Rust name.
    pub fn find_type(&self, name: &str) -> Option<&TypeDef> {
        self.types.binary_search_by(|t| t.name().cmp(name)).ok().map(|i| &self.types[i])
    }

    /// The type a schema of the document became, by the schema's key.
    pub fn schema_type(&self, key: &str) -> Option<&TypeDef> {
        self.schemas.get(key).map(|&id| self.type_def(id))
    }

    /// Every method, depth first in emission order.
    pub fn methods(&self) -> Vec<&Method> {
        let mut out = Vec::new();
        collect_methods(&self.root, &mut out);
        out
    }
}

/// The methods of `resource` and its children, depth first in emission order.
fn collect_methods<'a>(resource: &'a Resource, out: &mut Vec<&'a Method>) {
    out.extend(&resource.methods);
    for child in &resource.children {
        collect_methods(child, out);
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub url: String,
    pub description: String,
    pub const_name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeDef {
    Struct(Struct),
    Enum(Enum),
    Alias(Alias),
    /// The field names a field-mask parameter accepts, from its description's list of
    /// valid values: a typo in a mask becomes a compile error.
    MaskFields(MaskFields),
}

impl TypeDef {
    pub fn name(&self) -> &str {
        match self {
            TypeDef::Struct(s) => &s.name,
            TypeDef::Enum(e) => &e.name,
            TypeDef::Alias(a) => &a.name,
            TypeDef::MaskFields(m) => &m.name,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Struct {
    pub name: String,
    pub doc: String,
    pub deprecated: bool,
    pub fields: Vec<Field>,
    /// Name of the field that keeps JSON members this version does not know.
    pub unknown_fields: String,
    /// Some method takes the type as its request body, so it gets the runtime's body
    /// encoding (`JsonBody`), which compiles the writer of every type reachable from it.
    pub request_body: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Rust identifier, possibly raw (`r#type`).
    pub name: String,
    /// The JSON member name, kept exactly.
    pub wire: String,
    pub ty: Type,
    pub doc: String,
    pub deprecated: bool,
    pub read_only: bool,
    /// The value is a `Box` because the field closes a cycle of direct containment.
    pub boxed: bool,
    /// How serde must be told to write the value, where it differs from serde's own way:
    /// 64-bit integers and floats held directly, in arrays and maps or through aliases.
    pub codec: Option<Codec>,
    /// The format the Discovery document gives, when the Rust type does not show it
    /// (`date-time`, `google-duration`, ...): documented on the field.
    pub format_note: Option<String>,
}

/// A value whose JSON is not what serde writes by itself (see `Field::codec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// 64-bit integers, which travel as JSON strings.
    Int64,
    /// Floats, of which JSON numbers cannot hold NaN and the infinities: those travel as
    /// the strings `"NaN"`, `"Infinity"` and `"-Infinity"` (the proto3 JSON mapping).
    Float,
}

impl Field {
    /// The type the field is declared with: arrays and maps as they are (empty when
    /// absent), anything else in an `Option`, boxed where it closes a cycle.
    pub fn declared_type(&self, spelling: Spelling) -> String {
        let inner = self.ty.spell(spelling);
        match &self.ty {
            Type::Vec(_) | Type::Map(_) | Type::Object => inner,
            _ if self.boxed => format!("Option<Box<{inner}>>"),
            _ => format!("Option<{inner}>"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Enum {
    pub name: String,
    pub doc: String,
    /// For an inline enum, the JSON path of the schema its values come from, which its
    /// doc names (the emitter quotes it, since the path holds the document's own names).
    pub origin: Option<String>,
    pub variants: Vec<Variant>,
    /// The variant that carries values this version does not know.
    pub unknown_variant: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    pub name: String,
    pub wire: String,
    pub doc: String,
    pub deprecated: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MaskFields {
    pub name: String,
    /// Rust variant name and field name, in the order the description lists them.
    pub fields: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Alias {
    pub name: String,
    pub doc: String,
    pub ty: Type,
}

/// A Rust type, as the emitter spells it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    String,
    Bool,
    I32,
    U32,
    /// `int64` on the wire: a JSON string.
    I64,
    /// `uint64` on the wire: a JSON string.
    U64,
    F32,
    F64,
    /// `format: byte`: base64 on the wire.
    Bytes,
    FieldMask,
    /// `type: any`.
    Any,
    /// An object with no declared members: any JSON object.
    Object,
    /// A generated type, by its Rust name.
    Named(String),
    Vec(Box<Type>),
    /// `additionalProperties`: a map from string keys.
    Map(Box<Type>),
}

/// Where a type is spelled, which decides its paths (never its shape): the emitter and the
/// change report print every type through [`Type::spell`] and [`Field::declared_type`], so
/// a report cannot describe a type other than the one generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// In the generated `types` module: generated types by their name.
    TypesModule,
    /// Elsewhere in the generated crate: `crate::types::Name`.
    Crate,
    /// For people reading a report: no paths (`Bytes`, `BTreeMap<String, Person>`).
    Short,
}

impl Spelling {
    fn generated(self) -> &'static str {
        match self {
            Spelling::Crate => "crate::types::",
            Spelling::TypesModule | Spelling::Short => "",
        }
    }

    fn runtime(self) -> String {
        match self {
            Spelling::Short => String::new(),
            _ => format!("{}::", runtime_contract::CRATE),
        }
    }

    fn collections(self) -> &'static str {
        match self {
            Spelling::Short => "",
            _ => "::std::collections::",
        }
    }
}

impl Type {
    /// The type inside this one's arrays and maps (itself when it is neither), and how many
    /// of them hold it.
    pub fn unwrapped(&self) -> (&Type, usize) {
        let (mut ty, mut layers) = (self, 0);
        while let Type::Vec(inner) | Type::Map(inner) = ty {
            ty = inner;
            layers += 1;
        }
        (ty, layers)
    }

    /// The Rust type, as Rust source.
    pub fn spell(&self, spelling: Spelling) -> String {
        match self {
            Type::String => "String".to_owned(),
            Type::Bool => "bool".to_owned(),
            Type::I32 => "i32".to_owned(),
            Type::U32 => "u32".to_owned(),
            Type::I64 => "i64".to_owned(),
            Type::U64 => "u64".to_owned(),
            Type::F32 => "f32".to_owned(),
            Type::F64 => "f64".to_owned(),
            Type::Bytes => format!("{}Bytes", spelling.runtime()),
            Type::FieldMask => format!("{}FieldMask", spelling.runtime()),
            Type::Any => "serde_json::Value".to_owned(),
            Type::Object => format!("{}BTreeMap<String, serde_json::Value>", spelling.collections()),
            Type::Named(name) => format!("{}{name}", spelling.generated()),
            Type::Vec(inner) => format!("Vec<{}>", inner.spell(spelling)),
            Type::Map(inner) => format!("{}BTreeMap<String, {}>", spelling.collections(), inner.spell(spelling)),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// The Discovery name (`connections`); empty for the root.
    pub wire_name: String,
    /// Dotted path from the root (`people.connections`); empty for the root, and for a
    /// resource the document names `""` (tell them apart by `is_root`).
    pub path: String,
    /// The client itself: its handle is the client type, its children are reached from it.
    pub is_root: bool,
    /// The resource handle type, e.g. `PeopleConnectionsResource`.
    pub struct_name: String,
    /// The accessor on the parent, e.g. `connections`.
    pub accessor: String,
    pub deprecated: bool,
    pub methods: Vec<Method>,
    pub children: Vec<Resource>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Method {
    /// The Discovery id, e.g. `people.people.updateContact`.
    pub id: String,
    /// The Discovery name within its resource, e.g. `updateContact`.
    pub wire_name: String,
    /// The constructor on the resource handle, e.g. `update_contact`.
    pub accessor: String,
    /// The request builder type, e.g. `PeopleUpdateContactCall`.
    pub builder: String,
    pub http_method: HttpMethod,
    /// The path template relative to the base URL, e.g. `v1/{+resourceName}:updateContact`.
    pub path: String,
    pub doc: String,
    pub deprecated: bool,
    pub scopes: Vec<String>,
    /// Path parameters in argument order.
    pub path_params: Vec<Param>,
    /// Query parameters the service requires: arguments after the body.
    pub required_query: Vec<Param>,
    /// Optional query parameters: setters on the builder.
    pub optional_query: Vec<Param>,
    pub body: Option<Body>,
    /// The decoded response; `None` when the method returns nothing.
    pub response: Option<Type>,
    pub paging: Option<Paging>,
    pub media_upload: Option<MediaUpload>,
    pub media_download: bool,
    /// The method's `apiVersion` when it differs from [`Api::api_version`].
    pub api_version: Option<String>,
}

/// One argument of a method's constructor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Argument<'m> {
    Path(&'m Param),
    Body(&'m Body),
    /// A query parameter the service requires.
    Query(&'m Param),
}

impl Method {
    /// The constructor's arguments in order: path parameters as `parameterOrder` gives
    /// them, the request body, then the query parameters the service requires.
    pub fn arguments(&self) -> impl Iterator<Item = Argument<'_>> {
        let path = self.path_params.iter().map(Argument::Path);
        let body = self.body.iter().map(Argument::Body);
        path.chain(body).chain(self.required_query.iter().map(Argument::Query))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub wire: String,
    /// Argument or setter name.
    pub ident: String,
    /// A scalar, `FieldMask` or an enum type.
    pub ty: Type,
    pub repeated: bool,
    pub doc: String,
    pub pattern: Option<String>,
    pub deprecated: bool,
    /// For field masks that list their valid values: the generated type naming them.
    pub mask_fields: Option<String>,
    /// Why the parameter is a constructor argument; `None` for a setter.
    pub requirement: Option<Requirement>,
}

/// Why a parameter is required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Path parameters always are.
    Path,
    /// `"required": true`.
    Flag,
    /// The description starts with "Required.", as newer documents say it.
    Description,
}

impl Param {
    /// Whether the argument or setter takes anything that converts into the type (strings
    /// and field masks), rather than the type itself.
    pub fn takes_into(&self) -> bool {
        matches!(self.ty, Type::String | Type::FieldMask)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    pub ty: Type,
    /// Argument name.
    pub arg: String,
    pub encoding: BodyEncoding,
}

/// How a request body becomes JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyEncoding {
    /// A generated object type, through its own `JsonBody` impl: the encoder is compiled
    /// in the generated crate rather than in every caller of the generic constructor.
    Object,
    /// Any other type (an array, a map, a scalar, an enum), through the runtime's writer,
    /// which sends 64-bit integers as strings as generated objects do.
    Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Paging {
    /// The response struct.
    pub response: String,
    /// Field holding `nextPageToken`.
    pub next_page_token: String,
    /// Field holding the page's items, with the item type, when there is one list.
    pub items: Option<(String, Type)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaUpload {
    pub simple_path: Option<String>,
    pub resumable_path: Option<String>,
    pub accept: Vec<String>,
    pub max_size: Option<u64>,
}

/// A document that parsed but cannot become a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    /// Where in the document, e.g. `schemas.Person.properties.names.items.$ref`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot generate a client from the document at `{}`: {}", self.path, self.message)
    }
}

impl std::error::Error for ResolveError {}

fn error(path: impl Into<String>, message: impl Into<String>) -> ResolveError {
    ResolveError { path: path.into(), message: message.into() }
}

/// Methods the emitter writes on builders beside the setters, when the method pages,
/// uploads or downloads. The runtime's `call_options!` adds the others
/// ([`runtime_contract::BUILDER_OPTIONS`] and [`runtime_contract::BUILDER_SENDERS`]).
pub const BY_PAGE: &str = "by_page";
pub const BY_ITEM: &str = "by_item";
pub const UPLOAD: &str = "upload";
pub const DOWNLOAD: &str = "download";
pub const DOWNLOAD_TO: &str = "download_to";

/// The local variable of a method constructor that holds the runtime `Call` being built:
/// no constructor argument may take its name.
pub const CALL_LOCAL: &str = "call";

/// The names of a resource handle's (or the client's) methods, with the methods of std's
/// traits already taken.
fn handle_methods() -> Namespace {
    let mut names = Namespace::new();
    names.reserve(naming::handle_reserved_methods());
    names
}

/// Every name a parameter setter must not take.
fn builder_method_names() -> impl Iterator<Item = &'static str> {
    runtime_contract::BUILDER_OPTIONS.iter().chain(runtime_contract::BUILDER_SENDERS).copied().chain([
        BY_PAGE,
        BY_ITEM,
        UPLOAD,
        DOWNLOAD,
        DOWNLOAD_TO,
    ])
}

/// Resolves a parsed document.
pub fn resolve(document: &RestDescription) -> Result<Api, ResolveError> {
    if let Some(version) = &document.api_version {
        check_api_version(version).map_err(|message| error("apiVersion".to_owned(), message))?;
    }
    let mut resolver = Resolver::new(document);
    resolver.resolve_schemas()?;
    let client_name = naming::type_ident(&format!("{}Client", naming::camel(&document.name, "Api", "Api")));
    let mut root = resolver.resolve_resource_tree(&client_name)?;
    let (root_url, service_path) = root_and_service_path(document);
    let api_version = hoist_api_version(document.api_version.as_deref(), &mut root);
    let mut types: Vec<TypeDef> = std::mem::take(&mut resolver.types);
    mark_boxes(&mut types);
    mark_request_bodies(&mut types, &root);
    types.sort_by(|a, b| a.name().cmp(b.name()));
    check_recursive_aliases(&types)?;
    mark_codecs(&mut types);
    let type_nesting = type_nesting_bound(&types);
    let schemas = resolver
        .schema_names
        .iter()
        .filter_map(|(key, name)| {
            let position = types.binary_search_by(|t| t.name().cmp(name)).ok()?;
            Some((key.clone(), TypeId(position)))
        })
        .collect();

    let scopes = document
        .auth
        .oauth2
        .scopes
        .iter()
        .scan(Namespace::new(), |names, (url, info)| {
            Some(Scope {
                url: url.clone(),
                description: info.description.clone(),
                const_name: names.claim(&naming::scope_const(url), "_"),
            })
        })
        .collect();

    let needs_regex = {
        let mut methods = Vec::new();
        collect_methods(&root, &mut methods);
        methods
            .iter()
            .flat_map(|m| &m.path_params)
            .filter_map(|p| p.pattern.as_deref())
            .any(|pattern| !crate::runtime_contract::is_segments_pattern(pattern))
    };
    Ok(Api {
        name: document.name.clone(),
        version: document.version.clone(),
        revision: document.revision.clone(),
        title: document.title.clone(),
        description: document.description.clone(),
        documentation_link: document.documentation_link.clone(),
        root_url,
        service_path,
        api_version,
        crate_name: crate_name(&document.name, &document.version),
        client_name,
        scopes,
        types,
        schemas,
        root,
        schema_count: document.schemas.len(),
        needs_regex,
        type_nesting,
    })
}

/// The API-wide `apiVersion`: the document's, else the one every method states. Methods
/// keep theirs only where it differs, so that a document like compute, which repeats one
/// value on each of its 1025 methods, states it once in the generated crate.
fn hoist_api_version(document: Option<&str>, root: &mut Resource) -> Option<String> {
    fn each(resource: &mut Resource, f: &mut dyn FnMut(&mut Method)) {
        resource.methods.iter_mut().for_each(&mut *f);
        for child in &mut resource.children {
            each(child, f);
        }
    }
    let mut shared: Option<Option<String>> = None;
    let mut uniform = true;
    each(root, &mut |m| match &shared {
        None => shared = Some(m.api_version.clone()),
        Some(v) => uniform &= *v == m.api_version,
    });
    let api_version = match document.filter(|v| !v.is_empty()) {
        Some(v) => Some(v.to_owned()),
        None if uniform => shared.flatten(),
        None => None,
    };
    each(root, &mut |m| {
        if m.api_version == api_version || m.api_version.is_none() {
            m.api_version = None;
        }
    });
    api_version
}

/// `google-{name}-{version}`, lowercase, with every other character a `-`.
pub fn crate_name(name: &str, version: &str) -> String {
    let raw = format!("google-{name}-{version}").to_lowercase();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// The root URL (ending in `/`) and the service path below it (empty, or ending in `/`, as
/// `ApiInfo` takes it). Documents give `rootUrl` and `servicePath`; older ones may give only
/// `baseUrl` and `basePath`, whose end is then the service path (media upload paths,
/// `/upload/...`, are relative to the root, not to the base URL). Paths are compared as
/// directories: `svc/v1` is `svc/v1/`, and a base URL ends where a segment does.
fn root_and_service_path(document: &RestDescription) -> (String, String) {
    let directory = |path: &str| match path.trim_start_matches('/') {
        "" => String::new(),
        path if path.ends_with('/') => path.to_owned(),
        path => format!("{path}/"),
    };
    let with_slash = |url: &str| if url.ends_with('/') { url.to_owned() } else { format!("{url}/") };
    if !document.root_url.is_empty() {
        return (with_slash(&document.root_url), directory(&document.service_path));
    }
    let base_url = with_slash(&document.base_url);
    for path in [directory(&document.service_path), directory(&document.base_path)] {
        if path.is_empty() {
            continue;
        }
        if let Some(root) = base_url.strip_suffix(&path).filter(|root| root.ends_with('/')) {
            return (root.to_owned(), path);
        }
    }
    (base_url, String::new())
}

struct Resolver<'a> {
    document: &'a RestDescription,
    /// Schema key to Rust type name.
    schema_names: BTreeMap<String, String>,
    /// What a `$ref` may say (a schema's `id`, or its key) to the schema's key.
    ref_targets: BTreeMap<&'a str, &'a str>,
    /// Names in the `types` module.
    type_names: Namespace,
    types: Vec<TypeDef>,
    /// Position in `types` by Rust name.
    type_index: HashMap<String, usize>,
    /// Inline enums already emitted, by their values.
    enums_by_values: HashMap<Vec<String>, String>,
    /// How often each inline enum value list occurs in the document.
    enum_occurrences: HashMap<Vec<String>, usize>,
    /// Names in the `resources` module: resource handles and builders.
    resource_names: Namespace,
    /// Field-mask value lists already given a type, by their values.
    masks_by_values: HashMap<Vec<String>, String>,
}

/// Where an inline type is found: its parent's Rust name and the member's name.
struct Context<'c> {
    owner: &'c str,
    member: &'c str,
    /// The property or parameter the type belongs to, as the document names it (the same
    /// for its array items and map values); empty for a schema, body or response.
    own_name: &'c str,
    path: &'c str,
}

impl<'a> Resolver<'a> {
    fn new(document: &'a RestDescription) -> Self {
        let mut enum_occurrences = HashMap::new();
        count_enums(document, &mut enum_occurrences);
        Resolver {
            document,
            schema_names: BTreeMap::new(),
            ref_targets: ref_targets(&document.schemas),
            type_names: Namespace::new(),
            types: Vec::new(),
            type_index: HashMap::new(),
            enums_by_values: HashMap::new(),
            enum_occurrences,
            resource_names: Namespace::new(),
            masks_by_values: HashMap::new(),
        }
    }

    fn push_type(&mut self, def: TypeDef) {
        self.type_index.insert(def.name().to_owned(), self.types.len());
        self.types.push(def);
    }

    fn find_type(&self, name: &str) -> Option<&TypeDef> {
        self.type_index.get(name).map(|&i| &self.types[i])
    }

    fn resolve_schemas(&mut self) -> Result<(), ResolveError> {
        // Names first, so that `$ref`s resolve in any order and a schema whose key is
        // already the converted name keeps it (`HttpHealthCheck` over `HTTPHealthCheck`).
        let schemas = &self.document.schemas;
        let wanted: Vec<(&String, String)> =
            schemas.keys().map(|key| (key, naming::type_ident(&naming::camel(key, "T", "Schema")))).collect();
        for (key, name) in &wanted {
            if *key == name && !self.type_names.contains(name) {
                self.schema_names.insert((*key).clone(), self.type_names.claim(name, ""));
            }
        }
        for (key, name) in &wanted {
            if self.schema_names.contains_key(*key) {
                continue;
            }
            let raw_ok = key.chars().all(|c| c.is_ascii_alphanumeric())
                && key.starts_with(|c: char| c.is_ascii_uppercase())
                && !naming::is_keyword(key);
            let alternatives = if raw_ok { vec![naming::type_ident(key)] } else { vec![] };
            let claimed = self.type_names.claim_with(name, &alternatives, "");
            self.schema_names.insert((*key).clone(), claimed);
        }
        check_alias_cycles(schemas, &self.ref_targets)?;
        for (key, schema) in schemas {
            let name = self.schema_names[key].clone();
            let path = format!("schemas.{key}");
            self.resolve_named_schema(&name, schema, &path)?;
        }
        Ok(())
    }

    fn resolve_named_schema(&mut self, name: &str, schema: &JsonSchema, path: &str) -> Result<(), ResolveError> {
        let doc = schema.description.clone().unwrap_or_default();
        let is_object =
            schema.type_.as_deref() == Some("object") || (schema.type_.is_none() && schema.reference.is_none());
        if !schema.properties.is_empty()
            || (is_object && schema.additional_properties.is_none() && schema.items.is_none())
        {
            return self.resolve_struct(name, schema, path);
        }
        if !schema.enum_values.is_empty() && schema.type_.as_deref() == Some("string") {
            let def = build_enum(name, schema);
            self.push_type(TypeDef::Enum(def));
            return Ok(());
        }
        let ty = self.resolve_type(schema, &Context { owner: name, member: "", own_name: "", path })?;
        self.push_type(TypeDef::Alias(Alias { name: name.to_owned(), doc, ty }));
        Ok(())
    }

    fn resolve_struct(&mut self, name: &str, schema: &JsonSchema, path: &str) -> Result<(), ResolveError> {
        // Claim names in order of how faithfully they convert, so that `type` keeps
        // `r#type` and `@type` gets the suffix, and `foo_bar` keeps `foo_bar` over `fooBar`.
        let mut field_names = Namespace::new();
        let wanted: Vec<(&String, String)> =
            schema.properties.keys().map(|wire| (wire, naming::value_ident(&naming::snake(wire, "field")))).collect();
        let fidelity = |wire: &str, ident: &str| {
            if wire == ident.strip_prefix("r#").unwrap_or(ident) {
                0
            } else if wire.chars().all(|c| c.is_ascii_alphanumeric()) {
                1
            } else {
                2
            }
        };
        let mut claim_order: Vec<usize> = (0..wanted.len()).collect();
        claim_order.sort_by_key(|&i| (fidelity(wanted[i].0, &wanted[i].1), i));
        let mut idents = vec![String::new(); wanted.len()];
        for i in claim_order {
            idents[i] = field_names.claim(&wanted[i].1, "_");
        }
        let mut fields = Vec::with_capacity(schema.properties.len());
        for ((wire, property), ident) in schema.properties.iter().zip(idents) {
            let field_path = format!("{path}.properties.{wire}");
            let ty =
                self.resolve_type(property, &Context { owner: name, member: wire, own_name: wire, path: &field_path })?;
            fields.push(Field {
                name: ident,
                wire: wire.clone(),
                doc: property.description.clone().unwrap_or_default(),
                deprecated: property.deprecated,
                read_only: property.read_only,
                boxed: false,
                codec: None,
                format_note: format_note(property),
                ty,
            });
        }
        let unknown_fields = field_names.claim_with("extra", &["unknown_fields".into()], "_");
        self.push_type(TypeDef::Struct(Struct {
            name: name.to_owned(),
            doc: schema.description.clone().unwrap_or_default(),
            deprecated: schema.deprecated,
            fields,
            unknown_fields,
            request_body: false,
        }));
        Ok(())
    }

    /// The Rust type of a property, parameter, array item or map value.
    fn resolve_type(&mut self, schema: &JsonSchema, context: &Context<'_>) -> Result<Type, ResolveError> {
        if let Some(reference) = &schema.reference {
            let key = self.ref_targets.get(reference.as_str()).copied();
            return match key.and_then(|key| self.schema_names.get(key)) {
                Some(name) => Ok(Type::Named(name.clone())),
                None => Err(error(
                    format!("{}.$ref", context.path),
                    format!("`$ref` names `{reference}`, which is not a schema of this document"),
                )),
            };
        }
        let format = schema.format.as_deref().unwrap_or("");
        let ty = match schema.type_.as_deref() {
            Some("string") if !schema.enum_values.is_empty() => Type::Named(self.inline_enum(schema, context)),
            Some("string") => match format {
                "byte" => Type::Bytes,
                "int64" => Type::I64,
                "uint64" => Type::U64,
                "google-fieldmask" => Type::FieldMask,
                _ => Type::String,
            },
            Some("integer") => match format {
                "uint32" => Type::U32,
                "int64" => Type::I64,
                "uint64" => Type::U64,
                _ => Type::I32,
            },
            Some("number") => match format {
                "float" => Type::F32,
                _ => Type::F64,
            },
            Some("boolean") => Type::Bool,
            Some("any") | Some("null") => Type::Any,
            Some("array") => self.array_type(schema, context)?,
            Some("object") | None => {
                if !schema.properties.is_empty() {
                    Type::Named(self.inline_struct(schema, context)?)
                } else if let Some(values) = &schema.additional_properties {
                    let value_member = format!("{}Value", context.member);
                    let path = format!("{}.additionalProperties", context.path);
                    let value =
                        self.resolve_type(values, &Context { member: &value_member, path: &path, ..*context })?;
                    Type::Map(Box::new(value))
                } else if schema.type_.is_none() && schema.items.is_some() {
                    self.array_type(schema, context)?
                } else if schema.type_.is_some() {
                    Type::Object
                } else {
                    Type::Any
                }
            }
            Some(other) => {
                return Err(error(
                    format!("{}.type", context.path),
                    format!("unknown type `{other}` (expected string, integer, number, boolean, array, object or any)"),
                ))
            }
        };
        Ok(ty)
    }

    fn array_type(&mut self, schema: &JsonSchema, context: &Context<'_>) -> Result<Type, ResolveError> {
        let Some(items) = &schema.items else {
            return Ok(Type::Vec(Box::new(Type::Any)));
        };
        let item_member = format!("{}Item", context.member);
        let path = format!("{}.items", context.path);
        let item = self.resolve_type(items, &Context { member: &item_member, path: &path, ..*context })?;
        Ok(Type::Vec(Box::new(item)))
    }

    fn inline_struct(&mut self, schema: &JsonSchema, context: &Context<'_>) -> Result<String, ResolveError> {
        let wanted =
            naming::type_ident(&naming::camel(&format!("{} {}", context.owner, context.member), "T", "Inline"));
        let name = self.type_names.claim(&wanted, "");
        self.resolve_struct(&name, schema, context.path)?;
        Ok(name)
    }

    /// An inline enum gets a type of its own; identical value lists share one type. A
    /// shared list is named by what it is: after the common prefix of its values when they
    /// have one of two or more words (`READ_SOURCE_TYPE_*` -> `ReadSourceType`), else after
    /// the property or parameter it first occurs as (`projection` -> `Projection`, not
    /// after the method that happens to come first). Other enums, and shared ones whose
    /// names are taken, are named after where they occur (`VideoFrameRate`).
    fn inline_enum(&mut self, schema: &JsonSchema, context: &Context<'_>) -> String {
        if let Some(name) = self.enums_by_values.get(&schema.enum_values) {
            return name.clone();
        }
        let contextual =
            naming::type_ident(&naming::camel(&format!("{} {}", context.owner, context.member), "T", "Enum"));
        let shared = self.enum_occurrences.get(&schema.enum_values).copied().unwrap_or(0) > 1;
        let name = if shared {
            let by_prefix = common_prefix(&schema.enum_values).map(|prefix| naming::camel(&prefix, "T", "Enum"));
            let by_own_name = Some(context.own_name).filter(|n| !n.is_empty()).map(|n| naming::camel(n, "T", "Enum"));
            let mut wanted: Vec<String> =
                by_prefix.into_iter().chain(by_own_name).map(|n| naming::type_ident(&n)).collect();
            wanted.push(contextual);
            let preferred = wanted.remove(0);
            self.type_names.claim_with(&preferred, &wanted, "")
        } else {
            self.type_names.claim(&contextual, "")
        };
        let mut def = build_enum(&name, schema);
        // An inline enum's description is its field's; say where the values come from, so
        // a type shared by several fields and parameters still explains itself.
        def.origin = Some(context.path.to_owned());
        self.push_type(TypeDef::Enum(def));
        self.enums_by_values.insert(schema.enum_values.clone(), name.clone());
        name
    }

    fn resolve_resource_tree(&mut self, client_name: &str) -> Result<Resource, ResolveError> {
        self.resource_names.reserve([client_name]);
        let mut root = Resource {
            wire_name: String::new(),
            path: String::new(),
            is_root: true,
            struct_name: client_name.to_owned(),
            accessor: String::new(),
            deprecated: false,
            methods: Vec::new(),
            children: Vec::new(),
        };
        // The client type also carries the crate's own items; keep accessors off them.
        let mut accessors = handle_methods();
        accessors.reserve(["builder", "from_client", "client", "with_token_provider"]);
        self.fill_resource(&mut root, &self.document.methods, &self.document.resources, accessors, "")?;
        Ok(root)
    }

    fn fill_resource(
        &mut self,
        resource: &mut Resource,
        methods: &BTreeMap<String, RestMethod>,
        children: &BTreeMap<String, RestResource>,
        mut accessors: Namespace,
        json_path: &str,
    ) -> Result<(), ResolveError> {
        for (wire_name, method) in methods {
            let path = format!("{json_path}methods.{wire_name}");
            let snake = naming::snake(wire_name, "call");
            let accessor = accessors.claim_with(&naming::value_ident(&snake), &[format!("{snake}_method")], "_");
            resource.methods.push(self.resolve_method(resource, wire_name, accessor, method, &path)?);
        }
        for (wire_name, child) in children {
            let path = if resource.is_root { wire_name.clone() } else { format!("{}.{wire_name}", resource.path) };
            let snake = naming::snake(wire_name, "resource");
            let accessor = accessors.claim_with(&naming::value_ident(&snake), &[format!("{snake}_resource")], "_");
            let struct_name = self
                .resource_names
                .claim(&naming::type_ident(&naming::camel(&format!("{path} resource"), "R", "Resource")), "");
            let mut handle = Resource {
                wire_name: wire_name.clone(),
                path,
                is_root: false,
                struct_name,
                accessor,
                deprecated: child.deprecated,
                methods: Vec::new(),
                children: Vec::new(),
            };
            let child_path = format!("{json_path}resources.{wire_name}.");
            self.fill_resource(&mut handle, &child.methods, &child.resources, handle_methods(), &child_path)?;
            // A resource with no methods anywhere below it would be a handle with nothing to do.
            if !handle.methods.is_empty() || !handle.children.is_empty() {
                resource.children.push(handle);
            }
        }
        Ok(())
    }

    fn resolve_method(
        &mut self,
        resource: &Resource,
        wire_name: &str,
        accessor: String,
        method: &RestMethod,
        path: &str,
    ) -> Result<Method, ResolveError> {
        let base = naming::camel(&format!("{} {wire_name}", resource.path), "M", "Method");
        let builder = self.resource_names.claim(&naming::type_ident(&format!("{base}Call")), "");
        let http_method = match method.http_method.to_ascii_uppercase().as_str() {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "PATCH" => HttpMethod::Patch,
            "DELETE" => HttpMethod::Delete,
            other => return Err(error(format!("{path}.httpMethod"), format!("unsupported HTTP method `{other}`"))),
        };

        check_template(&method.path, method, &format!("{path}.path"))?;
        if let Some(version) = &method.api_version {
            check_api_version(version).map_err(|message| error(format!("{path}.apiVersion"), message))?;
        }

        // Argument order: path parameters as `parameterOrder` gives them, then the body,
        // then the query parameters the service requires. `parameterOrder` is an order, so
        // a name it lists twice keeps its first place; taking it twice would make two
        // arguments for one parameter, the second silently overwriting the first.
        let mut ordered: Vec<&String> = Vec::new();
        for name in &method.parameter_order {
            if method.parameters.contains_key(name) && !ordered.contains(&name) {
                ordered.push(name);
            }
        }
        ordered.extend(method.parameters.keys().filter(|name| !method.parameter_order.contains(name)));

        let mut arg_names = Namespace::new();
        arg_names.reserve([CALL_LOCAL]);
        let mut setter_names = Namespace::new();
        setter_names.reserve(builder_method_names());
        setter_names.reserve(naming::setter_reserved_methods());
        let (mut path_params, mut required_query, mut optional_query) = (Vec::new(), Vec::new(), Vec::new());
        let context_owner = base.clone();
        for wire in ordered {
            let parameter = &method.parameters[wire];
            let param_path = format!("{path}.parameters.{wire}");
            let ty = match parameter.type_.as_deref() {
                Some("array") | Some("object") => Type::String,
                _ => self.resolve_type(
                    parameter,
                    &Context { owner: &context_owner, member: wire, own_name: wire, path: &param_path },
                )?,
            };
            let ty = self.query_type(ty);
            let snake = naming::snake(wire, "param");
            let is_path = match parameter.location.as_deref() {
                Some("path") => true,
                // Google's documents give every parameter one of these two; with no
                // location, a parameter the path does not name can only go in the query.
                Some("query") | None => false,
                // Sent as query parameters, a header (say) would reach the service as
                // something else than the document means: refused, not guessed.
                Some(other) => {
                    return Err(error(
                        format!("{param_path}.location"),
                        format!(
                        "parameter location `{other}` is not supported: a parameter goes in the `path` or the `query`"
                    ),
                    ))
                }
            };
            // "Required." in a description is how newer documents flag what the service
            // requires. A dotted name (`requestMask.includeField`) is a member of an
            // optional sub-message: required only when that message is sent.
            let described = !wire.contains('.')
                && parameter.description.as_deref().is_some_and(|d| d.trim_start().starts_with("Required."));
            let requirement = if is_path {
                Some(Requirement::Path)
            } else if parameter.required {
                Some(Requirement::Flag)
            } else if described {
                Some(Requirement::Description)
            } else {
                None
            };
            let required = requirement.is_some();
            let ident = if required {
                arg_names.claim_with(&naming::value_ident(&snake), &[format!("{snake}_param")], "_")
            } else {
                setter_names.claim_with(&naming::value_ident(&snake), &[format!("{snake}_param")], "_")
            };
            let mask_fields = match (&ty, parameter.description.as_deref()) {
                (Type::FieldMask, Some(description)) => self.mask_fields(wire, &context_owner, description),
                _ => None,
            };
            let param = Param {
                mask_fields,
                wire: wire.clone(),
                ident,
                ty,
                repeated: parameter.repeated,
                doc: parameter.description.clone().unwrap_or_default(),
                pattern: parameter.pattern.clone(),
                deprecated: parameter.deprecated,
                requirement,
            };
            if is_path {
                path_params.push(param);
            } else if required {
                required_query.push(param);
            } else {
                optional_query.push(param);
            }
        }
        // Keep the required query arguments after the body in a stable order.
        let body = match &method.request {
            Some(request) => {
                let ty = self.resolve_type(
                    request,
                    &Context { owner: &base, member: "Request", own_name: "", path: &format!("{path}.request") },
                )?;
                let wanted = match &ty {
                    Type::Named(name) => naming::snake(name, "body"),
                    _ => "body".to_owned(),
                };
                let is_object = match &ty {
                    Type::Named(name) => matches!(self.find_type(name), Some(TypeDef::Struct(_))),
                    _ => false,
                };
                let encoding = if is_object { BodyEncoding::Object } else { BodyEncoding::Value };
                let arg = arg_names.claim_with(&naming::value_ident(&wanted), &["body".to_owned()], "_");
                Some(Body { arg, ty, encoding })
            }
            None => None,
        };
        let response = match &method.response {
            Some(response) => Some(self.resolve_type(
                response,
                &Context { owner: &base, member: "Response", own_name: "", path: &format!("{path}.response") },
            )?),
            None => None,
        };
        let paging = self.paging(&optional_query, response.as_ref());
        if let (true, Some(upload)) = (method.supports_media_upload, &method.media_upload) {
            // Upload paths are expanded with the method's path parameters, as its path is.
            let protocols = [("simple", &upload.protocols.simple), ("resumable", &upload.protocols.resumable)];
            for (protocol, endpoint) in protocols {
                if let Some(endpoint) = endpoint {
                    check_template(&endpoint.path, method, &format!("{path}.mediaUpload.protocols.{protocol}.path"))?;
                }
            }
        }
        // Without a protocol to send it with (`"protocols": {}`), a method has no upload, as
        // when `mediaUpload` is missing: an `upload` that could only fail is not generated.
        let media_upload = if method.supports_media_upload {
            let usable = |upload: &&crate::discovery::MediaUpload| {
                upload.protocols.simple.is_some() || upload.protocols.resumable.is_some()
            };
            method.media_upload.as_ref().filter(usable).map(|upload| MediaUpload {
                simple_path: upload.protocols.simple.as_ref().map(|p| p.path.clone()),
                resumable_path: upload.protocols.resumable.as_ref().map(|p| p.path.clone()),
                accept: upload.accept.clone(),
                max_size: upload.max_size.as_deref().and_then(parse_size),
            })
        } else {
            None
        };
        Ok(Method {
            id: method.id.clone(),
            wire_name: wire_name.to_owned(),
            accessor,
            builder,
            http_method,
            // A method's path is relative to the base URL even with a leading `/`, as
            // Google's Python client joins it; for the runtime a leading `/` means the root
            // URL, which only media upload paths (`/upload/...`) are relative to.
            path: method.path.strip_prefix('/').unwrap_or(&method.path).to_owned(),
            doc: method.description.clone().unwrap_or_default(),
            deprecated: method.deprecated,
            scopes: method.scopes.clone(),
            path_params,
            required_query,
            optional_query,
            body,
            response,
            paging,
            media_upload,
            media_download: method.supports_media_download,
            api_version: method.api_version.clone().filter(|v| !v.is_empty()),
        })
    }

    /// The type a parameter is sent as: one with a query spelling (a scalar, a field mask
    /// or a string enum), through aliases; anything else (an object, an array, bytes) is
    /// taken as the string to send.
    fn query_type(&self, ty: Type) -> Type {
        let mut ty = ty;
        // Alias chains end: `$ref` cycles were refused when the schemas were resolved.
        for _ in 0..=self.types.len() {
            ty = match ty {
                Type::Named(name) => match self.find_type(&name) {
                    Some(TypeDef::Enum(_)) => return Type::Named(name),
                    Some(TypeDef::Alias(alias)) => alias.ty.clone(),
                    _ => return Type::String,
                },
                Type::Bytes | Type::Any | Type::Object | Type::Vec(_) | Type::Map(_) => return Type::String,
                scalar => return scalar,
            };
        }
        Type::String
    }

    /// The type naming the fields a mask parameter accepts, when its description lists
    /// them ("Valid values are: * names * emailAddresses"). Identical lists share a type,
    /// named after the parameter (`PersonFields`), or after the method when that is taken.
    fn mask_fields(&mut self, wire: &str, method_base: &str, description: &str) -> Option<String> {
        let values = listed_values(description)?;
        if let Some(name) = self.masks_by_values.get(&values) {
            return Some(name.clone());
        }
        let preferred = naming::type_ident(&naming::camel(wire, "T", "Fields"));
        let contextual = naming::type_ident(&naming::camel(&format!("{method_base} {wire}"), "T", "Fields"));
        let name = self.type_names.claim_with(&preferred, &[contextual], "");
        let mut variants = Namespace::new();
        let fields = values
            .iter()
            .map(|value| {
                (variants.claim(&naming::variant_ident(&naming::camel(value, "V", "Field")), ""), value.clone())
            })
            .collect();
        self.push_type(TypeDef::MaskFields(MaskFields { name: name.clone(), fields }));
        self.masks_by_values.insert(values, name.clone());
        Some(name)
    }

    /// A method pages when it takes `pageToken` and its response carries `nextPageToken`.
    fn paging(&self, optional_query: &[Param], response: Option<&Type>) -> Option<Paging> {
        if !optional_query.iter().any(|p| p.wire == "pageToken") {
            return None;
        }
        let Some(Type::Named(response)) = response else { return None };
        let TypeDef::Struct(shape) = self.find_type(response)? else { return None };
        let token = shape.fields.iter().find(|f| f.wire == "nextPageToken" && f.ty == Type::String)?;
        let lists: Vec<&Field> = shape.fields.iter().filter(|f| matches!(f.ty, Type::Vec(_))).collect();
        let items = match lists.as_slice() {
            [only] => Some(*only),
            _ => lists.iter().copied().find(|f| f.wire == "items"),
        };
        Some(Paging {
            response: response.clone(),
            next_page_token: token.name.clone(),
            items: items.and_then(|f| match &f.ty {
                Type::Vec(item) => Some((f.name.clone(), (**item).clone())),
                _ => None,
            }),
        })
    }
}

/// The field names after "Valid values are:" in a field-mask description, as in
/// "Valid values are: * addresses * ageRanges * biographies". `None` unless there are at
/// least two, each a plain lowerCamel name.
fn listed_values(description: &str) -> Option<Vec<String>> {
    let (_, list) = description.split_once("Valid values are:")?;
    let mut values = Vec::new();
    let mut rest = list.trim_start();
    while let Some(after_star) = rest.strip_prefix('*') {
        let after_star = after_star.trim_start();
        let end = after_star.find(|c: char| !c.is_ascii_alphanumeric() && c != '_').unwrap_or(after_star.len());
        let value = &after_star[..end];
        if value.is_empty() || !value.starts_with(|c: char| c.is_ascii_lowercase()) {
            break;
        }
        if !values.iter().any(|v| v == value) {
            values.push(value.to_owned());
        }
        rest = after_star[end..].trim_start();
    }
    (values.len() >= 2).then_some(values)
}

/// The names a catch-all variant takes (the first one free); no stripped name may take one.
const UNKNOWN_VARIANTS: [&str; 2] = ["UnknownValue", "UnrecognizedValue"];

fn build_enum(name: &str, schema: &JsonSchema) -> Enum {
    let mut seen = BTreeSet::new();
    // A value listed twice is one value: a second variant could never be decoded.
    let values: Vec<(usize, &String)> =
        schema.enum_values.iter().enumerate().filter(|(_, wire)| seen.insert(wire.as_str())).collect();
    let camel: Vec<String> = values
        .iter()
        .map(|(i, wire)| {
            let fallback = if wire.is_empty() { "Empty".to_owned() } else { format!("Value{i}") };
            naming::camel(wire, "V", &fallback)
        })
        .collect();
    let wanted = variant_names(name, &camel);
    let mut names = Namespace::new();
    let variants: Vec<Variant> = values
        .iter()
        .zip(wanted)
        .map(|((i, wire), wanted)| Variant {
            name: names.claim(&wanted, ""),
            wire: (*wire).clone(),
            doc: schema.enum_descriptions.get(*i).cloned().unwrap_or_default(),
            deprecated: schema.enum_deprecated.get(*i).copied().unwrap_or(false),
        })
        .collect();
    let unknown_variant = names.claim_with(UNKNOWN_VARIANTS[0], &[UNKNOWN_VARIANTS[1].to_owned()], "");
    Enum {
        name: name.to_owned(),
        doc: schema.description.clone().unwrap_or_default(),
        origin: None,
        variants,
        unknown_variant,
    }
}

/// Variant names for values already in `UpperCamelCase`, dropping the prefix they share
/// with the type's name as prost does (`ReadSourceType::ReadSourceTypeContact` ->
/// `ReadSourceType::Contact`): only at a word boundary, only when the rest is a valid
/// identifier (`BucketState1x` keeps its prefix), and only when the shorter name stays
/// unique (with `FOO_BAR` and `BAR` in `Foo`, `FOO_BAR` stays `FooBar`).
fn variant_names(type_name: &str, camel: &[String]) -> Vec<String> {
    let stripped: Vec<Option<&str>> = camel
        .iter()
        .map(|full| {
            let rest =
                full.get(type_name.len()..).filter(|_| full[..type_name.len()].eq_ignore_ascii_case(type_name))?;
            (rest.starts_with(|c: char| c.is_ascii_uppercase()) && !naming::is_keyword(rest)).then_some(rest)
        })
        .collect();
    let mut current: Vec<&str> = camel.iter().zip(&stripped).map(|(full, short)| short.unwrap_or(full)).collect();
    // Owners of each name; a stripped name with a second owner (or a catch-all's name)
    // goes back to its full name, which may in turn clash, once per variant at most.
    let mut owners: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, name) in current.iter().enumerate() {
        owners.entry(name).or_default().push(i);
    }
    let clashes = |name: &str, owners: &HashMap<&str, Vec<usize>>| {
        owners.get(name).is_some_and(|o| o.len() > 1 || UNKNOWN_VARIANTS.contains(&name))
    };
    let mut pending: Vec<&str> = owners.keys().copied().filter(|name| clashes(name, &owners)).collect();
    pending.sort_unstable();
    while let Some(name) = pending.pop() {
        if !clashes(name, &owners) {
            continue;
        }
        let holders = owners.remove(name).unwrap_or_default();
        let (revert, keep): (Vec<usize>, Vec<usize>) = holders.into_iter().partition(|&i| current[i] != camel[i]);
        if !keep.is_empty() {
            owners.insert(name, keep);
        }
        for i in revert {
            current[i] = &camel[i];
            owners.entry(&camel[i]).or_default().push(i);
            pending.push(&camel[i]);
        }
    }
    current.into_iter().map(naming::variant_ident).collect()
}

/// Leading `_`-separated words shared by every value, when there are two or more and
/// every value has more words than that: `READ_SOURCE_TYPE_CONTACT` ... -> `READ_SOURCE_TYPE`.
fn common_prefix(values: &[String]) -> Option<String> {
    let split: Vec<Vec<&str>> = values.iter().map(|v| v.split('_').collect()).collect();
    let first = split.first()?;
    let mut len = 0;
    while len < first.len() && split.iter().all(|words| words.len() > len + 1 && words[len] == first[len]) {
        len += 1;
    }
    (len >= 2).then(|| first[..len].join("_"))
}

fn count_enums(document: &RestDescription, counts: &mut HashMap<Vec<String>, usize>) {
    fn schema(s: &JsonSchema, counts: &mut HashMap<Vec<String>, usize>, top: bool) {
        if !s.enum_values.is_empty() && !top {
            *counts.entry(s.enum_values.clone()).or_default() += 1;
        }
        s.properties.values().for_each(|p| schema(p, counts, false));
        if let Some(items) = &s.items {
            schema(items, counts, false);
        }
        if let Some(values) = &s.additional_properties {
            schema(values, counts, false);
        }
    }
    fn methods(ms: &BTreeMap<String, RestMethod>, counts: &mut HashMap<Vec<String>, usize>) {
        for m in ms.values() {
            m.parameters.values().for_each(|p| schema(p, counts, false));
            m.request.iter().chain(&m.response).for_each(|s| schema(s, counts, true));
        }
    }
    fn resources(rs: &BTreeMap<String, RestResource>, counts: &mut HashMap<Vec<String>, usize>) {
        for r in rs.values() {
            methods(&r.methods, counts);
            resources(&r.resources, counts);
        }
    }
    document.schemas.values().for_each(|s| schema(s, counts, true));
    methods(&document.methods, counts);
    resources(&document.resources, counts);
}

/// Schemas that are only a `$ref` become type aliases; a cycle of them has no Rust type.
///
/// Each schema's chain of `$ref`s is followed once (a chain met again is known to end), so
/// a document of many chained aliases costs time in proportion to its size.
fn check_alias_cycles(
    schemas: &BTreeMap<String, JsonSchema>,
    ref_targets: &BTreeMap<&str, &str>,
) -> Result<(), ResolveError> {
    let mut ends = BTreeSet::new();
    for start in schemas.keys() {
        let mut chain: Vec<&str> = Vec::new();
        let mut in_chain = HashSet::new();
        let mut current = start.as_str();
        while let Some(reference) = schemas.get(current).and_then(|s| s.reference.as_deref()) {
            if ends.contains(current) {
                break;
            }
            if !in_chain.insert(current) {
                let at = chain.iter().position(|&seen| seen == current).unwrap_or(0);
                return Err(error(
                    format!("schemas.{start}.$ref"),
                    format!("`$ref` cycle through {} with no object in it", chain[at..].join(" -> ")),
                ));
            }
            chain.push(current);
            match ref_targets.get(reference) {
                Some(target) => current = target,
                None => break,
            }
        }
        ends.extend(chain);
    }
    Ok(())
}

/// `$ref` names a schema by its `id` (the Discovery format says so), which is nearly always
/// its key too; a `$ref` that is no schema's id is looked up as a key.
fn ref_targets(schemas: &BTreeMap<String, JsonSchema>) -> BTreeMap<&str, &str> {
    let mut targets = BTreeMap::new();
    for (key, schema) in schemas {
        if let Some(id) = schema.id.as_deref().filter(|id| !id.is_empty()) {
            targets.entry(id).or_insert(key.as_str());
        }
    }
    for key in schemas.keys() {
        targets.entry(key.as_str()).or_insert(key.as_str());
    }
    targets
}

/// A schema that is an array or map of itself (`"A": {"type": "array", "items": {"$ref": "A"}}`)
/// would be a type alias of itself, which Rust cannot express; no published document has
/// one, so it is an error rather than a newtype nobody asked for.
///
/// A type holds at most one other (an array or map holds one), so each alias leads to at
/// most one other alias: the aliases that contain themselves are those on a cycle of that
/// graph, found with the strongly connected components `mark_boxes` uses too.
fn check_recursive_aliases(types: &[TypeDef]) -> Result<(), ResolveError> {
    let aliases: Vec<&Alias> = types
        .iter()
        .filter_map(|t| match t {
            TypeDef::Alias(a) => Some(a),
            _ => None,
        })
        .collect();
    let index: HashMap<&str, usize> = aliases.iter().enumerate().map(|(i, a)| (a.name.as_str(), i)).collect();
    let next: Vec<Option<usize>> = aliases
        .iter()
        .map(|a| match a.ty.unwrapped().0 {
            Type::Named(name) => index.get(name.as_str()).copied(),
            _ => None,
        })
        .collect();
    let edges: Vec<Vec<usize>> = next.iter().map(|n| n.iter().copied().collect()).collect();
    let component = strongly_connected_components(&edges);
    let mut members = vec![0usize; aliases.len()];
    for &c in &component {
        members[c] += 1;
    }
    let on_cycle = |i: usize| next[i] == Some(i) || members[component[i]] > 1;
    match (0..aliases.len()).find(|&i| on_cycle(i)) {
        Some(i) => Err(error(
            "schemas",
            format!(
                "schema `{}` contains itself only through arrays, maps or `$ref`s, with no object in between",
                aliases[i].name
            ),
        )),
        None => Ok(()),
    }
}

/// Checks that the runtime can expand `template` (at `json_path`) with `method`'s path
/// parameters: a template the runtime cannot expand would make every call fail.
fn check_template(template: &str, method: &RestMethod, json_path: &str) -> Result<(), ResolveError> {
    if names_its_own_host(template) {
        return Err(error(
            json_path.to_owned(),
            format!(
                "the path `{}` names its own host: method paths are joined to the API's base URL (upload \
                 paths to its root URL), so a path that is a URL is not supported",
                template.escape_debug()
            ),
        ));
    }
    let vars = template_variables(template).map_err(|message| error(json_path.to_owned(), message))?;
    for var in &vars {
        let declared = method.parameters.get(var).is_some_and(|p| p.location.as_deref() == Some("path"));
        if !declared {
            return Err(error(
                json_path.to_owned(),
                format!("the path template names `{var}`, which is not a path parameter of the method"),
            ));
        }
    }
    Ok(())
}

/// Whether a path template is an absolute URL (`https://host/...`) or a network-path
/// reference (`//host/...`). Google's Python client would send a method whose path is an
/// `http(s)://` URL to the host it names (its `_urljoin` hands those to `urljoin`), and
/// would append `//host/...` to the base URL; the runtime appends every path to the
/// client's base or root URL, which is what lets an application point a client at a test
/// server or a regional endpoint, so neither is what the document means. A colon alone
/// does not make a URL: `v1beta1:evaluateDataset` is a path.
fn names_its_own_host(template: &str) -> bool {
    if template.starts_with("//") {
        return true;
    }
    template.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// Checks an `apiVersion`, which the runtime sends as the `x-goog-api-version` header and
/// takes as a static header value (`runtime_contract::is_static_header_text`): a method's
/// value breaking the rule would not compile, and the document's would fail every client
/// build. Tabs, which the header allows, are refused too: a version has none.
fn check_api_version(version: &str) -> Result<(), String> {
    let refused = |c: &char| *c == '\t' || !runtime_contract::is_static_header_text(c.encode_utf8(&mut [0; 4]));
    match version.chars().find(refused) {
        Some(c) => Err(format!(
            "`{}` is not a valid HTTP header value (it has {c:?}): the API version is sent as the \
             `x-goog-api-version` header, which takes visible ASCII characters and spaces only",
            version.escape_debug()
        )),
        None => Ok(()),
    }
}

/// The RFC 6570 operators that the runtime's path expansion refuses.
fn is_unsupported_operator(c: char) -> bool {
    runtime_contract::UNSUPPORTED_TEMPLATE_OPERATORS.contains(&c)
}

/// The variables of a path template, in order. Only the forms the runtime expands
/// (`{name}`, `{+name}` and the explode modifier `{name*}`) are accepted: the runtime
/// answers the other RFC 6570 operators with an error on every call.
fn template_variables(template: &str) -> Result<Vec<String>, String> {
    let mut vars = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').ok_or_else(|| format!("unclosed `{{` in path template `{template}`"))?;
        let expression = &rest[open + 1..open + close];
        if let Some(operator) = expression.chars().next().filter(|c| is_unsupported_operator(*c)) {
            return Err(format!(
                "the path template `{template}` uses the operator `{operator}` in `{{{expression}}}`, which the \
                 runtime cannot expand (only `{{name}}` and `{{+name}}` are supported)"
            ));
        }
        // An expression may list several variables (`{a,b}`), expanded joined by commas.
        for var in expression.strip_prefix('+').unwrap_or(expression).split(',') {
            let var = var.trim_end_matches('*');
            if var.is_empty() {
                return Err(format!("empty variable in path template `{template}`"));
            }
            if var.contains(':') {
                return Err(format!(
                    "the path template `{template}` uses a prefix modifier in `{{{expression}}}`, which the \
                     runtime does not apply (it would send the whole value)"
                ));
            }
            vars.push(var.to_owned());
        }
        rest = &rest[open + close + 1..];
    }
    Ok(vars)
}

fn format_note(schema: &JsonSchema) -> Option<String> {
    let format = schema.format.as_deref()?;
    let note = match format {
        "date" => "A date, `YYYY-MM-DD`.",
        "date-time" => "An RFC 3339 timestamp.",
        "google-datetime" => "An RFC 3339 timestamp in UTC.",
        "google-duration" => "A duration in seconds with up to nine fractional digits, ending with `s` (e.g. `3.5s`).",
        _ => return None,
    };
    Some(note.to_owned())
}

/// `"10MB"` -> 10 * 2^20 bytes. `"0"` is no limit, as Google's Python client reads it (it
/// refuses media only when `size > maxSize > 0`).
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let number: u64 = text[..digits_end].parse().ok()?;
    let shift = match text[digits_end..].trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "KB" => 10,
        "MB" => 20,
        "GB" => 30,
        "TB" => 40,
        _ => return None,
    };
    number.checked_mul(1u64 << shift).filter(|&size| size > 0)
}

/// Marks the fields whose values hold 64-bit integers or floats, seen through aliases (an
/// `int64` schema, or an array of them, is an alias of `i64` or `Vec<i64>`).
fn mark_codecs(types: &mut [TypeDef]) {
    let aliases: HashMap<String, Type> = types
        .iter()
        .filter_map(|t| match t {
            TypeDef::Alias(a) => Some((a.name.clone(), a.ty.clone())),
            _ => None,
        })
        .collect();
    // A loop rather than recursion, and each alias's answer kept: a chain of aliases may be
    // as long as the document makes it, and many fields may name it. Aliases that contain
    // themselves were refused before this runs.
    fn codec_of<'a: 'b, 'b>(
        mut ty: &'b Type,
        aliases: &'a HashMap<String, Type>,
        known: &mut HashMap<&'a str, Option<Codec>>,
    ) -> Option<Codec> {
        let mut through = Vec::new();
        let codec = loop {
            match ty {
                Type::I64 | Type::U64 => break Some(Codec::Int64),
                Type::F32 | Type::F64 => break Some(Codec::Float),
                Type::Vec(inner) | Type::Map(inner) => ty = inner,
                Type::Named(name) => match (known.get(name.as_str()), aliases.get_key_value(name)) {
                    (Some(&codec), _) => break codec,
                    (None, Some((alias, target))) => {
                        through.push(alias.as_str());
                        ty = target;
                    }
                    (None, None) => break None,
                },
                _ => break None,
            }
        };
        known.extend(through.into_iter().map(|name| (name, codec)));
        codec
    }
    let mut known = HashMap::new();
    for def in types.iter_mut() {
        if let TypeDef::Struct(s) = def {
            for field in &mut s.fields {
                field.codec = codec_of(&field.ty, &aliases, &mut known);
            }
        }
    }
}

fn mark_request_bodies(types: &mut [TypeDef], root: &Resource) {
    fn walk(resource: &Resource, out: &mut BTreeSet<String>) {
        for method in &resource.methods {
            if let Some(Body { ty: Type::Named(name), .. }) = &method.body {
                out.insert(name.clone());
            }
        }
        resource.children.iter().for_each(|child| walk(child, out));
    }
    let mut bodies = BTreeSet::new();
    walk(root, &mut bodies);
    for def in types {
        if let TypeDef::Struct(s) = def {
            s.request_body = bodies.contains(&s.name);
        }
    }
}

/// Boxes the fields that close a cycle of direct containment (`Option<T>` inside `T`,
/// directly or through other structs): `Vec` and maps already allocate.
fn mark_boxes(types: &mut [TypeDef]) {
    let index: HashMap<&str, usize> = types.iter().enumerate().map(|(i, t)| (t.name(), i)).collect();
    let direct_target = |ty: &Type| -> Option<usize> {
        match ty {
            Type::Named(name) => index.get(name.as_str()).copied(),
            _ => None,
        }
    };
    let edges: Vec<Vec<usize>> = types
        .iter()
        .map(|t| match t {
            TypeDef::Struct(s) => s.fields.iter().filter_map(|f| direct_target(&f.ty)).collect(),
            TypeDef::Alias(a) => direct_target(&a.ty).into_iter().collect(),
            TypeDef::Enum(_) | TypeDef::MaskFields(_) => Vec::new(),
        })
        .collect();
    let component = strongly_connected_components(&edges);
    let boxed: Vec<Vec<bool>> = types
        .iter()
        .enumerate()
        .map(|(i, t)| match t {
            TypeDef::Struct(s) => {
                s.fields.iter().map(|f| direct_target(&f.ty).is_some_and(|j| component[j] == component[i])).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    for (t, flags) in types.iter_mut().zip(boxed) {
        if let TypeDef::Struct(s) = t {
            for (field, flag) in s.fields.iter_mut().zip(flags) {
                field.boxed = flag;
            }
        }
    }
}

/// An upper bound of the longest chain of types inside one another (a field's type, an
/// array's or map's item, an alias's target), each type counted with the arrays, maps and
/// boxes around the deepest of its fields: the longest path through the graph of strongly
/// connected components, each counted as all of its types, since a path may go through
/// every type of a cycle once. Linear in the size of the graph.
fn type_nesting_bound(types: &[TypeDef]) -> usize {
    let index: HashMap<&str, usize> = types.iter().enumerate().map(|(i, t)| (t.name(), i)).collect();
    // The named type inside `ty`, if any, and how many arrays and maps hold it.
    let unwrap = |ty: &Type| -> (Option<usize>, usize) {
        match ty.unwrapped() {
            (Type::Named(name), layers) => (index.get(name.as_str()).copied(), layers),
            (_, layers) => (None, layers),
        }
    };
    // What each type holds: the named type, and the layers around it (a box is one too).
    let held: Vec<Vec<(Option<usize>, usize)>> = types
        .iter()
        .map(|t| match t {
            TypeDef::Struct(s) => s
                .fields
                .iter()
                .map(|f| {
                    let (target, layers) = unwrap(&f.ty);
                    (target, layers + usize::from(f.boxed))
                })
                .collect(),
            TypeDef::Alias(a) => vec![unwrap(&a.ty)],
            TypeDef::Enum(_) | TypeDef::MaskFields(_) => Vec::new(),
        })
        .collect();
    let edges: Vec<Vec<usize>> = held.iter().map(|h| h.iter().filter_map(|&(target, _)| target).collect()).collect();
    let weight: Vec<usize> = held.iter().map(|h| 1 + h.iter().map(|&(_, layers)| layers).max().unwrap_or(0)).collect();
    let component = strongly_connected_components(&edges);
    let count = component.iter().map(|&c| c + 1).max().unwrap_or(0);
    let mut size = vec![0usize; count];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (node, &c) in component.iter().enumerate() {
        size[c] = size[c].saturating_add(weight[node]);
        members[c].push(node);
    }
    // Tarjan's algorithm numbers a component after every component it reaches, so going up
    // the numbers finds each successor's depth already known.
    let mut depth = vec![0usize; count];
    for c in 0..count {
        let deepest_next = members[c]
            .iter()
            .flat_map(|&node| &edges[node])
            .map(|&target| component[target])
            .filter(|&next| next != c)
            .map(|next| depth[next])
            .max()
            .unwrap_or(0);
        depth[c] = size[c].saturating_add(deepest_next);
    }
    depth.into_iter().max().unwrap_or(0)
}

/// Tarjan's algorithm, iterative so that deep schema graphs cannot overflow the stack.
fn strongly_connected_components(edges: &[Vec<usize>]) -> Vec<usize> {
    let n = edges.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut component = vec![usize::MAX; n];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut next_component = 0;
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work = vec![(start, 0usize)];
        while let Some(&mut (node, ref mut edge)) = work.last_mut() {
            if *edge == 0 && index[node] == usize::MAX {
                index[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&target) = edges[node].get(*edge) {
                *edge += 1;
                if index[target] == usize::MAX {
                    work.push((target, 0));
                } else if on_stack[target] {
                    low[node] = low[node].min(index[target]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component[member] = next_component;
                    if member == node {
                        break;
                    }
                }
                next_component += 1;
            }
        }
    }
    component
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::parse;

    fn api(json: &str) -> Api {
        resolve(&parse(json).unwrap()).unwrap()
    }

    fn find<'a>(api: &'a Api, name: &str) -> &'a TypeDef {
        api.types.iter().find(|t| t.name() == name).unwrap_or_else(|| panic!("no type {name}"))
    }

    #[test]
    fn root_url_and_service_path_come_from_old_documents_too() {
        let urls = |members: &str| {
            let api = api(&format!(r#"{{"name":"t","version":"v1",{members}}}"#));
            (api.root_url, api.service_path)
        };
        let pair = |root: &str, service: &str| (root.to_owned(), service.to_owned());
        assert_eq!(
            urls(r#""rootUrl":"https://t.example.com/","servicePath":"t/v1/""#),
            pair("https://t.example.com/", "t/v1/")
        );
        assert_eq!(
            urls(r#""baseUrl":"https://t.example.com/t/v1/","servicePath":"t/v1/""#),
            pair("https://t.example.com/", "t/v1/")
        );
        // Only `baseUrl` and `basePath`: upload paths must still be relative to the host.
        assert_eq!(
            urls(r#""baseUrl":"https://t.example.com/old/v1/","basePath":"/old/v1/""#),
            pair("https://t.example.com/", "old/v1/")
        );
        assert_eq!(urls(r#""baseUrl":"https://t.example.com/x/""#), pair("https://t.example.com/x/", ""));
        // Paths compared as directories, ending where a segment ends.
        assert_eq!(
            urls(r#""baseUrl":"https://t.example.com/svc/v1/","servicePath":"svc/v1""#),
            pair("https://t.example.com/", "svc/v1/")
        );
        assert_eq!(
            urls(r#""rootUrl":"https://t.example.com","servicePath":"svc/v1""#),
            pair("https://t.example.com/", "svc/v1/")
        );
        assert_eq!(
            urls(r#""baseUrl":"https://t.example.com/xold/v1/","basePath":"/old/v1/""#),
            pair("https://t.example.com/xold/v1/", "")
        );
    }

    #[test]
    fn a_method_path_with_a_leading_slash_is_relative_to_the_base_url() {
        let api = api(r#"{"name":"t","version":"v1","resources":{"r":{"methods":{
            "abs":{"id":"t.r.abs","path":"/abs/x","httpMethod":"GET"},
            "rel":{"id":"t.r.rel","path":"rel/x","httpMethod":"GET","supportsMediaUpload":true,
                   "mediaUpload":{"protocols":{"simple":{"multipart":true,"path":"/upload/t/v1/rel/x"}}}}}}}}"#);
        let paths: Vec<(&str, Option<&str>)> = api
            .methods()
            .iter()
            .map(|m| (m.path.as_str(), m.media_upload.as_ref().and_then(|u| u.simple_path.as_deref())))
            .collect();
        assert_eq!(paths, [("abs/x", None), ("rel/x", Some("/upload/t/v1/rel/x"))]);
    }

    #[test]
    fn api_version_is_stated_once_when_every_method_shares_it() {
        let doc = |a: &str, b: &str, top: &str| {
            format!(
                r#"{{"name":"t","version":"v1",{top}"resources":{{"r":{{"methods":{{
                "a":{{"id":"t.r.a","path":"a","httpMethod":"GET",{a}"scopes":[]}},
                "b":{{"id":"t.r.b","path":"b","httpMethod":"GET",{b}"scopes":[]}}}}}}}}}}"#
            )
        };
        let versions = |api: &Api| -> (Option<String>, Vec<Option<String>>) {
            (api.api_version.clone(), api.methods().iter().map(|m| m.api_version.clone()).collect())
        };
        let v = |s: &str| Some(s.to_owned());
        // compute: the same value on every method.
        let same = api(&doc(r#""apiVersion":"A","#, r#""apiVersion":"A","#, ""));
        assert_eq!(versions(&same), (v("A"), vec![None, None]));
        // Mixed: each method keeps its own.
        let mixed = api(&doc(r#""apiVersion":"A","#, "", ""));
        assert_eq!(versions(&mixed), (None, vec![v("A"), None]));
        // A document-wide value, overridden by one method.
        let top = api(&doc(r#""apiVersion":"B","#, "", r#""apiVersion":"A","#));
        assert_eq!(versions(&top), (v("A"), vec![v("B"), None]));
    }

    #[test]
    fn recursion_is_boxed_only_where_needed() {
        let api = api(r#"{"name":"t","version":"v1","schemas":{
            "A":{"type":"object","properties":{"b":{"$ref":"B"},"list":{"type":"array","items":{"$ref":"A"}}}},
            "B":{"type":"object","properties":{"a":{"$ref":"A"},"c":{"$ref":"C"}}},
            "C":{"type":"object","properties":{"me":{"$ref":"C"}, "x":{"type":"string"}}}}}"#);
        let boxed = |ty: &str, field: &str| match find(&api, ty) {
            TypeDef::Struct(s) => s.fields.iter().find(|f| f.wire == field).unwrap().boxed,
            _ => unreachable!(),
        };
        assert!(boxed("A", "b"));
        assert!(!boxed("A", "list"));
        assert!(boxed("B", "a"));
        assert!(!boxed("B", "c"));
        assert!(boxed("C", "me"));
    }

    #[test]
    fn shared_enums_are_named_by_their_prefix() {
        let api = api(r#"{"name":"t","version":"v1","schemas":{
            "P":{"type":"object","properties":{"sources":{"type":"array","items":{"type":"string","enum":["READ_SOURCE_TYPE_A","READ_SOURCE_TYPE_B"]}},
                                               "state":{"type":"string","enum":["STATE_A","STATE_B"]}}}},
            "resources":{"r":{"methods":{"get":{"id":"t.r.get","path":"r","httpMethod":"GET","parameters":{
                "sources":{"type":"string","location":"query","repeated":true,"enum":["READ_SOURCE_TYPE_A","READ_SOURCE_TYPE_B"]}}}}}}}"#);
        assert!(matches!(find(&api, "ReadSourceType"), TypeDef::Enum(_)));
        assert!(matches!(find(&api, "PState"), TypeDef::Enum(_)));
        let method = &api.root.children[0].methods[0];
        assert_eq!(method.optional_query[0].ty, Type::Named("ReadSourceType".into()));
        assert!(method.optional_query[0].repeated);
    }

    #[test]
    fn dangling_refs_unknown_types_and_bad_templates_name_the_path() {
        let err = resolve(&parse(r#"{"name":"t","version":"v1","schemas":{"A":{"type":"object","properties":{"b":{"type":"array","items":{"$ref":"Nope"}}}}}}"#).unwrap()).unwrap_err();
        assert_eq!(err.path, "schemas.A.properties.b.items.$ref");
        let err = resolve(&parse(r#"{"name":"t","version":"v1","schemas":{"A":{"type":"object","properties":{"b":{"type":"strange"}}}}}"#).unwrap()).unwrap_err();
        assert_eq!(err.path, "schemas.A.properties.b.type");
        let err = resolve(&parse(r#"{"name":"t","version":"v1","resources":{"r":{"methods":{"get":{"path":"v1/{+name}","httpMethod":"GET"}}}}}"#).unwrap()).unwrap_err();
        assert_eq!(err.path, "resources.r.methods.get.path");
        let err =
            resolve(&parse(r#"{"name":"t","version":"v1","schemas":{"A":{"$ref":"B"},"B":{"$ref":"A"}}}"#).unwrap())
                .unwrap_err();
        assert!(err.message.contains("cycle"), "{err}");
    }

    #[test]
    fn colliding_schema_names_keep_distinct_types() {
        let api = api(r#"{"name":"t","version":"v1","schemas":{
            "HTTPHealthCheck":{"type":"object","properties":{"a":{"type":"string"}}},
            "HttpHealthCheck":{"type":"object","properties":{"b":{"type":"string"}}},
            "Option":{"type":"object"}}}"#);
        let names: Vec<&str> = api.types.iter().map(TypeDef::name).collect();
        assert_eq!(names, ["HTTPHealthCheck", "HttpHealthCheck", "OptionSchema"]);
    }

    #[test]
    fn people_methods_take_required_inputs_as_arguments() {
        let api = resolve(&parse(include_str!("../../discovery/people.v1.json")).unwrap()).unwrap();
        assert_eq!(api.methods().len(), 24);
        assert_eq!(api.schema_count, 72);
        let update = api.methods().into_iter().find(|m| m.id == "people.people.updateContact").unwrap();
        assert_eq!(update.path_params[0].ident, "resource_name");
        assert_eq!(update.body.as_ref().unwrap().ty, Type::Named("Person".into()));
        let required: Vec<&str> = update.required_query.iter().map(|p| p.wire.as_str()).collect();
        assert_eq!(required, ["updatePersonFields"]);
        let list = api.methods().into_iter().find(|m| m.id == "people.people.connections.list").unwrap();
        let paging = list.paging.as_ref().unwrap();
        assert_eq!(paging.items.as_ref().unwrap().0, "connections");
    }

    #[test]
    fn field_mask_values_are_read_from_descriptions() {
        let listed =
            listed_values("Required. A mask. Valid values are: * addresses * ageRanges * names Defaults to all.");
        assert_eq!(listed.unwrap(), ["addresses", "ageRanges", "names"]);
        assert_eq!(listed_values("Valid values are: * only"), None);
        assert_eq!(listed_values("No list here * a * b"), None);
        let api = resolve(&parse(include_str!("../../discovery/people.v1.json")).unwrap()).unwrap();
        let update = api.methods().into_iter().find(|m| m.id == "people.people.updateContact").unwrap();
        let mask = update.required_query[0].mask_fields.as_deref().unwrap();
        let Some(TypeDef::MaskFields(fields)) = api.types.iter().find(|t| t.name() == mask) else { panic!("{mask}") };
        assert!(fields.fields.iter().any(|(variant, wire)| variant == "EmailAddresses" && wire == "emailAddresses"));
        assert!(!fields.fields.iter().any(|(_, wire)| wire == "photos"), "photos cannot be updated");
    }

    #[test]
    fn inputs_the_fuzzer_found_generate_compilable_shapes() {
        let err = resolve(
            &parse(r#"{"name":"t","version":"v1","schemas":{"A":{"type":"array","items":{"$ref":"A"}}}}"#).unwrap(),
        )
        .unwrap_err();
        assert!(err.message.contains("contains itself"), "{err}");
        let err = resolve(
            &parse(r#"{"name":"t","version":"v1","schemas":{"A":{"type":"object","additionalProperties":{"$ref":"B"}},"B":{"type":"array","items":{"$ref":"A"}}}}"#)
                .unwrap(),
        )
        .unwrap_err();
        assert!(err.message.contains("contains itself"), "{err}");

        let api = api(r#"{"name":"t","version":"v1","schemas":{"E":{"type":"string","enum":["X","Y","X"]}},
            "resources":{"empty":{},"outer":{"resources":{"inner":{}}},"full":{"methods":{"get":{"path":"x","httpMethod":"GET"}}}}}"#);
        let TypeDef::Enum(e) = find(&api, "E") else { panic!() };
        assert_eq!(e.variants.iter().map(|v| v.wire.as_str()).collect::<Vec<_>>(), ["X", "Y"]);
        let children: Vec<&str> = api.root.children.iter().map(|c| c.wire_name.as_str()).collect();
        assert_eq!(children, ["full"]);
    }

    #[test]
    fn arguments_never_take_the_constructors_local_name() {
        let api = api(
            r#"{"name":"t","version":"v1","schemas":{"Call":{"type":"object","properties":{"a":{"type":"string"}}}},
            "resources":{"r":{"methods":{
                "get":{"path":"r/{call}","httpMethod":"GET","parameters":{"call":{"type":"string","location":"path","required":true}}},
                "put":{"path":"r","httpMethod":"PUT","request":{"$ref":"Call"},
                       "parameters":{"call":{"type":"string","location":"query","required":true}}}}}}}"#,
        );
        let methods = api.methods();
        assert_eq!(methods[0].path_params[0].ident, "call_param");
        assert_eq!(methods[1].body.as_ref().unwrap().arg, "body");
        assert_eq!(methods[1].required_query[0].ident, "call_param");
        let setters = methods.iter().flat_map(|m| &m.optional_query);
        assert!(setters.clone().all(|p| !builder_method_names().any(|name| name == p.ident)));
    }

    #[test]
    fn schemas_map_to_their_types_and_types_spell_one_way() {
        let api = api(r#"{"name":"t","version":"v1","schemas":{
            "HTTPMode":{"type":"string","enum":["A"]},"HttpMode":{"type":"string","enum":["B"]},
            "Self":{"type":"object","properties":{"me":{"$ref":"Self"},"all":{"type":"object","additionalProperties":{"type":"array","items":{"type":"string","format":"byte"}}}}}}}"#);
        let name = |key: &str| api.schema_type(key).map(TypeDef::name);
        assert_eq!(
            (name("HTTPMode"), name("HttpMode"), name("Self")),
            (Some("HTTPMode"), Some("HttpMode"), Some("SelfSchema"))
        );
        let TypeDef::Struct(me) = api.schema_type("Self").unwrap() else { panic!() };
        let spelled: Vec<String> = me.fields.iter().map(|f| f.declared_type(Spelling::Crate)).collect();
        assert_eq!(
            spelled,
            [
                "::std::collections::BTreeMap<String, Vec<discovery_runtime::Bytes>>",
                "Option<Box<crate::types::SelfSchema>>"
            ]
        );
        let short: Vec<String> = me.fields.iter().map(|f| f.declared_type(Spelling::Short)).collect();
        assert_eq!(short, ["BTreeMap<String, Vec<Bytes>>", "Option<Box<SelfSchema>>"]);
    }

    #[test]
    fn query_parameters_are_sent_as_scalars_enums_or_strings() {
        let api = api(r#"{"name":"t","version":"v1","schemas":{
            "O":{"type":"object","properties":{"a":{"type":"string"}}},"A":{"$ref":"O"},"L":{"type":"array","items":{"type":"string"}},
            "E":{"type":"string","enum":["X","Y"]},"EA":{"$ref":"E"},"N":{"type":"string","format":"int64"}},
            "resources":{"r":{"methods":{"get":{"path":"r","httpMethod":"GET","parameters":{
                "o":{"$ref":"O","location":"query"},"a":{"$ref":"A","location":"query"},"l":{"$ref":"L","location":"query"},
                "e":{"$ref":"E","location":"query"},"ea":{"$ref":"EA","location":"query"},"n":{"$ref":"N","location":"query"}}}}}}}"#);
        let types: Vec<(&str, &Type)> =
            api.methods()[0].optional_query.iter().map(|p| (p.wire.as_str(), &p.ty)).collect();
        let named = |name: &str| Type::Named(name.to_owned());
        assert_eq!(
            types,
            [
                ("a", &Type::String),
                ("e", &named("E")),
                ("ea", &named("E")),
                ("l", &Type::String),
                ("n", &Type::I64),
                ("o", &Type::String)
            ]
        );
    }

    #[test]
    fn refs_name_schemas_by_id_then_by_key() {
        let api = api(r#"{"name":"t","version":"v1","schemas":{
            "a":{"id":"B","type":"object","properties":{"x":{"type":"string"}}},
            "B":{"id":"Other","type":"object","properties":{"y":{"type":"string"}}},
            "C":{"type":"object","properties":{"byId":{"$ref":"B"},"byKey":{"$ref":"a"},"other":{"$ref":"Other"}}}}}"#);
        let TypeDef::Struct(c) = find(&api, "C") else { panic!() };
        let types: Vec<String> = c.fields.iter().map(|f| f.ty.spell(Spelling::Short)).collect();
        assert_eq!(types, ["A", "A", "B"]);
    }

    #[test]
    fn int64_and_float_values_are_found_through_aliases() {
        let api = api(r#"{"name":"t","version":"v1","schemas":{
            "Id":{"type":"string","format":"int64"},"Ids":{"type":"array","items":{"$ref":"Id"}},"Again":{"$ref":"Ids"},
            "Name":{"type":"string"},"Score":{"type":"number"},
            "T":{"type":"object","properties":{"a":{"$ref":"Id"},"b":{"$ref":"Again"},"c":{"type":"object","additionalProperties":{"$ref":"Ids"}},
                 "d":{"$ref":"Name"},"e":{"type":"string","format":"uint64"},"f":{"type":"array","items":{"$ref":"T"}},
                 "g":{"type":"number","format":"float"},"h":{"type":"array","items":{"$ref":"Score"}},"i":{"type":"integer"}}}},
            "resources":{"r":{"methods":{"put":{"path":"r","httpMethod":"PUT","request":{"$ref":"Ids"}}}}}}"#);
        let TypeDef::Struct(t) = find(&api, "T") else { panic!() };
        let codecs: Vec<(&str, Option<Codec>)> = t.fields.iter().map(|f| (f.wire.as_str(), f.codec)).collect();
        let (int64, float) = (Some(Codec::Int64), Some(Codec::Float));
        assert_eq!(
            codecs,
            [
                ("a", int64),
                ("b", int64),
                ("c", int64),
                ("d", None),
                ("e", int64),
                ("f", None),
                ("g", float),
                ("h", float),
                ("i", None)
            ]
        );
        assert_eq!(api.methods()[0].body.as_ref().unwrap().encoding, BodyEncoding::Value);
    }

    #[test]
    fn variants_drop_their_types_name_while_they_stay_unique_and_valid() {
        let names = |ty: &str, values: &[&str]| -> Vec<String> {
            let camel: Vec<String> = values.iter().map(|v| naming::camel(v, "V", "Value")).collect();
            variant_names(ty, &camel)
        };
        assert_eq!(
            names("ReadSourceType", &["READ_SOURCE_TYPE_PROFILE", "READ_SOURCE_TYPE_CONTACT"]),
            ["Profile", "Contact"]
        );
        // A word boundary, a valid identifier, not a keyword.
        assert_eq!(
            names("Foo", &["FOOBAR", "FOO_1X", "FOO_SELF", "FOO", "FOO_OK"]),
            ["Foobar", "Foo1x", "FooSelf", "Foo", "Ok"]
        );
        // A stripped name that another value has, or that two values would share, is not taken.
        assert_eq!(names("Foo", &["FOO_BAR", "BAR", "FOO_BAZ"]), ["FooBar", "Bar", "Baz"]);
        assert_eq!(names("Foo", &["FOO_BAR", "foo_bar", "FOO_QUX"]), ["FooBar", "FooBar", "Qux"]);
        // Reverting can clash again, down to the full names.
        assert_eq!(names("Foo", &["FOO_FOO_BAR", "FOO_BAR", "BAR"]), ["FooFooBar", "FooBar", "Bar"]);
        // The catch-all's names are never taken by stripping.
        assert_eq!(names("Color", &["COLOR_UNKNOWN_VALUE", "COLOR_RED"]), ["ColorUnknownValue", "Red"]);
    }

    #[test]
    fn shared_enums_are_named_by_what_they_are() {
        let api = api(r#"{"name":"t","version":"v1","resources":{
            "buckets":{"methods":{"get":{"path":"b","httpMethod":"GET","parameters":{"projection":{"type":"string","location":"query","enum":["full","noAcl"]}}}}},
            "objects":{"methods":{"get":{"path":"o","httpMethod":"GET","parameters":{
                "projection":{"type":"string","location":"query","enum":["full","noAcl"]},
                "view":{"type":"string","location":"query","enum":["BASIC"]}}}}}}}"#);
        let params: Vec<(&str, &Type)> =
            api.methods().iter().flat_map(|m| &m.optional_query).map(|p| (p.wire.as_str(), &p.ty)).collect();
        let named = |name: &str| Type::Named(name.to_owned());
        assert_eq!(
            params,
            [
                ("projection", &named("Projection")),
                ("projection", &named("Projection")),
                ("view", &named("ObjectsGetView"))
            ]
        );
    }

    #[test]
    fn generated_methods_keep_off_std_trait_methods() {
        let api = api(
            r#"{"name":"t","version":"v1","methods":{"clone":{"path":"c","httpMethod":"POST"},"into":{"path":"i","httpMethod":"POST"}},
            "resources":{"r":{"methods":{"new":{"path":"n","httpMethod":"POST"},"add":{"path":"a","httpMethod":"POST",
                "parameters":{"clone":{"type":"string","location":"query"},"add":{"type":"string","location":"query"},"hash":{"type":"string","location":"query"}}}}},
                "default":{"methods":{"get":{"path":"d","httpMethod":"GET"}}}},
            "schemas":{"Copy":{"type":"object"},"Send":{"type":"object"},"Default":{"type":"object"}}}"#,
        );
        let root: Vec<&str> = api.root.methods.iter().map(|m| m.accessor.as_str()).collect();
        assert_eq!(root, ["clone_method", "into_method"]);
        let resources: Vec<&str> = api.root.children.iter().map(|r| r.accessor.as_str()).collect();
        assert_eq!(resources, ["default_resource", "r"]);
        let r = &api.root.children[1];
        let methods: Vec<&str> = r.methods.iter().map(|m| m.accessor.as_str()).collect();
        assert_eq!(methods, ["add", "new_method"]);
        let setters: Vec<&str> = r.methods[0].optional_query.iter().map(|p| p.ident.as_str()).collect();
        assert_eq!(setters, ["add_param", "clone_param", "hash_param"]);
        let types: Vec<&str> = api.types.iter().map(TypeDef::name).collect();
        assert_eq!(types, ["CopySchema", "DefaultSchema", "SendSchema"]);
    }

    #[test]
    fn sizes_and_crate_names() {
        assert_eq!(parse_size("10MB"), Some(10 << 20));
        assert_eq!(parse_size("5TB"), Some(5 << 40));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("0"), None, "no limit, as in Python's client");
        assert_eq!(parse_size("0GB"), None);
        assert_eq!(crate_name("admin", "directory_v1"), "google-admin-directory-v1");
        assert_eq!(crate_name("adexchangebuyer", "v1.3"), "google-adexchangebuyer-v1-3");
        assert_eq!(crate_name("admin.directoryv1", ""), "google-admin-directoryv1");
    }
}
