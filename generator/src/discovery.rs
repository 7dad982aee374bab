//! Stage 1: a typed serde model of the Discovery format.
//!
//! Lenient on keys it does not know (Google adds keys over time), precise on the keys the
//! generator uses: a wrong type there is an error naming the JSON path, never a guess.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A Discovery document (`discovery#restDescription`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestDescription {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub revision: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub documentation_link: String,
    #[serde(default)]
    pub root_url: String,
    #[serde(default)]
    pub service_path: String,
    #[serde(default)]
    pub base_url: String,
    /// The path of `baseUrl` below its host, in older documents (`/drive/v2/`), which
    /// may have neither `rootUrl` nor `servicePath`.
    #[serde(default)]
    pub base_path: String,
    #[serde(default)]
    pub batch_path: String,
    /// The API version Google's clients send as `x-goog-api-version` (compute has one).
    #[serde(default)]
    pub api_version: Option<String>,
    /// Parameters every method accepts (`fields`, `quotaUser`, `alt`, ...).
    #[serde(default, deserialize_with = "unique_keys")]
    pub parameters: BTreeMap<String, JsonSchema>,
    #[serde(default)]
    pub auth: Auth,
    #[serde(default, deserialize_with = "unique_keys")]
    pub schemas: BTreeMap<String, JsonSchema>,
    #[serde(default, deserialize_with = "unique_keys")]
    pub resources: BTreeMap<String, RestResource>,
    /// Methods at the top level of the API (oauth2.v2 has some).
    #[serde(default, deserialize_with = "unique_keys")]
    pub methods: BTreeMap<String, RestMethod>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Auth {
    #[serde(default)]
    pub oauth2: OAuth2,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct OAuth2 {
    /// Scope URL to its description.
    #[serde(default, deserialize_with = "unique_keys")]
    pub scopes: BTreeMap<String, ScopeInfo>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ScopeInfo {
    #[serde(default)]
    pub description: String,
}

/// A schema, a property or a parameter: Discovery uses one shape for all three.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonSchema {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub type_: Option<String>,
    #[serde(rename = "$ref", default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "unique_keys")]
    pub properties: BTreeMap<String, JsonSchema>,
    #[serde(default, deserialize_with = "additional_properties")]
    pub additional_properties: Option<Box<JsonSchema>>,
    #[serde(default)]
    pub items: Option<Box<JsonSchema>>,
    #[serde(rename = "enum", default)]
    pub enum_values: Vec<String>,
    #[serde(default)]
    pub enum_descriptions: Vec<String>,
    #[serde(default)]
    pub enum_deprecated: Vec<bool>,
    #[serde(default)]
    pub deprecated: bool,
    #[serde(default)]
    pub read_only: bool,
    /// For parameters: the service requires it.
    #[serde(default)]
    pub required: bool,
    /// For parameters: may be given several times (`k=a&k=b`).
    #[serde(default)]
    pub repeated: bool,
    /// For parameters: `path` or `query`.
    #[serde(default)]
    pub location: Option<String>,
    /// For path parameters: the regular expression the value must match.
    #[serde(default)]
    pub pattern: Option<String>,
    // `default` is not read: the service applies its own defaults, and a client that sent
    // them would override a change of default on the service's side.
}

/// `additionalProperties` is a schema, but JSON Schema also allows `true`/`false`.
///
/// Read as it streams, not through an untagged enum: that would first buffer the schema as
/// a JSON value, which cannot hold a number beyond `f64` (`1e400` in a key nobody reads
/// would refuse the document) and loses the path of an error inside the schema.
fn additional_properties<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Box<JsonSchema>>, D::Error> {
    struct Additional;

    impl<'de> Visitor<'de> for Additional {
        type Value = Option<Box<JsonSchema>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a schema or a boolean")
        }

        fn visit_bool<E: de::Error>(self, allowed: bool) -> Result<Self::Value, E> {
            Ok(allowed.then(|| Box::new(JsonSchema { type_: Some("any".into()), ..Default::default() })))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            JsonSchema::deserialize(de::value::MapAccessDeserializer::new(map)).map(|schema| Some(Box::new(schema)))
        }
    }

    deserializer.deserialize_any(Additional)
}

