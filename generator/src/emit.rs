//! Stage 3: token streams for each generated file.
//!
//! The emitter reads the IR and spells it in Rust; it makes no naming or typing decision.
//! Per-method code stays small: everything a request does at run time lives in the
//! runtime crate (`discovery-runtime`), and a builder only records its inputs.

use std::collections::BTreeSet;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::ir::{
    self, Api, Argument, BodyEncoding, Codec, Enum, Field, HttpMethod, MaskFields, Method, Param, Resource, Spelling,
    Struct, Type, TypeDef,
};
use crate::output::format_rust;
use crate::runtime_contract;
use crate::{docs, CrateOptions, Error, GeneratedCrate, GeneratedFile, RuntimeDependency, Stats};

/// The stack of each emitter thread. `syn` parses and `prettyplease` prints a type by
/// recursion, a dozen frames per level of nesting: the 120 nested arrays a document can
/// hold (serde_json reads 128 levels) need more than the 2 MiB a thread gets by default in
/// a debug build. Only the part used is ever touched.
const EMITTER_STACK_BYTES: usize = 64 << 20;

/// Emits the tokens of one source file, given the crate's package name.
type FileEmitter = fn(&Api, &str) -> TokenStream;

/// Emits every file of the crate.
pub fn emit_crate(api: &Api, options: &CrateOptions) -> Result<GeneratedCrate, Error> {
    // The one package name of the crate: everything that writes it (the manifest, the
    // README, doc examples that name the crate) takes it from here, never from the API,
    // whose name `--name` may have replaced.
    let crate_name = options.crate_name.clone().unwrap_or_else(|| api.crate_name.clone());
    let sources: [(&str, FileEmitter); 3] =
        [("src/lib.rs", lib_rs), ("src/types.rs", types_rs), ("src/resources.rs", resources_rs)];
    // Each file is emitted and formatted on a thread of its own: formatting (syn parse and
    // prettyplease) is most of the generator's time, and the files are independent. Token
    // streams are not `Send`, so each thread builds its own.
    let package = crate_name.as_str();
    let formatted: Vec<Result<String, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sources
            .iter()
            .map(|&(path, emit)| {
                std::thread::Builder::new()
                    .stack_size(EMITTER_STACK_BYTES)
                    .spawn_scoped(scope, move || format_rust(path, emit(api, package)))
            })
            .collect();
        handles
            .into_iter()
            .zip(&sources)
            .map(|(handle, (path, _))| {
                let failed = |message: String| Err(Error::Format { file: (*path).to_owned(), message });
                match handle {
                    Ok(handle) => handle.join().unwrap_or_else(|_| failed("the emitter panicked".to_owned())),
                    Err(e) => failed(format!("cannot start the emitter's thread: {e}")),
                }
            })
            .collect()
    });
    let mut files = vec![
        GeneratedFile { path: "Cargo.toml".into(), contents: cargo_toml(api, &crate_name, options) },
        GeneratedFile { path: "README.md".into(), contents: readme(api, &crate_name) },
    ];
    let mut lines = 0;
    for ((path, _), contents) in sources.iter().zip(formatted) {
        let contents = contents?;
        lines += contents.lines().count();
        files.push(GeneratedFile { path: (*path).into(), contents });
    }
    let stats = Stats { schemas: api.schema_count, types: api.types.len(), methods: api.methods().len(), lines };
    Ok(GeneratedCrate { crate_name, revision: api.revision.clone(), files, stats })
}

/// The runtime crate, as generated code names it.
fn runtime() -> Ident {
    ident(runtime_contract::CRATE)
}

/// The runtime's module of what only generated code uses: `discovery_runtime::for_generated_code`.
fn generated_code() -> TokenStream {
    let (rt, module) = (runtime(), ident(runtime_contract::GENERATED_CODE));
    quote!(#rt::#module)
}

fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
}

/// `#[doc]` attributes for a description, one per line, rendered safely.
fn doc_attrs(text: &str) -> TokenStream {
    doc_lines(docs::render(text))
}

