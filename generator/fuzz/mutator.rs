//! Mutations of Discovery documents for fuzzing the generator.
//!
//! Shared by the stable harness (`generator/tests/fuzz.rs`, which includes this file with
//! `#[path]`) and the cargo-fuzz target (`generator/fuzz/fuzz_targets/generate.rs`), so
//! both explore the same input space. Two levels:
//!
//! - JSON values ([`mutate_tree`]): drop, duplicate (a JSON duplicate key), retype and
//!   rename members, swap names, hostile strings (punctuation, Unicode, Rust keywords,
//!   template syntax), deep nesting, `$ref` cycles and dangling `$ref`s, huge strings,
//!   big enums, broken path templates, subtrees spliced from other documents. The tree
//!   type keeps member order and allows duplicate keys, which `serde_json::Value` cannot.
//! - bytes ([`mutate_bytes`]): flips, inserts, deletes, duplicated ranges and truncation of
//!   the serialised text, for the parser's error paths.
//!
//! Everything is driven by [`Rng`], a seeded splitmix64, so a seed reproduces a run.

#![allow(dead_code)] // each includer uses a different part

use serde_json::Value;

/// splitmix64: tiny, seedable and good enough to spread choices; no `rand` dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next_u64() % den < num
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Mostly small, sometimes large: `1..=max`, log-uniform.
    pub fn size(&mut self, max: usize) -> usize {
        let bits = usize::BITS - max.leading_zeros();
        let limit = 1usize << self.below(bits as usize + 1);
        1 + self.below(limit.min(max))
    }
}