/// A map that rejects a key it already has. JSON allows duplicate keys and serde keeps the
/// last, so two methods or schemas of the same name would silently become one; the
/// document is ambiguous, so it is an error naming the map and the key.
fn unique_keys<'de, D, T>(deserializer: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct UniqueKeys<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for UniqueKeys<T> {
        type Value = BTreeMap<String, T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
                }
                let value = map.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }

    deserializer.deserialize_map(UniqueKeys(PhantomData))
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RestResource {
    #[serde(default, deserialize_with = "unique_keys")]
    pub methods: BTreeMap<String, RestMethod>,
    #[serde(default, deserialize_with = "unique_keys")]
    pub resources: BTreeMap<String, RestResource>,
    #[serde(default)]
    pub deprecated: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestMethod {
    #[serde(default)]
    pub id: String,
    pub path: String,
    #[serde(default)]
    pub flat_path: Option<String>,
    pub http_method: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "unique_keys")]
    pub parameters: BTreeMap<String, JsonSchema>,
    #[serde(default)]
    pub parameter_order: Vec<String>,
    /// Usually `{"$ref": "Person"}`; a few documents put a whole schema here.
    #[serde(default)]
    pub request: Option<JsonSchema>,
    #[serde(default)]
    pub response: Option<JsonSchema>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub supports_media_download: bool,
    /// The API version Google's clients send as `x-goog-api-version` for this method
    /// (compute gives one per method).
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub supports_media_upload: bool,
    #[serde(default)]
    pub media_upload: Option<MediaUpload>,
    #[serde(default)]
    pub deprecated: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaUpload {
    #[serde(default)]
    pub accept: Vec<String>,
    /// Such as `"10MB"` or `"5TB"`.
    #[serde(default)]
    pub max_size: Option<String>,
    #[serde(default)]
    pub protocols: MediaProtocols,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct MediaProtocols {
    #[serde(default)]
    pub simple: Option<MediaProtocol>,
    #[serde(default)]
    pub resumable: Option<MediaProtocol>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct MediaProtocol {
    #[serde(default)]
    pub multipart: bool,
    pub path: String,
}

/// A document that is not JSON or does not fit the Discovery format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Where in the document, e.g. `schemas.Person.properties.names.items`; `.` for the root.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid Discovery document at `{}`: {}", self.path, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses the text of a Discovery document.
pub fn parse(json: &str) -> Result<RestDescription, ParseError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    // Descriptions nest deeply in some documents; serde_json's recursion limit (128) still
    // guards against stack exhaustion on hostile input.
    let document: RestDescription = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|err| ParseError { path: err.path().to_string(), message: err.inner().to_string() })?;
    deserializer.end().map_err(|err| ParseError { path: ".".into(), message: err.to_string() })?;
    if !document.kind.is_empty() && document.kind != "discovery#restDescription" {
        return Err(ParseError {
            path: "kind".into(),
            message: format!("expected `discovery#restDescription`, found `{}`", document.kind),
        });
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_json_path() {
        let err = parse(r#"{"name":"x","version":"v1","schemas":{"A":{"properties":{"b":{"type":3}}}}}"#).unwrap_err();
        assert_eq!(err.path, "schemas.A.properties.b.type");
        let err = parse("not json").unwrap_err();
        assert!(err.message.contains("expected"), "{err}");
        let err = parse(r#"{"version":"v1"}"#).unwrap_err();
        assert!(err.message.contains("missing field `name`"), "{err}");
    }

    #[test]
    fn unknown_keys_are_ignored_and_additional_properties_may_be_a_flag() {
        let doc = parse(
            r#"{"name":"x","version":"v1","futureKey":{"a":1},
                "schemas":{"A":{"type":"object","additionalProperties":true},
                           "B":{"type":"object","additionalProperties":false}}}"#,
        )
        .unwrap();
        assert_eq!(doc.schemas["A"].additional_properties.as_ref().unwrap().type_.as_deref(), Some("any"));
        assert!(doc.schemas["B"].additional_properties.is_none());
    }

    #[test]
    fn rejects_trailing_garbage_and_other_kinds() {
        assert!(parse(r#"{"name":"x","version":"v1"} x"#).is_err());
        let err = parse(r#"{"kind":"discovery#directoryList","name":"x","version":"v1"}"#).unwrap_err();
        assert_eq!(err.path, "kind");
    }

    #[test]
    fn parses_people() {
        let text = include_str!("../../discovery/people.v1.json");
        let doc = parse(text).unwrap();
        assert_eq!(doc.schemas.len(), 72);
        assert_eq!(doc.auth.oauth2.scopes.len(), 12);
        assert_eq!(doc.revision, "20251117");
    }
}