/// `#[doc]` attributes, one per line: every doc line made from the document goes through
/// here. Bidirectional control characters are escaped once more, whatever the line was
/// made of, because one in a doc comment is a compile error.
fn doc_lines(lines: impl IntoIterator<Item = String>) -> TokenStream {
    let lines =
        lines.into_iter().map(|line| if line.is_empty() { line } else { format!(" {}", docs::escape_bidi(&line)) });
    quote!(#(#[doc = #lines])*)
}

/// Rust source the IR spelled, as tokens.
fn tokens(source: &str) -> TokenStream {
    // The IR spells types from names it made valid identifiers; should one still not
    // tokenize, the generated crate says so where the type was meant to be.
    source.parse().unwrap_or_else(|_| quote!(compile_error!(#source)))
}

/// A type as the IR spells it; generated types are `crate::types::Name` outside the
/// `types` module.
fn rust_type(ty: &Type, qualify: bool) -> TokenStream {
    tokens(&ty.spell(if qualify { Spelling::Crate } else { Spelling::TypesModule }))
}

/// Lints that fire on upstream names and prose rather than on the generated code's shape.
fn crate_lint_allows() -> TokenStream {
    quote! {
        // Names and descriptions come from the Discovery document: enum variants may share
        // a prefix or suffix (values all ending in `_TYPE`), acronyms stay as Google spells
        // them where two schemas differ only in case, a parameter may be called `to_x` or
        // `is_x`, and descriptions use Markdown lists without continuation indents.
        // Deprecation warnings are for the crate's users; its own plumbing (serde impls,
        // accessors, paging) has to keep using deprecated items. Arrays of maps of arrays
        // are the document's shapes too: naming their parts would only hide them.
        #![allow(
            deprecated,
            clippy::enum_variant_names,
            clippy::upper_case_acronyms,
            clippy::wrong_self_convention,
            clippy::too_many_arguments,
            clippy::doc_lazy_continuation,
            clippy::doc_overindented_list_items,
            clippy::tabs_in_doc_comments,
            clippy::large_enum_variant,
            clippy::type_complexity
        )]
    }
}

// ---------------------------------------------------------------------------------------
// lib.rs

/// rustc's default `recursion_limit`.
const DEFAULT_RECURSION_LIMIT: usize = 128;

/// Levels of rustc's (and rustdoc's) recursion a level of nesting (a type, or an array,
/// map or box around one) may take. Measured with rustc 1.95 on rings and chains of each
/// kind, as the longest that passed and the shortest that failed with the default limit:
/// rustdoc, working out auto traits, takes 10.7 to 12.8 per struct held in a map (two
/// levels here), 6.4 to 8 per boxed struct (two), 4.6 to 5.3 per struct in an array (two)
/// and 2.1 to 2.6 per struct in a plain chain (one); `cargo check` takes less of each.
const RECURSION_PER_NESTED_TYPE: usize = 8;

/// `#![recursion_limit]` for a crate whose types nest `api.type_nesting` deep, when the
/// default would not do: a document's long chains or rings of schemas inside one another
/// otherwise end its build (or its docs) in "overflow evaluating the requirement".
fn recursion_limit(api: &Api) -> Option<TokenStream> {
    let needed = api.type_nesting.saturating_mul(RECURSION_PER_NESTED_TYPE);
    (needed > DEFAULT_RECURSION_LIMIT).then(|| {
        // Rounded up, so that a schema more or less rarely changes the line.
        let limit = needed.div_ceil(256).saturating_mul(256).to_string();
        quote!(#![recursion_limit = #limit])
    })
}

fn lib_rs(api: &Api, _crate_name: &str) -> TokenStream {
    let rt = runtime();
    let allows = crate_lint_allows();
    let recursion_limit = recursion_limit(api);
    let client = ident(&api.client_name);
    let (name, version, root_url, service_path) = (&api.name, &api.version, &api.root_url, &api.service_path);
    let client_doc = doc_lines([
        format!("The entry point: a client for {} {}.", doc_title(api), docs::inline(&api.version)),
        String::new(),
        format!(
            "Build one with [`{}::builder`], then reach the API's resources through its accessors.",
            api.client_name
        ),
        "Cloning is cheap and shares the connection pool, credentials and retry policy.".to_owned(),
    ]);
    let scopes = api.scopes.iter().map(|scope| {
        let doc = doc_attrs(&scope.description);
        let name = ident(&scope.const_name);
        let url = &scope.url;
        quote!(#doc pub const #name: &str = #url;)
    });
    let scopes_module = (!api.scopes.is_empty()).then(|| {
        quote! {
            /// OAuth 2.0 scopes of this API. Each method asks for the scopes the Discovery document lists for it.
            pub mod scopes { #(#scopes)* }
        }
    });
    let client_impl = resource_impl(&api.root, quote!(self.client));
    let api_version = api.api_version.as_ref().map(|v| quote!(.with_api_version(#v)));
    let revision_doc = doc_lines([format!(
        "Discovery revision {} of {} {}.",
        docs::code(&api.revision),
        docs::code(&api.name),
        docs::inline(&api.version)
    )]);
    quote! {
        #![doc = include_str!("../README.md")]
        #allows
        #recursion_limit

        pub mod resources;
        pub mod types;

        pub use #rt::{
            auth, error, wire, ByteStream, Bytes, Client, ClientBuilder, Error, FieldMask, HttpClientBuilder,
            HttpTransport, ItemStream, Media, PageStream, Response, ResponseFuture, Result, RetryPolicy,
            ServiceError, TransportError, Upload, UploadProgress,
        };

        /// Read-modify-write with etag conflicts, and batch writes split under a service limit.
        pub use #rt::workflows;

        /// The HTTP client crate the requests go through, at the version this crate uses:
        /// for [`ClientBuilder::http_client`] and [`HttpTransport`].
        pub use #rt::reqwest;

        #revision_doc
        pub static API: #rt::ApiInfo =
            #rt::ApiInfo::new(#name, #version, #root_url, #service_path)
                .with_user_agent(concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")))
                #api_version;

        #scopes_module

        #client_doc
        #[derive(Clone, Debug)]
        pub struct #client {
            client: #rt::Client,
        }

        impl #client {
            /// Starts configuring a client: credentials, base URL, timeouts, retries.
            pub fn builder() -> #rt::ClientBuilder<Self> {
                #rt::ClientBuilder::new(&API)
            }

            /// The runtime client underneath, shared by every call.
            pub fn client(&self) -> &#rt::Client {
                &self.client
            }

            /// A client for another user: the same HTTP client (one connection pool, one TLS
            /// set-up) and settings, with `provider`'s tokens and a mutation queue of its own.
            /// Cheap enough to make one per user and request.
            pub fn with_token_provider(&self, provider: impl #rt::auth::TokenProvider + 'static) -> Self {
                Self { client: self.client.with_token_provider(provider) }
            }
        }

        impl From<#rt::Client> for #client {
            fn from(client: #rt::Client) -> Self {
                Self { client }
            }
        }

        #client_impl
    }
}

/// The API's title as the document gives it, for plain text.
fn title(api: &Api) -> String {
    if api.title.is_empty() {
        format!("the {} API", api.name)
    } else {
        api.title.clone()
    }
}

/// The API's title for documentation, where brackets and angle brackets would be read as
/// links and HTML.
fn doc_title(api: &Api) -> String {
    if api.title.is_empty() {
        format!("the {} API", docs::code(&api.name))
    } else {
        docs::inline(&api.title)
    }
}

/// The impl block of a resource handle (or of the client, for the root): accessors of
/// its sub-resources and one constructor per method.
fn resource_impl(resource: &Resource, client: TokenStream) -> TokenStream {
    let owner = ident(&resource.struct_name);
    let prefix = if resource.is_root { quote!(resources::) } else { quote!() };
    let children = resource.children.iter().map(|child| {
        let accessor = ident(&child.accessor);
        let handle = ident(&child.struct_name);
        let doc = doc_lines([format!("The {} resource.", docs::code(&child.path))]);
        let deprecated = child.deprecated.then(|| quote!(#[deprecated]));
        quote! {
            #doc
            #deprecated
            pub fn #accessor(&self) -> #prefix #handle {
                #prefix #handle { client: #client.clone() }
            }
        }
    });
    let methods = resource.methods.iter().map(|method| method_constructor(method, &client, &prefix));
    quote! {
        impl #owner {
            #(#children)*
            #(#methods)*
        }
    }
}

fn method_constructor(method: &Method, client: &TokenStream, prefix: &TokenStream) -> TokenStream {
    let gen = generated_code();
    let accessor = ident(&method.accessor);
    let builder = ident(&method.builder);
    let doc = method_doc(method);
    let deprecated = method.deprecated.then(|| quote!(#[deprecated]));
    let (call, field) = (ident(ir::CALL_LOCAL), ident(runtime_contract::BUILDER_CALL_FIELD));
    let mut args = Vec::new();
    let mut steps = Vec::new();
    for argument in method.arguments() {
        match argument {
            Argument::Path(param) if param.repeated => {
                // Expanded as a list, `a,b`, as Google's Python client expands one.
                let (arg, wire) = (ident(&param.ident), &param.wire);
                args.push(quote!(#arg: impl IntoIterator<Item = impl Into<String>>));
                steps.push(quote!(#call.path_param_list(#wire, #arg);));
            }
            Argument::Path(param) => {
                let (arg, wire) = (ident(&param.ident), &param.wire);
                args.push(quote!(#arg: impl Into<String>));
                steps.push(quote!(#call.path_param(#wire, #arg);));
            }
            Argument::Body(body) => {
                let (arg, ty) = (ident(&body.arg), rust_type(&body.ty, true));
                args.push(quote!(#arg: impl ::std::borrow::Borrow<#ty>));
                steps.push(match body.encoding {
                    BodyEncoding::Object => quote!(#call.object_body(#arg.borrow());),
                    BodyEncoding::Value => quote!(#call.object_body(&#gen::ValueBody(#arg.borrow()));),
                });
            }
            Argument::Query(param) => {
                let (input, value) = param_input(param);
                let (arg, wire) = (ident(&param.ident), &param.wire);
                args.push(quote!(#arg: #input));
                let value = value(quote!(#arg));
                steps.push(if param.repeated {
                    quote!(#call.query_repeated(#wire, #value);)
                } else {
                    quote!(#call.query(#wire, #value);)
                });
            }
        }
    }
    let mutable = (!steps.is_empty()).then(|| quote!(mut));
    // `Builder { call }`, as clippy wants it, while the two names agree.
    let init =
        if ir::CALL_LOCAL == runtime_contract::BUILDER_CALL_FIELD { quote!(#call) } else { quote!(#field: #call) };
    quote! {
        #doc
        #deprecated
        pub fn #accessor(&self, #(#args),*) -> #prefix #builder {
            let #mutable #call = #gen::Call::new(&#client, &#prefix #builder::METHOD);
            #(#steps)*
            #prefix #builder { #init }
        }
    }
}

fn method_doc(method: &Method) -> TokenStream {
    let mut lines = docs::render(&method.doc);
    if !lines.is_empty() {
        lines.push(String::new());
    }
    let request = format!("{} {}", method.http_method.as_str(), method.path);
    lines.push(format!("{} ({})", docs::code(&request), docs::code(&method.id)));
    let mut arguments = method.arguments().peekable();
    if arguments.peek().is_some() {
        lines.push(String::new());
        lines.push("Arguments:".to_owned());
        for argument in arguments {
            lines.push(match argument {
                Argument::Path(param) | Argument::Query(param) => argument_line(param),
                Argument::Body(body) => {
                    let ty = match &body.ty {
                        Type::Named(name) => format!("[`crate::types::{name}`]"),
                        _ => "the JSON body".to_owned(),
                    };
                    format!("- `{}`: the request body, {ty}.", body.arg.trim_start_matches("r#"))
                }
            });
        }
    }
    if !method.scopes.is_empty() {
        lines.push(String::new());
        lines.push("Scopes, any of:".to_owned());
        lines.extend(method.scopes.iter().map(|scope| format!("- {}", docs::code(scope))));
    }
    doc_lines(lines)
}

/// One list item for a constructor argument: its name and its description on one line
/// (a description with a code block is left out rather than broken).
fn argument_line(param: &Param) -> String {
    let rendered = docs::render(&param.doc);
    let mut text = if rendered.iter().any(|line| line.starts_with("```")) {
        String::new()
    } else {
        rendered.iter().filter(|line| !line.is_empty()).cloned().collect::<Vec<_>>().join(" ")
    };
    if let Some(mask) = &param.mask_fields {
        text.push_str(&format!(" Typed field names: [`crate::types::{mask}`]."));
    }
    let name = param.ident.trim_start_matches("r#");
    match text.trim() {
        "" => format!("- `{name}`"),
        text => format!("- `{name}`: {text}"),
    }
}

/// How a parameter is taken and how its value is handed to the runtime.
fn param_input(param: &Param) -> (TokenStream, impl Fn(TokenStream) -> TokenStream) {
    let converted = param.takes_into();
    let ty = rust_type(&param.ty, true);
    let input = match (param.repeated, converted) {
        (false, true) => quote!(impl Into<#ty>),
        (false, false) => quote!(#ty),
        (true, true) => quote!(impl IntoIterator<Item = impl Into<#ty>>),
        (true, false) => quote!(impl IntoIterator<Item = #ty>),
    };
    let repeated = param.repeated;
    let value = move |arg: TokenStream| match (repeated, converted) {
        (false, true) => quote!(#arg.into()),
        (false, false) => arg,
        (true, true) => quote!(#arg.into_iter().map(Into::<#ty>::into)),
        (true, false) => arg,
    };
    (input, value)
}

// ---------------------------------------------------------------------------------------
// types.rs

fn types_rs(api: &Api, _crate_name: &str) -> TokenStream {
    let items = api.types.iter().map(|def| match def {
        TypeDef::Struct(s) => struct_item(s),
        TypeDef::Enum(e) => enum_item(e),
        TypeDef::MaskFields(m) => mask_fields_item(m),
        TypeDef::Alias(a) => {
            let (doc, name, ty) = (doc_attrs(&a.doc), ident(&a.name), rust_type(&a.ty, false));
            quote!(#doc pub type #name = #ty;)
        }
    });
    quote! {
        //! The API's data types: one per schema of the Discovery document, plus the
        //! objects and enums that the schemas define inline.
        #(#items)*
    }
}

fn struct_item(s: &Struct) -> TokenStream {
    let rt = runtime();
    let json_object = ident(runtime_contract::JSON_OBJECT);
    let name = ident(&s.name);
    let doc = doc_attrs(&s.doc);
    let deprecated = s.deprecated.then(|| quote!(#[deprecated]));
    let fields = s.fields.iter().map(field_item);
    let unknown = ident(&s.unknown_fields);
    // One runtime macro gives the type its JSON encoding from this table: the runtime's
    // reader and writer (one non-generic function each, which is what keeps a generated
    // crate quick to compile), serde's traits for applications, unknown members kept, and
    // `JsonBody` for request bodies only, since it compiles the writer for every type
    // reachable from the body.
    let marker = s.request_body.then(|| quote!(, request_body));
    let members = s.fields.iter().map(|field| {
        let (wire, field_name) = (&field.wire, ident(&field.name));
        // 64-bit integers travel as strings, and non-finite floats by name; serde needs
        // telling, the runtime's writer knows (see `json_object!`).
        let codec = field.codec.map(|codec| match codec {
            Codec::Int64 => quote!(as int64),
            Codec::Float => quote!(as float),
        });
        quote!(#field_name: #wire #codec)
    });
    quote! {
        #doc
        #deprecated
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct #name {
            #(#fields)*
            /// JSON members that this version of the crate does not know (kept, so that
            /// writing back what was read loses nothing), and which members to send although
            /// empty or unset: see [`Extra`](crate::wire::Extra).
            pub #unknown: #rt::wire::Extra,
        }

        #rt::#json_object!(#name, #unknown #marker { #(#members),* });
    }
}

fn field_item(field: &Field) -> TokenStream {
    let mut doc = docs::render(&field.doc);
    let mut notes = Vec::new();
    if field.read_only && !field.doc.contains("Output only") {
        notes.push("Output only: set by the service, ignored in requests.".to_owned());
    }
    if let Some(note) = &field.format_note {
        notes.push(note.clone());
    }
    if !notes.is_empty() {
        if !doc.is_empty() {
            doc.push(String::new());
        }
        doc.extend(notes);
    }
    let doc = doc_lines(doc);
    let name = ident(&field.name);
    let ty = tokens(&field.declared_type(Spelling::TypesModule));
    let deprecated = field.deprecated.then(|| quote!(#[deprecated]));
    quote! {
        #doc
        #deprecated
        pub #name: #ty,
    }
}

fn enum_item(e: &Enum) -> TokenStream {
    let rt = runtime();
    let string_enum = ident(runtime_contract::STRING_ENUM);
    let name = ident(&e.name);
    let mut doc = docs::render(&e.doc);
    if let Some(origin) = &e.origin {
        if !doc.is_empty() {
            doc.push(String::new());
        }
        doc.push(format!("Values of {} in the Discovery document.", docs::code(origin)));
    }
    let doc = doc_lines(doc);
    let unknown = ident(&e.unknown_variant);
    let variants = e.variants.iter().map(|v| {
        let (doc, variant) = (doc_attrs(&v.doc), ident(&v.name));
        let deprecated = v.deprecated.then(|| quote!(#[deprecated]));
        quote!(#doc #deprecated #variant,)
    });
    let spellings = e.variants.iter().map(|v| {
        let (variant, wire) = (ident(&v.name), &v.wire);
        quote!(#variant: #wire)
    });
    quote! {
        #doc
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
            /// A value this version of the crate does not know; sent back unchanged.
            #unknown(String),
        }

        #rt::#string_enum!(#name, #unknown { #(#spellings),* });
    }
}

fn mask_fields_item(mask: &MaskFields) -> TokenStream {
    let rt = runtime();
    let field_names = ident(runtime_contract::FIELD_NAMES);
    let name = ident(&mask.name);
    let example = match mask.fields.as_slice() {
        [(first, _), (second, _), ..] => format!(" `[{0}::{first}, {0}::{second}]`.", mask.name),
        _ => String::new(),
    };
    let doc = doc_lines([
        "Field names that a field-mask parameter accepts, as the Discovery document lists them.".to_owned(),
        String::new(),
        format!("Anything that takes a field mask also takes an array of these:{example}"),
    ]);
    let variants = mask.fields.iter().map(|(variant, wire)| {
        let variant = ident(variant);
        let doc = doc_lines([docs::code(wire)]);
        quote!(#doc #variant,)
    });
    let spellings = mask.fields.iter().map(|(variant, wire)| {
        let variant = ident(variant);
        quote!(#variant: #wire)
    });
    quote! {
        #doc
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
        }

        #rt::#field_names!(#name { #(#spellings),* });
    }
}

// ---------------------------------------------------------------------------------------
// resources.rs

fn resources_rs(api: &Api, crate_name: &str) -> TokenStream {
    let mut items = Vec::new();
    let mut pages = BTreeSet::new();
    // The crate's path in examples: Cargo's library name for the package.
    let krate = crate_name.replace('-', "_");
    collect_resource_items(&api.root, &krate, &mut items, &mut pages);
    let options = prose_list(runtime_contract::BUILDER_OPTIONS.iter().copied(), "and");
    let senders = runtime_contract::BUILDER_SENDERS.iter().copied().chain([
        ir::BY_PAGE,
        ir::BY_ITEM,
        ir::UPLOAD,
        ir::DOWNLOAD,
        ir::DOWNLOAD_TO,
    ]);
    let module_doc = [
        "Resource handles and request builders: one builder per method.".to_owned(),
        String::new(),
        "A builder takes the method's required inputs when it is created, offers a setter".to_owned(),
        "per optional parameter, and does nothing until it is sent by whichever it has of".to_owned(),
        format!("{}.", prose_list(senders, "and")),
        "Every builder also has the per-call options".to_owned(),
        format!("{options}."),
    ]
    .map(|line| if line.is_empty() { line } else { format!(" {line}") });
    quote! {
        #(#![doc = #module_doc])*
        #(#items)*
    }
}

/// `` `a`, `b` and `c` ``.
fn prose_list<'a>(names: impl Iterator<Item = &'a str>, conjunction: &str) -> String {
    let names: Vec<String> = names.map(|name| format!("`{name}`")).collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {conjunction} {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn collect_resource_items(
    resource: &Resource,
    krate: &str,
    items: &mut Vec<TokenStream>,
    pages: &mut BTreeSet<String>,
) {
    let rt = runtime();
    if !resource.is_root {
        let handle = ident(&resource.struct_name);
        let doc = doc_lines([format!(
            "The {} resource of the API: reach it through its parent's `{}()`.",
            docs::code(&resource.path),
            resource.accessor
        )]);
        items.push(quote! {
            #doc
            #[derive(Clone, Debug)]
            pub struct #handle {
                pub(crate) client: #rt::Client,
            }
        });
        items.push(resource_impl(resource, quote!(self.client)));
    }
    for method in &resource.methods {
        items.push(builder_item(method, krate));
        if let Some(paging) = &method.paging {
            if pages.insert(paging.response.clone()) {
                items.push(page_impl(paging));
            }
        }
    }
    for child in &resource.children {
        collect_resource_items(child, krate, items, pages);
    }
}

fn builder_item(method: &Method, krate: &str) -> TokenStream {
    let gen = generated_code();
    let rt = runtime();
    let call_options = ident(runtime_contract::CALL_OPTIONS);
    let field = ident(runtime_contract::BUILDER_CALL_FIELD);
    let (by_page, by_item) = (ident(ir::BY_PAGE), ident(ir::BY_ITEM));
    let (upload, download, download_to) = (ident(ir::UPLOAD), ident(ir::DOWNLOAD), ident(ir::DOWNLOAD_TO));
    let builder = ident(&method.builder);
    let doc = doc_lines([format!(
        "Request builder for {}: made by its resource's `{}()`, sent by `send()`.",
        docs::code(&method.id),
        method.accessor
    )]);
    let info = method_info(method);
    let setters = method.optional_query.iter().map(setter);
    let response = method.response.as_ref().map(|ty| rust_type(ty, true));
    // `call_options!` adds the per-call options and the sending methods.
    let options = match &response {
        Some(ty) => quote!(#rt::#call_options!(#builder => #ty);),
        None => quote!(#rt::#call_options!(#builder => ());),
    };
    let paging = method.paging.as_ref().map(|paging| {
        let page = ident(&paging.response);
        let by_item = paging.items.as_ref().map(|_| {
            quote! {
                /// Every item of every page, fetching pages as they are needed. The last
                /// page stays reachable through `last_page()`.
                pub fn #by_item(self) -> #rt::ItemStream<crate::types::#page> {
                    #rt::ItemStream::new(self.#field)
                }
            }
        });
        quote! {
            /// Every page, following `nextPageToken` until the last page.
            pub fn #by_page(self) -> #rt::PageStream<crate::types::#page> {
                #rt::PageStream::new(self.#field)
            }
            #by_item
        }
    });
    let upload = method.media_upload.as_ref().map(|media_upload| {
        let ty = response.clone().unwrap_or_else(|| quote!(serde_json::Value));
        let doc = doc_lines(upload_doc(krate, &method.builder, &media_upload.accept));
        quote! {
            #doc
            pub fn #upload(
                self,
                media: #rt::Media,
                upload: #rt::Upload,
            ) -> #rt::ResponseFuture<#ty> {
                self.#field.upload(media, upload)
            }
        }
    });
    let download = method.media_download.then(|| {
        let doc = doc_lines(download_doc(krate, &method.builder));
        quote! {
            /// Downloads the media content (`alt=media`) as a stream of bytes;
            /// [`download_to`](Self::download_to) writes it out and resumes it after a failure.
            pub fn #download(
                self,
            ) -> #rt::BoxFuture<'static, #rt::Result<#rt::ByteStream>> {
                self.#field.download()
            }

            #doc
            pub fn #download_to<'w>(
                self,
                out: &'w mut (dyn #rt::AsyncWrite + Send + Unpin),
            ) -> #rt::BoxFuture<'w, #rt::Result<u64>> {
                self.#field.download_to(out)
            }
        }
    });
    quote! {
        #doc
        #[derive(Clone)]
        #[must_use = "a request does nothing until it is sent"]
        pub struct #builder {
            pub(crate) #field: #gen::Call,
        }

        impl #builder {
            #info
            #(#setters)*
            #paging
            #upload
            #download
        }

        #options
    }
}

/// The doc of a media method's `upload`, with an example that compiles against the
/// generated crate (the builder comes in as an argument, so no values need inventing).
fn upload_doc(krate: &str, builder: &str, accept: &[String]) -> Vec<String> {
    let media_type = example_media_type(accept);
    let text = format!(
        "Sends the request with its media, from bytes ([`Media::new`](crate::Media::new)), \
         a file ([`Media::from_path`](crate::Media::from_path)) or an `AsyncRead` \
         ([`Media::from_reader`](crate::Media::from_reader)), by the protocol \
         [`Upload`](crate::Upload) says. A simple upload is one request; a resumable \
         one, the choice for large media, sends chunks, holding one in memory at a time, reports \
         its progress, and can be resumed from its session URI after a restart.\n\n\
         ```no_run\n\
         # async fn example(call: {krate}::resources::{builder}, saved_session: Option<String>) -> Result<(), Box<dyn std::error::Error>> {{\n\
         use {krate}::{{Media, Upload}};\n\n\
         let media = Media::from_path({media_type:?}, \"upload.bin\")?;\n\
         let upload = match saved_session {{\n    \
             Some(uri) => Upload::resume(uri),\n    \
             None => Upload::resumable().on_session(|uri| println!(\"to resume after a restart: {{uri}}\")),\n\
         }};\n\
         let uploaded = call.upload(media, upload.on_progress(|p| println!(\"{{}} of {{:?}} bytes\", p.sent, p.total))).await?;\n\
         # let _ = uploaded;\n\
         # Ok(())\n\
         # }}\n\
         ```"
    );
    text.lines().map(str::to_owned).collect()
}

/// The doc of a media method's `download_to`, with an example as [`upload_doc`]'s.
fn download_doc(krate: &str, builder: &str) -> Vec<String> {
    let text = format!(
        "Downloads the media content (`alt=media`) into `out` (a file, a socket, a `Vec<u8>`: \
         any `AsyncWrite`) and returns the number of bytes written. Where the body breaks off, \
         the download goes on from the byte it reached with a `Range` request.\n\n\
         ```no_run\n\
         # async fn example(call: {krate}::resources::{builder}) -> {krate}::Result<()> {{\n\
         let mut out: Vec<u8> = Vec::new();\n\
         let written = call.download_to(&mut out).await?;\n\
         # let _ = written;\n\
         # Ok(())\n\
         # }}\n\
         ```"
    );
    text.lines().map(str::to_owned).collect()
}

/// A media type the method accepts, for examples: the first accepted pattern, with a
/// common subtype for a wildcard.
fn example_media_type(accept: &[String]) -> String {
    let pattern = accept.first().map_or("*/*", String::as_str);
    match pattern.split_once('/') {
        Some(("*", _)) | None => "application/octet-stream".to_owned(),
        Some((top, "*")) => {
            let sub = match top {
                "image" => "png",
                "video" => "mp4",
                "audio" => "mpeg",
                "text" => "plain",
                _ => "octet-stream",
            };
            format!("{top}/{sub}")
        }
        Some(_) => pattern.to_owned(),
    }
}

fn method_info(method: &Method) -> TokenStream {
    let gen = generated_code();
    let (id, path) = (&method.id, &method.path);
    let http_method = format_ident!(
        "{}",
        match method.http_method {
            HttpMethod::Get => "Get",
            HttpMethod::Post => "Post",
            HttpMethod::Put => "Put",
            HttpMethod::Patch => "Patch",
            HttpMethod::Delete => "Delete",
        }
    );
    let path_params = method.path_params.iter().map(|p| {
        let name = &p.wire;
        let pattern = match &p.pattern {
            Some(pattern) => quote!(Some(#pattern)),
            None => quote!(None),
        };
        quote!(#gen::PathParam::new(#name, #pattern))
    });
    let path_params = (!method.path_params.is_empty()).then(|| quote!(.with_path_params(&[#(#path_params),*])));
    let scopes = &method.scopes;
    let scopes = (!scopes.is_empty()).then(|| quote!(.with_scopes(&[#(#scopes),*])));
    let media_upload = method.media_upload.as_ref().map(|upload| {
        let simple = upload.simple_path.as_ref().map(|p| quote!(.with_simple_path(#p)));
        let resumable = upload.resumable_path.as_ref().map(|p| quote!(.with_resumable_path(#p)));
        let accept = &upload.accept;
        let accept = (!accept.is_empty()).then(|| quote!(.with_accept(&[#(#accept),*])));
        let max_size = upload.max_size.map(|size| quote!(.with_max_size(#size)));
        quote!(.with_media_upload(&#gen::MediaUploadInfo::new() #simple #resumable #accept #max_size))
    });
    let download = method.media_download.then(|| quote!(.with_media_download()));
    let no_response = method.response.is_none().then(|| quote!(.without_response_body()));
    let api_version = method.api_version.as_ref().map(|v| quote!(.with_api_version(#v)));
    quote! {
        /// What the runtime needs to know to send this method.
        pub(crate) const METHOD: #gen::MethodInfo =
            #gen::MethodInfo::new(#id, #gen::HttpMethod::#http_method, #path)
                #path_params #scopes #media_upload #download #no_response #api_version;
    }
}

fn param_doc(param: &Param) -> TokenStream {
    let mut lines = docs::render(&param.doc);
    if let Some(mask) = &param.mask_fields {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push(format!("Typed field names: [`crate::types::{mask}`]."));
    }
    doc_lines(lines)
}

fn setter(param: &Param) -> TokenStream {
    let (input, value) = param_input(param);
    let field = ident(runtime_contract::BUILDER_CALL_FIELD);
    let (name, wire) = (ident(&param.ident), &param.wire);
    let doc = param_doc(param);
    let deprecated = param.deprecated.then(|| quote!(#[deprecated]));
    let (arg, store) = if param.repeated {
        let value = value(quote!(values));
        (quote!(values), quote!(self.#field.query_repeated(#wire, #value);))
    } else {
        let value = value(quote!(value));
        (quote!(value), quote!(self.#field.query(#wire, #value);))
    };
    quote! {
        #doc
        #deprecated
        pub fn #name(mut self, #arg: #input) -> Self {
            #store
            self
        }
    }
}

fn page_impl(paging: &crate::ir::Paging) -> TokenStream {
    let rt = runtime();
    let page = ident(&paging.response);
    let token = ident(&paging.next_page_token);
    let (item, take) = match &paging.items {
        Some((field, item)) => {
            let (field, item) = (ident(field), rust_type(item, true));
            (item, quote!(::std::mem::take(&mut self.#field)))
        }
        None => (quote!(()), quote!(Vec::new())),
    };
    quote! {
        impl #rt::Page for crate::types::#page {
            type Item = #item;

            fn next_page_token(&self) -> Option<&str> {
                self.#token.as_deref()
            }

            fn take_items(&mut self) -> Vec<Self::Item> {
                #take
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cargo.toml and README.md of a standalone crate

fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` for a TOML comment, where no control character but a tab may appear (cargo
/// refuses the manifest otherwise): line breaks and tabs become spaces, the others are
/// written as their escapes, `\u{1}`.
fn toml_comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// The manifest of a standalone crate: publishable as it is (version requirement on the
/// runtime, license, readme, docs.rs, an include list of what users need), with the
/// runtime's features passed through.
fn cargo_toml(api: &Api, crate_name: &str, options: &CrateOptions) -> String {
    let requirement = toml_string(&options.runtime_version);
    let source = match &options.runtime {
        RuntimeDependency::Registry => String::new(),
        RuntimeDependency::Path(path) => format!("path = {}, ", toml_string(path)),
        RuntimeDependency::Git(url) => format!("git = {}, ", toml_string(url)),
    };
    let features = if api.needs_regex {
        format!(", features = [{}]", toml_string(runtime_contract::REGEX_FEATURE))
    } else {
        String::new()
    };
    let runtime = if source.is_empty() && features.is_empty() {
        requirement
    } else {
        format!("{{ {source}version = {requirement}{features} }}")
    };
    let version = if options.crate_version.contains('+') || !is_build_metadata(&api.revision) {
        options.crate_version.clone()
    } else {
        format!("{}+{}", options.crate_version, api.revision)
    };
    let description = format!("{} ({} {}), generated from its Discovery document", title(api), api.name, api.version);
    let mut keywords = vec!["google".to_owned(), "api".to_owned(), "client".to_owned()];
    let api_keyword = api.name.to_ascii_lowercase();
    if is_keyword(&api_keyword) && !keywords.contains(&api_keyword) {
        keywords.insert(1, api_keyword);
    }
    let keywords: Vec<String> = keywords.iter().map(|k| toml_string(k)).collect();
    // The API's own documentation, when the document links to it.
    let link = &api.documentation_link;
    let homepage = if link.starts_with("https://") || link.starts_with("http://") {
        format!("homepage = {}\n", toml_string(link))
    } else {
        String::new()
    };
    format!(
        "# @generated by discovery-codegen from the {api_name} {api_version} Discovery document, revision {revision}.\n\
         # Do not edit: generate the crate again.\n\
         [package]\n\
         name = {name}\n\
         version = {version}\n\
         edition = \"2021\"\n\
         rust-version = {rust_version}\n\
         description = {description}\n\
         license = {license}\n\
         readme = \"README.md\"\n\
         documentation = {documentation}\n\
         {homepage}\
         keywords = [{keywords}]\n\
         categories = [\"api-bindings\", \"web-programming::http-client\"]\n\
         include = [\"/src/**/*.rs\", \"/README.md\"]\n\
         \n\
         [dependencies]\n\
         {package} = {runtime}\n\
         serde_json = \"1\"\n\
         \n\
         [features]\n\
         # Application Default Credentials through the gcp_auth crate: `auth::GcpAuth`.\n\
         gcp-auth = [\"{package}/gcp-auth\"]\n\
         # `ClientBuilder::transport` accepts a `reqwest_middleware::ClientWithMiddleware`.\n\
         reqwest-middleware = [\"{package}/reqwest-middleware\"]\n\
         \n\
         [package.metadata.docs.rs]\n\
         all-features = true\n",
        api_name = toml_comment(&api.name),
        api_version = toml_comment(&api.version),
        revision = toml_comment(&api.revision),
        name = toml_string(crate_name),
        version = toml_string(&version),
        rust_version = toml_string(crate::RUST_VERSION),
        description = toml_string(&description),
        license = toml_string(&options.license),
        documentation = toml_string(&format!("https://docs.rs/{crate_name}")),
        keywords = keywords.join(", "),
        package = runtime_contract::PACKAGE,
    )
}

/// Whether `text` can be semver build metadata: dot-separated, non-empty runs of ASCII
/// letters, digits and hyphens.
fn is_build_metadata(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Whether crates.io takes `text` as a keyword: at most 20 ASCII letters, digits, `_`, `-`
/// or `+`, starting with a letter.
fn is_keyword(text: &str) -> bool {
    text.len() <= 20
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
}

fn readme(api: &Api, crate_name: &str) -> String {
    let mut out = format!("# {}\n\n", docs::inline(crate_name));
    out.push_str(&format!(
        "A Rust client for {} ({} {}, Discovery revision {}), generated by discovery-codegen.\n\n",
        doc_title(api),
        docs::inline(&api.name),
        docs::inline(&api.version),
        docs::inline(&api.revision)
    ));
    let description = docs::render(&api.description).join("\n");
    if !description.is_empty() {
        out.push_str(&description);
        out.push_str("\n\n");
    }
    if !api.documentation_link.is_empty() {
        // A bare URL becomes a link; anything else is shown as text.
        out.push_str(&format!("Documentation of the API: {}\n\n", docs::inline(&api.documentation_link)));
    }
    out.push_str(&format!(
        "Start with `{}::builder()`; types are in `types`, request builders in `resources`.\n\n",
        api.client_name
    ));
    out.push_str(
        "Cargo features: `gcp-auth` (Application Default Credentials, `auth::GcpAuth`) and \
         `reqwest-middleware` (a `reqwest_middleware::ClientWithMiddleware` as the transport). \
         HTTP, retries, errors and authentication come from the `discovery-runtime` crate.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_string("a \"b\" \\ c\nd"), "\"a \\\"b\\\" \\\\ c d\"");
        assert_eq!(toml_comment("ctl\u{1}x v1\u{7f}\r\n\u{85}"), "ctl\\u{1}x v1\\u{7f}  \\u{85}");
    }

    #[test]
    fn revisions_and_keywords_are_checked_before_they_reach_a_manifest() {
        assert!(is_build_metadata("20251117") && is_build_metadata("rc-1.2"));
        assert!(!is_build_metadata("") && !is_build_metadata("2025 11") && !is_build_metadata("a..b"));
        assert!(is_keyword("youtubeanalytics") && is_keyword("admin"));
        assert!(!is_keyword("businessprofileperformance") && !is_keyword("1password") && !is_keyword("a.b"));
    }
}