/// A JSON tree that keeps member order and duplicate keys.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number's text, written as is (so `1e999` and `-0` survive).
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &str) -> Option<Json> {
        serde_json::from_str::<Value>(text).ok().map(|v| Json::from_value(&v))
    }

    pub fn from_value(value: &Value) -> Json {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Num(n.to_string()),
            Value::String(s) => Json::Str(s.clone()),
            Value::Array(items) => Json::Arr(items.iter().map(Json::from_value).collect()),
            Value::Object(members) => {
                Json::Obj(members.iter().map(|(k, v)| (k.clone(), Json::from_value(v))).collect())
            }
        }
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => write_string(s, out),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Obj(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }

    /// Nesting depth (a scalar is 0).
    pub fn depth(&self) -> usize {
        match self {
            Json::Arr(items) => 1 + items.iter().map(Json::depth).max().unwrap_or(0),
            Json::Obj(members) => 1 + members.iter().map(|(_, v)| v.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The member `key`, created (as `default`) when missing or when `self` is no object.
    pub fn entry(&mut self, key: &str, default: Json) -> &mut Json {
        if !matches!(self, Json::Obj(_)) {
            *self = Json::Obj(Vec::new());
        }
        let Json::Obj(members) = self else { unreachable!() };
        let index = match members.iter().rposition(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                members.push((key.to_owned(), default));
                members.len() - 1
            }
        };
        &mut members[index].1
    }

    fn children(&self) -> Box<dyn Iterator<Item = &Json> + '_> {
        match self {
            Json::Arr(items) => Box::new(items.iter()),
            Json::Obj(members) => Box::new(members.iter().map(|(_, v)| v)),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn child_mut(&mut self, index: usize) -> &mut Json {
        match self {
            Json::Arr(items) => &mut items[index],
            Json::Obj(members) => &mut members[index].1,
            _ => unreachable!("scalars have no children"),
        }
    }

    /// Index paths of the nodes `accept` selects, in document order.
    fn select(&self, accept: &dyn Fn(&Json) -> bool) -> Vec<Vec<usize>> {
        fn walk(node: &Json, path: &mut Vec<usize>, accept: &dyn Fn(&Json) -> bool, out: &mut Vec<Vec<usize>>) {
            if accept(node) {
                out.push(path.clone());
            }
            for (i, child) in node.children().enumerate() {
                path.push(i);
                walk(child, path, accept, out);
                path.pop();
            }
        }
        let mut out = Vec::new();
        walk(self, &mut Vec::new(), accept, &mut out);
        out
    }

    fn at_mut(&mut self, path: &[usize]) -> &mut Json {
        let mut node = self;
        for &i in path {
            node = node.child_mut(i);
        }
        node
    }

    /// A random node that `accept` selects.
    fn pick_mut(&mut self, rng: &mut Rng, accept: &dyn Fn(&Json) -> bool) -> Option<&mut Json> {
        let paths = self.select(accept);
        if paths.is_empty() {
            return None;
        }
        let path = paths[rng.below(paths.len())].clone();
        Some(self.at_mut(&path))
    }

    fn is_obj(&self) -> bool {
        matches!(self, Json::Obj(_))
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Strings that have broken code generators: keywords and names the generated code uses,
/// punctuation, template syntax, rustdoc and comment syntax, control characters, Unicode
/// that changes length under case mapping or is invisible, and Discovery vocabulary.
pub const INTERESTING: &[&str] = &[
    "",
    " ",
    "_",
    "__",
    "-",
    ".",
    "..",
    "/",
    "$",
    "@",
    "#",
    "*",
    "?",
    "&",
    "=",
    "%",
    "+",
    "{",
    "}",
    "{}",
    "{+}",
    "{x}",
    "{+x}",
    "{/x}",
    "{#x}",
    "{x*}",
    "{x:3}",
    "{{x}}",
    "}{",
    "0",
    "1",
    "-1",
    "9abc",
    "2xx",
    "type",
    "self",
    "Self",
    "super",
    "crate",
    "r#type",
    "fn",
    "async",
    "await",
    "dyn",
    "gen",
    "try",
    "union",
    "macro_rules",
    "static",
    "Option",
    "Result",
    "Box",
    "String",
    "Vec",
    "Value",
    "BTreeMap",
    "Default",
    "Some",
    "None",
    "Ok",
    "Err",
    "serde",
    "discovery_runtime",
    "std",
    "core",
    "METHOD",
    "API",
    "builder",
    "client",
    "from_client",
    "send",
    "fields",
    "param",
    "header",
    "timeout",
    "extra",
    "unknown_fields",
    "UnknownValue",
    "UnrecognizedValue",
    "call",
    "body",
    "Empty",
    "\u{0}",
    "\u{7f}",
    "\r",
    "\n",
    "\r\n",
    "\t",
    "a\rb",
    "\u{feff}",
    "\u{200b}",
    "\u{2028}",
    "\u{202e}",
    "é",
    "ß",
    "İ",
    "ǅ",
    "ﬁ",
    "日本語",
    "🦀",
    "e\u{301}",
    "\\",
    "\"",
    "'",
    "`",
    "```",
    "```rust",
    "~~~",
    "*/",
    "/*",
    "//",
    "///",
    "//!",
    "#[",
    "#![allow(x)]",
    "]",
    "[",
    "[a](http://x)",
    "[a]",
    "<b>",
    "</b>",
    "&amp;",
    "http://",
    "https://x.y/z",
    "Required.",
    "Required. Valid values are: * a * b",
    "Valid values are: * names * ab_c",
    "10MB",
    "5TB",
    "0KB",
    "99999999999999999999TB",
    "discovery#restDescription",
    "object",
    "array",
    "string",
    "integer",
    "number",
    "boolean",
    "any",
    "null",
    "int64",
    "uint64",
    "int32",
    "uint32",
    "byte",
    "google-fieldmask",
    "date-time",
    "google-duration",
    "google-datetime",
    "date",
    "float",
    "double",
    "path",
    "query",
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "HEAD",
    "get",
    "nextPageToken",
    "pageToken",
    "items",
    "media",
    "$ref",
    "%2e%2e",
    "../x",
    "a.b",
    "a b",
    "A_B",
    "a__b",
    "ABC",
    "aBC",
    "XMLHttpRequest",
    "HTTPHealthCheck",
    "HttpHealthCheck",
    "v1/{+name}",
    "v1/{name}:do",
    "{+name}",
    "^people/[^/]+$",
    "(unclosed",
    "[",
    "\\d+",
    "READ_SOURCE_TYPE_A",
    "A_B_C",
    "Types",
    "Resources",
];

/// Member names of the Discovery format, so that mutations hit keys the generator reads.
pub const KEYS: &[&str] = &[
    "type",
    "$ref",
    "properties",
    "items",
    "additionalProperties",
    "enum",
    "enumDescriptions",
    "enumDeprecated",
    "format",
    "description",
    "required",
    "repeated",
    "location",
    "pattern",
    "default",
    "deprecated",
    "readOnly",
    "id",
    "methods",
    "resources",
    "parameters",
    "parameterOrder",
    "httpMethod",
    "path",
    "flatPath",
    "request",
    "response",
    "scopes",
    "supportsMediaDownload",
    "supportsMediaUpload",
    "mediaUpload",
    "protocols",
    "simple",
    "resumable",
    "multipart",
    "accept",
    "maxSize",
    "schemas",
    "auth",
    "oauth2",
    "kind",
    "name",
    "version",
    "revision",
    "rootUrl",
    "servicePath",
    "baseUrl",
    "title",
    "documentationLink",
    "batchPath",
];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "255",
    "65536",
    "2147483648",
    "9007199254740993",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "1.5",
    "1e308",
    "1e400",
    "-1e400",
    "1E-400",
    "0.0000001",
];

/// A random string: an interesting one, two glued together, or characters drawn from a
/// mix of letters, digits, punctuation, whitespace and non-ASCII.
pub fn random_string(rng: &mut Rng) -> String {
    const ALPHABET: &[char] = &[
        'a', 'b', 'z', 'A', 'Z', '0', '9', '_', '-', '.', '/', ':', '{', '}', '+', '$', '@', '#', '*', '?', '&', '%',
        '"', '\\', '\'', '`', '[', ']', '<', '>', ' ', '\n', '\r', '\t', '\0', 'é', 'ß', 'İ', '日', '🦀', '\u{301}',
        '\u{feff}', '\u{2028}',
    ];
    match rng.below(4) {
        0 | 1 => (*rng.pick(INTERESTING)).to_owned(),
        2 => format!("{}{}", rng.pick(INTERESTING), rng.pick(INTERESTING)),
        _ => (0..rng.size(24)).map(|_| *rng.pick(ALPHABET)).collect(),
    }
}

fn random_key(rng: &mut Rng) -> String {
    if rng.chance(1, 2) {
        (*rng.pick(KEYS)).to_owned()
    } else {
        random_string(rng)
    }
}

/// A random value, at most `depth` levels deep.
pub fn random_value(rng: &mut Rng, depth: usize) -> Json {
    let kinds = if depth == 0 { 4 } else { 8 };
    match rng.below(kinds) {
        0 => Json::Null,
        1 => Json::Bool(rng.chance(1, 2)),
        2 => Json::Num((*rng.pick(NUMBERS)).to_owned()),
        3 => Json::Str(random_string(rng)),
        4 => Json::Arr((0..rng.below(4)).map(|_| random_value(rng, depth - 1)).collect()),
        5 => Json::Obj((0..rng.below(4)).map(|_| (random_key(rng), random_value(rng, depth - 1))).collect()),
        _ => random_schema(rng, depth - 1),
    }
}

/// A small schema: a type with a format, a `$ref`, an enum, an array or a map.
fn random_schema(rng: &mut Rng, depth: usize) -> Json {
    const TYPES: &[&str] = &["string", "integer", "number", "boolean", "any", "object", "array", "null", "date"];
    const FORMATS: &[&str] =
        &["int64", "uint64", "int32", "uint32", "byte", "float", "double", "google-fieldmask", "date-time", "x"];
    let mut members = vec![("type".to_owned(), Json::Str((*rng.pick(TYPES)).to_owned()))];
    match rng.below(6) {
        0 => members.push(("format".into(), Json::Str((*rng.pick(FORMATS)).to_owned()))),
        1 => members = vec![("$ref".into(), Json::Str(random_string(rng)))],
        2 => {
            members.push(("enum".into(), Json::Arr((0..rng.size(6)).map(|_| Json::Str(random_string(rng))).collect())))
        }
        3 if depth > 0 => members.push(("items".into(), random_schema(rng, depth - 1))),
        4 if depth > 0 => members.push(("additionalProperties".into(), random_schema(rng, depth - 1))),
        5 if depth > 0 => members.push((
            "properties".into(),
            Json::Obj((0..rng.size(3)).map(|_| (random_string(rng), random_schema(rng, depth - 1))).collect()),
        )),
        _ => {}
    }
    if rng.chance(1, 4) {
        members.push(("description".into(), Json::Str(random_string(rng))));
    }
    Json::Obj(members)
}

fn looks_like_schema(node: &Json) -> bool {
    ["type", "$ref", "properties", "items", "additionalProperties", "enum"].iter().any(|k| node.get(k).is_some())
}

fn looks_like_method(node: &Json) -> bool {
    node.get("httpMethod").is_some() || (node.get("path").is_some() && node.get("parameters").is_some())
}

fn nonempty_obj(node: &Json) -> bool {
    matches!(node, Json::Obj(m) if !m.is_empty())
}

/// Deepest nesting the mutations build. serde_json refuses more than 128 levels, so this
/// exercises that limit without making the harness itself recurse without bound.
pub const MAX_DEPTH: usize = 400;

/// Applies one random value-level mutation. `donors` are other documents whose subtrees
/// may be spliced in. Returns the operation's name, for statistics.
pub fn mutate_tree(root: &mut Json, rng: &mut Rng, donors: &[Json]) -> &'static str {
    // Some operations do not apply to every tree (no string to replace, no method); try a
    // few times before giving up.
    for _ in 0..8 {
        if let Some(op) = try_mutate(root, rng, donors) {
            return op;
        }
    }
    "none"
}

fn try_mutate(root: &mut Json, rng: &mut Rng, donors: &[Json]) -> Option<&'static str> {
    match rng.below(20) {
        0 => {
            let Json::Obj(members) = root.pick_mut(rng, &nonempty_obj)? else { return None };
            members.remove(rng.below(members.len()));
            Some("drop-key")
        }
        1 => {
            // A JSON duplicate key: same name, the same or another value.
            let Json::Obj(members) = root.pick_mut(rng, &nonempty_obj)? else { return None };
            let (key, value) = members[rng.below(members.len())].clone();
            let value = if rng.chance(1, 2) { value } else { random_value(rng, 2) };
            let at = rng.below(members.len() + 1);
            members.insert(at, (key, value));
            Some("duplicate-key")
        }
        2 | 3 => {
            let node = root.pick_mut(rng, &|_| true)?;
            *node = random_value(rng, 2);
            Some("retype")
        }
        4 | 5 => {
            let Json::Obj(members) = root.pick_mut(rng, &nonempty_obj)? else { return None };
            let i = rng.below(members.len());
            members[i].0 = random_key(rng);
            Some("rename-key")
        }
        6 => {
            let Json::Obj(members) = root.pick_mut(rng, &|n| matches!(n, Json::Obj(m) if m.len() >= 2))? else {
                return None;
            };
            let (a, b) = (rng.below(members.len()), rng.below(members.len()));
            let name = std::mem::take(&mut members[a].0);
            members[a].0 = std::mem::replace(&mut members[b].0, name);
            Some("swap-names")
        }
        7 | 8 => {
            let node = root.pick_mut(rng, &|n| matches!(n, Json::Str(_)))?;
            *node = Json::Str(random_string(rng));
            Some("string")
        }
        9 => {
            let Json::Obj(members) = root.pick_mut(rng, &Json::is_obj)? else { return None };
            members.push((random_key(rng), random_value(rng, 3)));
            Some("insert-key")
        }
        10 => {
            if root.depth() > MAX_DEPTH / 2 {
                return None;
            }
            let levels = rng.size(MAX_DEPTH / 2);
            let node = root.pick_mut(rng, &looks_like_schema)?;
            let mut inner = std::mem::replace(node, Json::Null);
            for _ in 0..levels {
                inner = match rng.below(4) {
                    0 | 1 => Json::Obj(vec![
                        ("type".into(), Json::Str("object".into())),
                        ("properties".into(), Json::Obj(vec![("p".into(), inner)])),
                    ]),
                    2 => Json::Obj(vec![("type".into(), Json::Str("array".into())), ("items".into(), inner)]),
                    _ => Json::Obj(vec![
                        ("type".into(), Json::Str("object".into())),
                        ("additionalProperties".into(), inner),
                    ]),
                };
            }
            *node = inner;
            Some("deep-nesting")
        }
        11 => {
            ref_cycle(root, rng);
            Some("ref-cycle")
        }
        12 => {
            let target = schema_name(root, donors, rng);
            let node = root.pick_mut(rng, &|_| true)?;
            *node = Json::Obj(vec![("$ref".into(), Json::Str(target))]);
            Some("ref")
        }
        13 => {
            if !rng.chance(1, 8) {
                return None;
            }
            let node = root.pick_mut(rng, &|n| matches!(n, Json::Str(_)))?;
            let chunk = random_string(rng) + "x";
            let len = 1 << (16 + rng.below(5)); // 64 KiB to 1 MiB
            *node = Json::Str(chunk.repeat(len / chunk.len() + 1));
            Some("huge-string")
        }
        14 => {
            let donor = rng.pick(donors);
            let paths = donor.select(&|_| true);
            let graft = donor_node(donor, &paths[rng.below(paths.len())]).clone();
            if graft.depth() + root.depth() > MAX_DEPTH {
                return None;
            }
            *root.pick_mut(rng, &|_| true)? = graft;
            Some("splice")
        }
        15 => {
            let node = root.pick_mut(rng, &looks_like_schema)?;
            big_enum(node, rng);
            Some("big-enum")
        }
        16 | 17 => {
            let method = root.pick_mut(rng, &looks_like_method)?;
            mutate_method(method, rng);
            Some("method")
        }
        18 => {
            let node = root.pick_mut(rng, &|n| matches!(n, Json::Arr(a) if !a.is_empty()) || nonempty_obj(n))?;
            match node {
                Json::Arr(items) => items.clear(),
                Json::Obj(members) => members.clear(),
                _ => {}
            }
            Some("clear")
        }
        _ => {
            let node = root.pick_mut(rng, &|n| matches!(n, Json::Num(_) | Json::Bool(_)))?;
            *node = Json::Num((*rng.pick(NUMBERS)).to_owned());
            Some("number")
        }
    }
}

fn donor_node<'a>(donor: &'a Json, path: &[usize]) -> &'a Json {
    let mut node = donor;
    for &i in path {
        node = node.children().nth(i).expect("path from select");
    }
    node
}

