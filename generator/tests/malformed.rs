//! Malformed and hostile Discovery documents.
//!
//! Documents that cannot become a client must fail with an error that names the JSON path
//! of the problem; each test asserts the path and snapshots the whole message (review with
//! `cargo insta review`). Hostile documents that are still valid (empty and punctuation
//! names, keywords, huge descriptions, big enums, deep but legal nesting) must generate a
//! crate whose Rust files parse.
//!
//! Tests run on libtest's threads (2 MiB stacks in a debug build), so a document that
//! needs deep recursion fails here before it fails a user running the generator on a
//! thread pool.

use std::time::{Duration, Instant};

use discovery_codegen::{generate, CrateOptions, Error, GeneratedCrate};

/// A document with the two required members and `members` (JSON object members, without
/// the braces) after them.
fn doc(members: &str) -> String {
    if members.is_empty() {
        r#"{"name":"t","version":"v1"}"#.to_owned()
    } else {
        format!(r#"{{"name":"t","version":"v1",{members}}}"#)
    }
}

/// A document with one resource `r` holding one method `get` made of `method` (members).
fn method(method: &str) -> String {
    doc(&format!(r#""resources":{{"r":{{"methods":{{"get":{{"id":"t.r.get","httpMethod":"GET",{method}}}}}}}}}"#))
}

/// `levels` inline objects, each the only property of the one around it.
fn nested_objects(levels: usize) -> String {
    let mut schema = r#"{"type":"string"}"#.to_owned();
    for _ in 0..levels {
        schema = format!(r#"{{"type":"object","properties":{{"p":{schema}}}}}"#);
    }
    doc(&format!(r#""schemas":{{"Deep":{schema}}}"#))
}

fn path_of(err: &Error) -> &str {
    match err {
        Error::Parse(e) => &e.path,
        Error::Resolve(e) => &e.path,
        Error::Format { .. } => panic!("the generator emitted invalid Rust: {err}"),
    }
}

/// Generates `input`, checks that every Rust file of the result parses, and returns it.
fn generated(input: &str) -> GeneratedCrate {
    let krate = generate(input, &CrateOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    // On a stack as large as the generator's emitter threads have: `syn` parses deeply
    // nested types by recursion.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn_scoped(scope, || {
                for file in &krate.files {
                    if file.path.extension().is_some_and(|ext| ext == "rs") {
                        if let Err(e) = syn::parse_file(&file.contents) {
                            panic!("{} does not parse: {e}", file.path.display());
                        }
                    }
                }
            })
            .unwrap()
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    // Parsing is not compiling; one thing that parses and does not compile is cheap to
    // check: every resource handle the client names is defined.
    let (lib, resources) = (file(&krate, "src/lib.rs"), file(&krate, "src/resources.rs"));
    for named in lib.split("resources::").skip(1) {
        let handle: String = named.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if handle.chars().next().is_some_and(char::is_uppercase) {
            assert!(
                resources.contains(&format!("pub struct {handle} ")),
                "lib.rs names resources::{handle}, never defined"
            );
        }
    }
    krate
}

fn file<'a>(krate: &'a GeneratedCrate, path: &str) -> &'a str {
    &krate.files.iter().find(|f| f.path.to_str() == Some(path)).expect("file").contents
}

/// One test per rejected document: the error's JSON path is asserted, its message is a
/// snapshot named after the test.
macro_rules! rejected {
    ($($(#[$doc:meta])* $name:ident: $input:expr => $path:expr;)*) => {$(
        $(#[$doc])*
        #[test]
        fn $name() {
            let input: String = $input.into();
            let err = generate(&input, &CrateOptions::default()).expect_err("the document must be rejected");
            assert_eq!(path_of(&err), $path, "{err}");
            insta::assert_snapshot!(err.to_string());
        }
    )*};
}

rejected! {
    not_json: "not json" => ".";
    empty_input: "" => ".";
    truncated: r#"{"name":"t","version":"v1","schemas":{"A":{"type":"obj"# => "schemas.A.type";
    array_at_the_root: "[]" => ".";
    trailing_garbage: doc("") + " x" => ".";
    /// `name` is required: the crate and client names come from it.
    missing_name: r#"{"version":"v1"}"# => ".";
    other_kind: r#"{"kind":"discovery#directoryList","name":"t","version":"v1"}"# => "kind";
    name_is_a_number: r#"{"name":3,"version":"v1"}"# => "name";
    schemas_is_an_array: doc(r#""schemas":[]"#) => "schemas";
    property_type_is_a_number: doc(r#""schemas":{"A":{"type":"object","properties":{"b":{"type":3}}}}"#)
        => "schemas.A.properties.b.type";
    enum_is_a_string: doc(r#""schemas":{"A":{"type":"string","enum":"RED"}}"#) => "schemas.A.enum";
    required_is_a_string: method(r#""path":"v1/x","parameters":{"p":{"type":"string","location":"query","required":"yes"}}"#)
        => "resources.r.methods.get.parameters.p.required";
    http_method_missing: doc(r#""resources":{"r":{"methods":{"get":{"path":"v1/x"}}}}"#) => "resources.r.methods.get";
    media_upload_without_a_path: method(r#""path":"v1/x","supportsMediaUpload":true,"mediaUpload":{"protocols":{"simple":{"multipart":true}}}"#)
        => "resources.r.methods.get.mediaUpload.protocols.simple";
    scopes_is_an_array: doc(r#""auth":{"oauth2":{"scopes":["https://x/auth/a"]}}"#) => "auth.oauth2.scopes";
    unknown_type: doc(r#""schemas":{"A":{"type":"object","properties":{"b":{"type":"strange"}}}}"#)
        => "schemas.A.properties.b.type";
    unsupported_http_method: doc(r#""resources":{"r":{"methods":{"get":{"path":"v1/x","httpMethod":"TRACE"}}}}"#)
        => "resources.r.methods.get.httpMethod";

    dangling_ref_in_a_property: doc(r#""schemas":{"A":{"type":"object","properties":{"b":{"$ref":"Nope"}}}}"#)
        => "schemas.A.properties.b.$ref";
    dangling_ref_in_array_items: doc(r#""schemas":{"A":{"type":"array","items":{"$ref":"Nope"}}}"#)
        => "schemas.A.items.$ref";
    dangling_ref_in_map_values: doc(r#""schemas":{"A":{"type":"object","additionalProperties":{"$ref":"Nope"}}}"#)
        => "schemas.A.additionalProperties.$ref";
    dangling_ref_in_a_request: method(r#""path":"v1/x","request":{"$ref":"Nope"}"#) => "resources.r.methods.get.request.$ref";
    dangling_ref_in_a_response: method(r#""path":"v1/x","response":{"$ref":""}"#) => "resources.r.methods.get.response.$ref";
    /// A schema that is only a `$ref` becomes a type alias; a ring of them has no type.
    ref_cycle_of_one: doc(r#""schemas":{"A":{"$ref":"A"}}"#) => "schemas.A.$ref";
    ref_cycle_of_three: doc(r#""schemas":{"A":{"$ref":"B"},"B":{"$ref":"C"},"C":{"$ref":"A"}}"#) => "schemas.A.$ref";
    /// The message names the ring, in the order the `$ref`s go, not the chain that leads to it.
    ref_chain_into_a_cycle: doc(r#""schemas":{"A":{"$ref":"D"},"D":{"$ref":"C"},"C":{"$ref":"B"},"B":{"$ref":"C"}}"#)
        => "schemas.A.$ref";
    /// `true`/`false` or a schema; serde would otherwise fill a schema from an array.
    additional_properties_is_an_array: doc(r#""schemas":{"A":{"type":"object","additionalProperties":[null,"string"]}}"#)
        => "schemas.A.additionalProperties";

    template_names_a_missing_parameter: method(r#""path":"v1/{+name}","parameters":{"other":{"type":"string","location":"path"}}"#)
        => "resources.r.methods.get.path";
    template_names_a_query_parameter: method(r#""path":"v1/{name}","parameters":{"name":{"type":"string","location":"query"}}"#)
        => "resources.r.methods.get.path";
    template_is_unclosed: method(r#""path":"v1/{name","parameters":{"name":{"type":"string","location":"path"}}"#)
        => "resources.r.methods.get.path";
    template_variable_is_empty: method(r#""path":"v1/{+}""#) => "resources.r.methods.get.path";
    template_list_has_an_empty_variable: method(r#""path":"v1/{name,}","parameters":{"name":{"type":"string","location":"path"}}"#)
        => "resources.r.methods.get.path";
    template_list_names_a_missing_parameter: method(r#""path":"v1/{name,other}","parameters":{"name":{"type":"string","location":"path"}}"#)
        => "resources.r.methods.get.path";
    /// `{name:3}` means the first three characters, which the runtime does not cut.
    template_uses_a_prefix_modifier: method(r#""path":"v1/{name:3}","parameters":{"name":{"type":"string","location":"path"}}"#)
        => "resources.r.methods.get.path";
    /// The runtime expands `{name}` and `{+name}` only; every call would fail with `{/name}`
    /// (the other operators are in `unsupported_template_operators_are_rejected`).
    template_uses_an_unsupported_operator: method(r#""path":"v1{/name}","parameters":{"name":{"type":"string","location":"path"}}"#)
        => "resources.r.methods.get.path";
    /// Paths are joined to the client's base URL; one naming its own host is refused rather
    /// than appended (`https://base/https://other/...`).
    method_path_is_an_absolute_url: method(r#""path":"https://other.example.com/v1/x""#) => "resources.r.methods.get.path";
    method_path_is_a_network_path: method(r#""path":"//other.example.com/v1/x""#) => "resources.r.methods.get.path";
    upload_path_is_an_absolute_url: method(r#""path":"v1/x","supportsMediaUpload":true,
        "mediaUpload":{"protocols":{"simple":{"multipart":true,"path":"HTTP://other.example.com/upload/v1/x"}}}"#)
        => "resources.r.methods.get.mediaUpload.protocols.simple.path";
    /// Upload paths are expanded with the method's path parameters, as its path is.
    upload_path_names_a_missing_parameter: method(r#""path":"v1/x","supportsMediaUpload":true,
        "mediaUpload":{"protocols":{"simple":{"multipart":true,"path":"/upload/v1/{nothere}"}}}"#)
        => "resources.r.methods.get.mediaUpload.protocols.simple.path";
    upload_path_uses_an_unsupported_operator: method(r#""path":"v1/{name}","parameters":{"name":{"type":"string","location":"path"}},
        "supportsMediaUpload":true,"mediaUpload":{"protocols":{"resumable":{"multipart":true,"path":"/resumable/upload/v1/{?name}"}}}"#)
        => "resources.r.methods.get.mediaUpload.protocols.resumable.path";

    /// `apiVersion` is sent as the `x-goog-api-version` header; a method's value that is not
    /// a header value would make the runtime panic when the method is sent.
    method_api_version_is_not_a_header_value: method(r#""path":"v1/x","apiVersion":"2024-01-01 \u00e9""#)
        => "resources.r.methods.get.apiVersion";
    /// The document's is held to the same rule, wherever it would fail.
    api_version_is_not_a_header_value: doc(r#""apiVersion":"versi\u00f3n""#) => "apiVersion";
    api_version_has_a_control_character: doc(r#""apiVersion":"v1\u007f""#) => "apiVersion";

    /// JSON allows duplicate keys, and serde would keep the last `get`: the document is
    /// ambiguous, so it is rejected.
    duplicate_method_names: doc(r#""resources":{"r":{"methods":{
        "get":{"path":"v1/a","httpMethod":"GET"},
        "get":{"path":"v1/b","httpMethod":"POST"}}}}"#) => "resources.r.methods";
    duplicate_schema_names: doc(r#""schemas":{"A":{"type":"object"},"A":{"type":"string"}}"#) => "schemas";
    duplicate_property_names: doc(r#""schemas":{"A":{"type":"object","properties":{"b":{"type":"string"},"b":{"type":"integer"}}}}"#)
        => "schemas.A.properties";
    duplicate_resource_names: doc(r#""resources":{"r":{},"r":{}}"#) => "resources";
    duplicate_parameter_names: method(r#""path":"v1/x","parameters":{"q":{"type":"string","location":"query"},"q":{"type":"string","location":"query"}}"#)
        => "resources.r.methods.get.parameters";
    duplicate_members_of_a_method: doc(r#""resources":{"r":{"methods":{"get":{"path":"v1/a","path":"v1/b","httpMethod":"GET"}}}}"#)
        => "resources.r.methods.get";

    /// A header (or any other place) is not where the runtime sends parameters; sent in the
    /// query, it would reach the service as something else.
    parameter_in_a_header: method(r#""path":"v1/x","parameters":{"X-Goog-Foo":{"type":"string","location":"header","required":true}}"#)
        => "resources.r.methods.get.parameters.X-Goog-Foo.location";

    /// 200 levels of inline objects are 400 levels of JSON, past serde_json's recursion
    /// limit (128), which keeps the parser off the end of the stack.
    nested_inline_objects_200_levels: nested_objects(200) => nested_path(62) + ".properties";
}

#[test]
fn unsupported_template_operators_are_rejected() {
    for operator in ['#', '/', '.', ';', '?', '&', '=', ',', '!', '@', '|'] {
        let input = method(&format!(
            r#""path":"v1/{{{operator}name}}","parameters":{{"name":{{"type":"string","location":"path"}}}}"#
        ));
        let err = generate(&input, &CrateOptions::default()).expect_err("the template must be rejected");
        assert_eq!(path_of(&err), "resources.r.methods.get.path", "{operator}: {err}");
    }
    // What the runtime expands is still accepted, a colon in the first segment included.
    for path in
        ["v1/{name}", "v1/{+name}", "v1/{name*}", "v1beta1:evaluate/{name}", "v1/{+name}:copy//x", "v1/{name,name}"]
    {
        generated(&method(&format!(
            r#""path":"{path}","parameters":{{"name":{{"type":"string","location":"path","required":true}}}}"#
        )));
    }
}

/// `schemas.Deep` and then `levels` times `.properties.p`.
fn nested_path(levels: usize) -> String {
    format!("schemas.Deep{}", ".properties.p".repeat(levels))
}

#[test]
fn nested_inline_objects_up_to_the_limit_generate() {
    // 62 levels of inline objects put the innermost schema 127 levels deep in the JSON
    // (root, `schemas`, then two per level): as deep as serde_json goes.
    let krate = generated(&nested_objects(62));
    assert_eq!(krate.stats.types, 62);
}

#[test]
fn nested_arrays_up_to_the_limit_generate() {
    // Each level of `items` is one level of JSON: 120 of them, near serde_json's limit of
    // 128. The field's type is 120 nested `Vec`s, which the formatter parses and prints by
    // recursion.
    let mut schema = r#"{"type":"string"}"#.to_owned();
    for _ in 0..120 {
        schema = format!(r#"{{"type":"array","items":{schema}}}"#);
    }
    let krate = generated(&doc(&format!(r#""schemas":{{"A":{{"type":"object","properties":{{"deep":{schema}}}}}}}"#)));
    // The formatter spreads so deep a type over lines (with trailing commas).
    let types: String = file(&krate, "src/types.rs").split_whitespace().collect();
    assert!(types.contains(&format!("pubdeep:{}String", "Vec<".repeat(120))), "{types}");
}

#[test]
fn ref_cycles_through_objects_generate_with_boxes() {
    let krate = generated(&doc(r#""schemas":{
        "A":{"type":"object","properties":{"b":{"$ref":"B"}}},
        "B":{"$ref":"A"},
        "C":{"type":"object","properties":{"me":{"$ref":"C"}}}}"#));
    let types = file(&krate, "src/types.rs");
    assert!(types.contains("pub b: Option<Box<B>>"), "{types}");
    assert!(types.contains("pub me: Option<Box<C>>"), "{types}");
}

/// A repeated path parameter takes a list, expanded `a,b` by the runtime, where one string
/// holding a comma would have it encoded.
#[test]
fn repeated_path_parameters_take_lists() {
    let krate = generated(&method(
        r#""path":"v1/{ids}:batch","parameters":{"ids":{"type":"string","location":"path","required":true,"repeated":true}}"#,
    ));
    let resources = file(&krate, "src/resources.rs");
    assert!(resources.contains("ids: impl IntoIterator<Item = impl Into<String>>"), "{resources}");
    assert!(resources.contains(r#"path_param_list("ids", ids)"#), "{resources}");
}

/// `"protocols": {}` leaves a method nothing to upload with: it gets no `upload`, as a
/// method without `mediaUpload` does, rather than one that fails on every call.
#[test]
fn media_upload_without_protocols_generates_no_upload() {
    let with = |protocols: &str| {
        let krate = generated(&method(&format!(
            r#""path":"v1/x","supportsMediaUpload":true,"mediaUpload":{{"accept":["*/*"],"protocols":{{{protocols}}}}}"#
        )));
        file(&krate, "src/resources.rs").to_owned()
    };
    let without = with("");
    assert!(!without.contains("pub fn upload("), "{without}");
    assert!(!without.contains("with_media_upload"), "{without}");
    let simple = with(r#""simple":{"multipart":true,"path":"/upload/v1/x"}"#);
    assert!(simple.contains("pub fn upload("), "{simple}");
}

#[test]
fn empty_and_punctuation_names_generate() {
    let krate = generated(
        r#"{"name":"!!","version":"..","title":"","schemas":{
            "":{"type":"object","properties":{"":{"type":"string"},"$":{"type":"string"},"...":{"type":"integer"},"-":{"type":"boolean"}}},
            "@@":{"type":"object","properties":{"x":{"$ref":""}}},
            "-":{"type":"string","enum":["","-","!!","a b","A_B","a-b"]}},
          "resources":{
            "":{"methods":{"":{"path":"v1/x","httpMethod":"GET","response":{"$ref":"@@"}}}},
            "!!":{"methods":{"...":{"path":"v1/{%$}","httpMethod":"POST","parameters":{
                "%$":{"type":"string","location":"path","required":true},
                "":{"type":"string","location":"query"},
                "?":{"type":"string","location":"query","required":true}},
              "request":{"$ref":""}}},
              "resources":{".":{"methods":{"-":{"path":"v1/y","httpMethod":"DELETE"}}}}}}}"#,
    );
    // `google-!!-..` with the punctuation collapsed and trimmed.
    assert_eq!(krate.crate_name, "google");
    assert_eq!(krate.stats.methods, 3);
}

/// Prettyplease prints a runtime table as a placeholder line that the generator then
/// replaces; the same text in a description or an id is prose, and stays.
#[test]
fn placeholder_text_in_descriptions_and_ids_stays_prose() {
    let placeholder = "discovery_runtime::json_object!(__discovery_codegen_table_0);";
    let krate = generated(&doc(&format!(
        r#""schemas":{{"A":{{"type":"object","description":"{placeholder}","properties":{{"b":{{"type":"string"}}}}}}}},
           "resources":{{"r":{{"methods":{{"get":{{"id":"discovery_runtime::call_options!(__discovery_codegen_table_0);",
               "path":"v1/x","httpMethod":"GET","description":"{placeholder}","response":{{"$ref":"A"}}}}}}}}}}"#
    )));
    let types = file(&krate, "src/types.rs");
    assert!(types.contains(&format!("/// {placeholder}")), "{types}");
    assert!(types.contains("discovery_runtime::json_object!(A, extra {\n"), "{types}");
}

/// Values nobody reads (a parameter's `default`, unknown keys in `additionalProperties`)
/// may hold numbers beyond `f64`.
#[test]
fn numbers_beyond_f64_in_members_not_read_generate() {
    let krate = generated(&doc(
        r#""schemas":{"A":{"type":"object","additionalProperties":{"type":"string","x-big":1e400,"default":-1e999}}},
           "resources":{"r":{"methods":{"get":{"path":"v1/x","httpMethod":"GET",
               "parameters":{"n":{"type":"integer","format":"int32","location":"query","default":1e400}}}}}}"#,
    ));
    assert_eq!(krate.stats.methods, 1);
}

/// Chains of `$ref` aliases are followed once each: a document of 30,000 chained aliases,
/// many fields naming the head of the chain, generates in linear time.
#[test]
fn long_alias_chains_generate_in_linear_time() {
    let links = 30_000;
    let mut schemas: Vec<String> = (0..links).map(|i| format!(r#""S{i}":{{"$ref":"S{}"}}"#, i + 1)).collect();
    schemas.push(format!(r#""S{links}":{{"type":"string","format":"int64"}}"#));
    let fields: Vec<String> = (0..1000).map(|i| format!(r#""f{i}":{{"$ref":"S0"}}"#)).collect();
    schemas.push(format!(r#""T":{{"type":"object","properties":{{{}}}}}"#, fields.join(",")));
    let started = Instant::now();
    let result = generate(&doc(&format!(r#""schemas":{{{}}}"#, schemas.join(","))), &CrateOptions::default());
    let elapsed = started.elapsed();
    let krate = result.unwrap_or_else(|err| panic!("{err}"));
    assert!(file(&krate, "src/types.rs").contains("f999: \"f999\" as int64"));
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
    // A ring at the end of a long chain is still found.
    let mut schemas: Vec<String> = (0..links).map(|i| format!(r#""S{i}":{{"$ref":"S{}"}}"#, i + 1)).collect();
    schemas.push(format!(r#""S{links}":{{"$ref":"S{}"}}"#, links - 1));
    let err = generate(&doc(&format!(r#""schemas":{{{}}}"#, schemas.join(","))), &CrateOptions::default()).unwrap_err();
    assert!(err.to_string().contains("cycle"), "{err}");
}

#[test]
fn keyword_and_prelude_names_generate() {
    let names = ["type", "self", "Self", "crate", "super", "fn", "async", "gen", "Option", "Result", "Box", "String"];
    let properties: Vec<String> = names.iter().map(|n| format!(r#""{n}":{{"type":"string"}}"#)).collect();
    let schemas: Vec<String> = names
        .iter()
        .map(|n| format!(r#""{n}":{{"type":"object","properties":{{{}}}}}"#, properties.join(",")))
        .collect();
    let methods: Vec<String> =
        names.iter().map(|n| format!(r#""{n}":{{"path":"v1/{n}","httpMethod":"GET"}}"#)).collect();
    let krate = generated(&doc(&format!(
        r#""schemas":{{{}}},"resources":{{"self":{{"methods":{{{}}}}}}}"#,
        schemas.join(","),
        methods.join(",")
    )));
    assert_eq!(krate.stats.types, names.len());
}

#[test]
fn control_characters_in_names_and_descriptions_generate() {
    // A lone CR in a doc comment is a compile error; so is one in a name that a doc line
    // quotes (the API name, a resource path, a method id).
    let krate = generated(&doc(r#""title":"a\rb","revision":"1\r2","description":"x\ry\u0000z\u2028w",
            "schemas":{"A":{"type":"string","description":"one\rtwo\r\nthree","enum":["a\rb","c"],"enumDescriptions":["p\rq","\u0007"]}},
            "resources":{"r\rs":{"methods":{"g\ret":{"id":"t\r.get","path":"v1/x","httpMethod":"GET","description":"\r"}}}}"#));
    for file in &krate.files {
        assert!(!file.contents.contains('\r') || file.path.ends_with("README.md"), "{}", file.path.display());
    }
}

/// Doc comment lines (`///` and `//!`) of every Rust file, and the README, which is the
/// crate's documentation.
fn doc_lines(krate: &GeneratedCrate) -> Vec<String> {
    let mut lines = Vec::new();
    for file in &krate.files {
        if file.path.ends_with("README.md") {
            lines.extend(file.contents.lines().map(str::to_owned));
        } else if file.path.extension().is_some_and(|ext| ext == "rs") {
            lines.extend(
                file.contents
                    .lines()
                    .map(str::trim_start)
                    .filter(|line| line.starts_with("///") || line.starts_with("//!"))
                    .map(str::to_owned),
            );
        }
    }
    lines
}

#[test]
fn bidi_controls_are_escaped_in_docs() {
    // rustc denies U+202A-U+202E and U+2066-U+2069 in comments
    // (`text_direction_codepoint_in_comment`), doc comments included.
    let krate = generated(
        r#"{"name":"b\u2067","version":"v1","title":"T\u2066","revision":"1\u2069","description":"D\u202a",
            "schemas":{"A":{"type":"object","description":"Admin \u202e only [x](https://e.com/\u202b)",
                "properties":{"b\u202ec":{"type":"string","enum":["x\u2066y","Z"],"enumDescriptions":["\u202c",""]}}}},
            "auth":{"oauth2":{"scopes":{"https://x/\u202d":{"description":"s\u2068"}}}},
            "resources":{"r\u202e":{"methods":{"m\u202e":{"id":"t.m\u202e","path":"v1/\u202e","httpMethod":"GET",
                "description":"```\n\u202e\n```","scopes":["https://x/\u202d"],
                "parameters":{"q\u202e":{"type":"string","location":"query","description":"p\u202e"}}}}}}}"#,
    );
    let is_bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    for line in doc_lines(&krate) {
        assert!(!line.contains(is_bidi), "{}", line.escape_debug());
    }
    let types = file(&krate, "src/types.rs");
    assert!(types.contains("/// Admin \\u{202E} only"), "{types}");
    assert!(types.contains("/// Values of `schemas.A.properties.b\\u{202E}c` in the Discovery document."), "{types}");
}

#[test]
fn document_strings_in_code_spans_stay_in_their_span() {
    // A backtick ends a code span early, a line break starts a new doc line, and a fence
    // starts a code block that rustdoc compiles as a doctest; names, ids, paths and scopes
    // are quoted in docs, and each stays in one code span with a long enough fence.
    let krate = generated(
        r#"{"name":"d","version":"v1","resources":{"r`[Res]`\n```\nnot rust {{{\n```\n":{"methods":{
            "m":{"id":"d.m`[Id]`","path":"v1/`x`\n```","httpMethod":"GET","scopes":["https://x/auth/a`[Scope]`"]}}}}}"#,
    );
    let lines = doc_lines(&krate);
    for line in &lines {
        let text = line.trim_start_matches(['/', '!']).trim_start();
        // A line of backticks is a fence unless its info string has a backtick (CommonMark).
        let fence = text.starts_with("```") && !text.trim_start_matches('`').contains('`');
        assert!(!fence && !text.starts_with("not rust"), "{line}");
    }
    let resources = file(&krate, "src/resources.rs");
    for expected in [
        "/// The ```` r`[Res]` ``` not rust {{{ ``` ```` resource of the API",
        "/// ```` GET v1/`x` ``` ```` (`` d.m`[Id]` ``)",
        "/// - `` https://x/auth/a`[Scope]` ``",
        "/// Request builder for `` d.m`[Id]` ``:",
    ] {
        assert!(resources.contains(expected), "{expected}\n{resources}");
    }
    assert!(file(&krate, "src/lib.rs").contains("/// The ```` r`[Res]` ``` not rust {{{ ``` ```` resource."));
}

#[test]
fn control_characters_stay_out_of_the_manifest() {
    // Cargo refuses a manifest with a control character in a comment or a string.
    let krate = generated(
        r#"{"name":"ctl\u0001x","version":"v1\u007f","revision":"r\u0008","title":"t\u001b","documentationLink":"https://e.com/\u0002"}"#,
    );
    let manifest = file(&krate, "Cargo.toml");
    assert!(!manifest.contains(|c: char| c.is_control() && c != '\n'), "{}", manifest.escape_debug());
    assert!(manifest.starts_with(
        "# @generated by discovery-codegen from the ctl\\u{1}x v1\\u{7f} Discovery document, revision r\\u{8}.\n"
    ));
}

#[test]
fn a_name_listed_twice_in_parameter_order_keeps_its_first_place() {
    let krate =
        generated(&doc(r#""resources":{"r":{"methods":{"dup":{"id":"t.r.dup","path":"v1/{name}","httpMethod":"GET",
        "parameterOrder":["name","q","name","q"],
        "parameters":{"q":{"type":"string","location":"query","required":true},
            "name":{"type":"string","location":"path","required":true}}}}}}"#));
    let resources = file(&krate, "src/resources.rs");
    let constructor = resources.split("pub fn dup(").nth(1).and_then(|rest| rest.split(')').next()).expect("dup");
    let arguments: Vec<&str> = constructor.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
    assert_eq!(arguments, ["&self", "name: impl Into<String>", "q: impl Into<String>"], "{resources}");
}

#[test]
fn huge_description_generates() {
    // 10 MB of prose, with the characters the doc renderer escapes.
    let line = "A description with <html> & [brackets] and https://example.com/x. ";
    let huge = line.repeat(10_000_000 / line.len() + 1).replace(". A", ".\\nA");
    let started = Instant::now();
    let krate = generated(&doc(&format!(r#""schemas":{{"A":{{"type":"object","description":"{huge}"}}}}"#)));
    assert!(file(&krate, "src/types.rs").len() > 10_000_000);
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
}

#[test]
fn enum_with_10k_values_generates() {
    // Distinct values, and values that all convert to the same Rust name (which once made
    // naming quadratic).
    let distinct: Vec<String> = (0..10_000).map(|i| format!("\"VALUE_{i}\"")).collect();
    let colliding: Vec<String> =
        (0..10_000).map(|i| format!("\"{}a\"", "_".repeat(i % 50) + &" ".repeat(i / 50))).collect();
    let started = Instant::now();
    let krate = generated(&doc(&format!(
        r#""schemas":{{"Big":{{"type":"string","enum":[{}]}},"Same":{{"type":"string","enum":[{}]}}}}"#,
        distinct.join(","),
        colliding.join(",")
    )));
    let types = file(&krate, "src/types.rs");
    assert!(types.contains("Value9999,") && types.contains("A10000,"), "variants missing");
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
}

#[test]
fn colliding_names_are_claimed_in_linear_time() {
    // 100k claims of one name: instant when each claim starts at the next free suffix,
    // hours when each scans the suffixes from 2 (as it once did). The bound is loose so a
    // slow debug build on a busy machine still passes.
    let mut names = discovery_codegen::naming::Namespace::new();
    let started = Instant::now();
    for _ in 0..100_000 {
        names.claim("Value", "");
    }
    assert_eq!(names.claim("Value", ""), "Value100001");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}
