//! Request bodies say exactly what the caller means: empty arrays, empty maps and `null`
//! go on the wire when asked for, at the top level and nested, through both writers (the
//! runtime's, used by generated builders, and serde's, for `json_body`).

use std::collections::BTreeMap;

use discovery_runtime::for_generated_code::Call;
use discovery_runtime::for_generated_code::{from_str, to_vec};
use discovery_runtime::wire::Extra;
use serde_json::{json, Value};

use crate::support::*;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inner {
    pub labels: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub note: Option<String>,
    pub size: Option<i64>,
    pub extra: Extra,
}

discovery_runtime::json_object!(Inner, extra { labels: "labels", tags: "tags", note: "note", size: "size" as int64 });

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outer {
    pub name: Option<String>,
    pub properties: BTreeMap<String, String>,
    pub items: Vec<Inner>,
    pub inner: Option<Inner>,
    pub extra: Extra,
}

discovery_runtime::json_object!(
    Outer,
    extra,
    request_body { name: "name", properties: "properties", items: "items", inner: "inner" }
);

/// The body a recording server received for `body`, sent through the runtime's writer and
/// through serde's; both must be the same bytes.
async fn sent(body: &Outer) -> Value {
    let server = serve(|req| async move { json(200, serde_json::from_slice(&req.body).unwrap_or(Value::Null)) }).await;
    let client = server.client().build().unwrap();
    let mut ours = Call::new(&client, &UPDATE_CONTACT);
    ours.path_param("resourceName", "people/c1");
    ours.object_body(body);
    ours.send::<Value>().await.unwrap();
    let mut serde = Call::new(&client, &UPDATE_CONTACT);
    serde.path_param("resourceName", "people/c1");
    serde.json_body(body);
    serde.send::<Value>().await.unwrap();
    let requests = server.requests();
    assert_eq!(requests[0].body, requests[1].body, "the two writers disagree");
    serde_json::from_slice(&requests[0].body).unwrap()
}

#[tokio::test]
async fn nothing_empty_is_sent_unless_asked_for() {
    let body = Outer { inner: Some(Inner::default()), ..Default::default() };
    assert_eq!(sent(&body).await, json!({"inner": {}}), "an empty object is a value, not an absence");
}

#[tokio::test]
async fn empty_arrays_maps_and_nulls_go_where_asked_at_the_top_and_nested() {
    let mut inner = Inner::default();
    inner.extra.send_empty("labels");
    inner.extra.send_empty("tags");
    inner.extra.send_null("note");
    inner.extra.send_null("size");
    let mut body = Outer { inner: Some(inner.clone()), items: vec![inner], ..Default::default() };
    body.extra.send_empty("properties");
    body.extra.send_null("name");
    body.extra.send_null("addedLater");
    let expected_inner = json!({"labels": {}, "tags": [], "note": null, "size": null});
    assert_eq!(
        sent(&body).await,
        json!({"name": null, "properties": {}, "items": [expected_inner.clone()], "inner": expected_inner, "addedLater": null})
    );

    // `send_empty` on an `Option` has no empty value to send but `null`; values win.
    let mut valued = Outer { name: Some("n".into()), ..Default::default() };
    valued.extra.send_empty("name");
    valued.extra.send_null("items");
    valued.extra.send_empty("unknownName");
    valued.items.push(Inner { size: Some(9_007_199_254_740_993), ..Default::default() });
    assert_eq!(sent(&valued).await, json!({"name": "n", "items": [{"size": "9007199254740993"}]}));
}

#[tokio::test]
async fn what_was_read_is_written_back_with_its_empty_members() {
    let text = r#"{"name":null,"properties":{},"items":[{"tags":[],"labels":null,"size":"5"}],"inner":{"note":null},"later":[]}"#;
    let mut read: Outer = from_str(text).unwrap();
    assert_eq!(read.items[0].size, Some(5));
    assert_eq!(sent(&read).await, serde_json::from_str::<Value>(text).unwrap());
    // Emptied since it was read: sent empty, or null for an `Option`.
    read.items[0].size = None;
    read.items.push(Inner::default());
    let written = sent(&read).await;
    assert_eq!(written["items"], json!([{"tags": [], "labels": null, "size": null}, {}]));
    // serde's reader remembers the same.
    let via_serde: Outer = serde_json::from_str(text).unwrap();
    assert_eq!(to_vec(&via_serde), to_vec(&from_str::<Outer>(text).unwrap()));
}

/// Types named like the macros' own generic parameters (a document may name a schema `S`
/// or `D`): the expansions must not capture them.
mod named_like_generics {
    use discovery_runtime::wire::Extra;

    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct S {
        pub d: Option<D>,
        pub extra: Extra,
    }

    discovery_runtime::json_object!(S, extra, request_body { d: "d" });

    #[derive(Clone, Debug, PartialEq)]
    pub enum D {
        On,
        UnknownValue(String),
    }

    discovery_runtime::string_enum!(D, UnknownValue { On: "ON" });

    #[test]
    fn they_round_trip() {
        let s = S { d: Some(D::On), extra: Extra::default() };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(text, r#"{"d":"ON"}"#);
        assert_eq!(serde_json::from_str::<S>(&text).unwrap(), s);
    }
}