/// A schema name: one the document (or a donor) defines, or a random string (dangling).
fn schema_name(root: &Json, donors: &[Json], rng: &mut Rng) -> String {
    let names: Vec<&String> = std::iter::once(root)
        .chain(donors)
        .filter_map(|d| match d.get("schemas") {
            Some(Json::Obj(members)) => Some(members.iter().map(|(k, _)| k)),
            _ => None,
        })
        .flatten()
        .collect();
    if !names.is_empty() && rng.chance(2, 3) {
        (*rng.pick(&names)).clone()
    } else {
        random_string(rng)
    }
}

/// Makes 1 to 4 schemas refer to each other in a ring, by `$ref` alone or through a
/// property, array item or map value (the latter have an object in the cycle).
fn ref_cycle(root: &mut Json, rng: &mut Rng) {
    let schemas = root.entry("schemas", Json::Obj(Vec::new()));
    let existing: Vec<String> = match schemas {
        Json::Obj(members) => members.iter().map(|(k, _)| k.clone()).collect(),
        _ => Vec::new(),
    };
    let ring: Vec<String> =
        (0..rng.size(4))
            .map(|i| {
                if !existing.is_empty() && rng.chance(1, 2) {
                    rng.pick(&existing).clone()
                } else {
                    format!("Cycle{i}")
                }
            })
            .collect();
    for (i, name) in ring.iter().enumerate() {
        let next = Json::Obj(vec![("$ref".into(), Json::Str(ring[(i + 1) % ring.len()].clone()))]);
        let schema = match rng.below(4) {
            0 | 1 => next,
            2 => Json::Obj(vec![
                ("type".into(), Json::Str("object".into())),
                ("properties".into(), Json::Obj(vec![("next".into(), next)])),
            ]),
            _ => Json::Obj(vec![("type".into(), Json::Str("array".into())), ("items".into(), next)]),
        };
        *schemas.entry(name, Json::Null) = schema;
    }
}

/// Up to 5000 values: distinct, colliding after case conversion, duplicated or hostile.
fn big_enum(node: &mut Json, rng: &mut Rng) {
    let n = rng.size(5000);
    let style = rng.below(4);
    let values: Vec<Json> = (0..n)
        .map(|i| {
            Json::Str(match style {
                0 => format!("VALUE_{i}"),
                // All of these convert to the same Rust name.
                1 => format!("{}a{}", "_".repeat(i % 7), " ".repeat(i / 7 % 5)),
                2 => "SAME".to_owned(),
                _ => random_string(rng),
            })
        })
        .collect();
    let descriptions = (0..rng.below(n + 2)).map(|i| Json::Str(format!("d{i}"))).collect();
    *node.entry("type", Json::Null) = Json::Str("string".into());
    *node.entry("enum", Json::Null) = Json::Arr(values);
    *node.entry("enumDescriptions", Json::Null) = Json::Arr(descriptions);
}

/// Path templates naming missing or malformed variables, odd HTTP methods, parameter
/// orders naming nothing, media upload settings.
fn mutate_method(method: &mut Json, rng: &mut Rng) {
    match rng.below(5) {
        0 => {
            let params: Vec<String> = match method.get("parameters") {
                Some(Json::Obj(members)) => members.iter().map(|(k, _)| k.clone()).collect(),
                _ => Vec::new(),
            };
            let mut template = String::from("v1/");
            for _ in 0..rng.size(4) {
                let var =
                    if !params.is_empty() && rng.chance(2, 3) { rng.pick(&params).clone() } else { random_string(rng) };
                let op = *rng.pick(&["", "+", "#", "/", ".", ";", "?", "&", "="]);
                template.push_str(&match rng.below(6) {
                    0 => format!("{{{op}{var}"),
                    1 => format!("{op}{var}}}"),
                    2 => format!("{{{op}{var}*}}/"),
                    _ => format!("{{{op}{var}}}/"),
                });
            }
            *method.entry("path", Json::Null) = Json::Str(template);
        }
        1 => {
            *method.entry("httpMethod", Json::Null) =
                Json::Str((*rng.pick(&["GET", "get", "Post", "HEAD", "OPTIONS", "", "DELETE", "PATCH"])).to_owned());
        }
        2 => {
            let order = (0..rng.size(5)).map(|_| Json::Str(random_string(rng))).collect();
            *method.entry("parameterOrder", Json::Null) = Json::Arr(order);
        }
        3 => {
            *method.entry("supportsMediaUpload", Json::Null) = Json::Bool(true);
            *method.entry("supportsMediaDownload", Json::Null) = Json::Bool(rng.chance(1, 2));
            let upload = method.entry("mediaUpload", Json::Obj(Vec::new()));
            *upload.entry("maxSize", Json::Null) = Json::Str(random_string(rng));
            *upload.entry("accept", Json::Null) = Json::Arr(vec![Json::Str(random_string(rng))]);
            let protocols = upload.entry("protocols", Json::Obj(Vec::new()));
            let simple = protocols.entry("simple", Json::Obj(Vec::new()));
            *simple.entry("path", Json::Null) = Json::Str(random_string(rng));
        }
        _ => {
            // A path parameter (or a query one pretending), with a hostile name and pattern.
            let name = random_string(rng);
            let mut param = vec![
                ("type".into(), Json::Str("string".into())),
                ("location".into(), Json::Str((*rng.pick(&["path", "query", "header", ""])).to_owned())),
            ];
            if rng.chance(1, 2) {
                param.push(("required".into(), Json::Bool(true)));
            }
            if rng.chance(1, 2) {
                param.push(("pattern".into(), Json::Str(random_string(rng))));
            }
            if rng.chance(1, 3) {
                param.push(("repeated".into(), Json::Bool(true)));
            }
            let params = method.entry("parameters", Json::Obj(Vec::new()));
            *params.entry(&name, Json::Null) = Json::Obj(param);
            let path = match method.get("path") {
                Some(Json::Str(p)) => format!("{p}/{{+{name}}}"),
                _ => format!("{{{name}}}"),
            };
            *method.entry("path", Json::Null) = Json::Str(path);
        }
    }
}

/// Applies one byte-level mutation to serialised text.
pub fn mutate_bytes(data: &mut Vec<u8>, rng: &mut Rng) -> &'static str {
    const TOKENS: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b",",
        b":",
        b"\\",
        b"\\u0000",
        b"\\ud800",
        b"\\udfff\\ud800",
        b"null",
        b"1e999",
        b"-",
        b"\"$ref\"",
        b"\"type\"",
        b"\xff",
        b"\xc3",
        b"\xed\xa0\x80",
        b"\0",
        b"\r\n",
        b"/*",
        b"//",
        b"\xef\xbb\xbf",
    ];
    if data.is_empty() {
        data.extend_from_slice(TOKENS[rng.below(TOKENS.len())]);
        return "bytes-insert";
    }
    let at = rng.below(data.len());
    match rng.below(7) {
        0 => {
            data[at] ^= 1 << rng.below(8);
            "bytes-flip"
        }
        1 => {
            let token = TOKENS[rng.below(TOKENS.len())];
            data.splice(at..at, token.iter().copied());
            "bytes-insert"
        }
        2 => {
            let end = (at + rng.size(64)).min(data.len());
            data.drain(at..end);
            "bytes-delete"
        }
        3 => {
            let end = (at + rng.size(256)).min(data.len());
            let copy = data[at..end].to_vec();
            let to = rng.below(data.len());
            data.splice(to..to, copy);
            "bytes-duplicate"
        }
        4 => {
            data.truncate(at);
            "bytes-truncate"
        }
        5 => {
            data[at] = *rng.pick(b"{}[]\",:\\0a \n");
            "bytes-replace"
        }
        _ => {
            // Swap two ranges of the same length.
            let len = rng.size(32).min(data.len() / 2).max(1);
            let (a, b) = (rng.below(data.len() - len + 1), rng.below(data.len() - len + 1));
            if a + len <= b || b + len <= a {
                for i in 0..len {
                    data.swap(a + i, b + i);
                }
            }
            "bytes-swap"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_duplicates() {
        let tree = Json::Obj(vec![("a".into(), Json::Num("1e999".into())), ("a".into(), Json::Str("\u{0}\"".into()))]);
        assert_eq!(tree.to_text(), r#"{"a":1e999,"a":"\u0000\""}"#);
    }
}
