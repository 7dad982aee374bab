//! `fetch` against canned HTTP responses on loopback: the pinned file changes only when
//! a complete, valid Discovery document of the same API arrived.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use xtask::fetch::{fetch, stable_form, stable_form_of_document};

mod common;

use common::Scratch;

/// Serves `response` (raw bytes, status line included) to each of `connections` requests,
/// closing the connection after each, and returns the URL to fetch.
fn serve(response: Vec<u8>, connections: usize) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/$discovery/rest?version=v1", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut stream, _)) = listener.accept() else { return };
            read_request_head(&mut stream);
            let _ = stream.write_all(&response);
            let _ = stream.flush();
            // Dropping the stream closes it: a short body ends here, before Content-Length.
        }
    });
    (url, handle)
}

fn read_request_head(stream: &mut TcpStream) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
}

fn http(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn document(name: &str, revision: &str) -> String {
    // Keys out of order and compact, as a server might send them.
    format!(
        r#"{{"version":"v1","schemas":{{"Person":{{"type":"object","id":"Person","properties":{{"names":{{"type":"array","items":{{"type":"string"}}}}}}}}}},"revision":"{revision}","name":"{name}","kind":"discovery#restDescription","rootUrl":"https://people.googleapis.com/","description":"Ünïcode \"quoted\" <b>"}}"#
    )
}

/// The pinned file as a previous fetch would have left it.
fn pin_old(scratch: &Scratch) -> (PathBuf, Vec<u8>) {
    let out = scratch.0.join("people.v1.json");
    let old = stable_form_of_document(&document("people", "20240101")).unwrap();
    fs::write(&out, &old).unwrap();
    (out, old.into_bytes())
}

/// Runs a fetch that must fail, and checks that the directory is exactly as before.
fn fetch_fails(scratch: &Scratch, out: &Path, url: &str) -> String {
    let before_entries = entries(scratch);
    let before = fs::read(out).ok();
    let err = fetch(url, out).expect_err("the fetch should fail");
    let message = format!("{err:#}");
    assert_eq!(fs::read(out).ok(), before, "the pinned file changed after: {message}");
    assert_eq!(entries(scratch), before_entries, "files appeared or vanished after: {message}");
    message
}

#[test]
fn success_writes_the_stable_pretty_form_and_reports_the_revision_change() {
    let scratch = Scratch::new("fetch", "success");
    let (out, _) = pin_old(&scratch);
    let new_document = document("people", "20251117");
    let (url, server) = serve(http("200 OK", "application/json; charset=UTF-8", &new_document), 2);

    let outcome = fetch(&url, &out).unwrap();
    assert!(outcome.written);
    assert_eq!(outcome.summary(), "revision 20240101 -> 20251117");
    assert_eq!(outcome.old.as_ref().map(|old| old.revision.as_str()), Some("20240101"));

    let written = fs::read_to_string(&out).unwrap();
    assert_eq!(written, outcome.new_text);
    let expected = concat!(
        "{\n",
        "  \"description\": \"Ünïcode \\\"quoted\\\" <b>\",\n",
        "  \"kind\": \"discovery#restDescription\",\n",
        "  \"name\": \"people\",\n",
        "  \"revision\": \"20251117\",\n",
        "  \"rootUrl\": \"https://people.googleapis.com/\",\n",
        "  \"schemas\": {\n",
        "    \"Person\": {\n",
        "      \"id\": \"Person\",\n",
        "      \"properties\": {\n",
        "        \"names\": {\n",
        "          \"items\": {\n",
        "            \"type\": \"string\"\n",
        "          },\n",
        "          \"type\": \"array\"\n",
        "        }\n",
        "      },\n",
        "      \"type\": \"object\"\n",
        "    }\n",
        "  },\n",
        "  \"version\": \"v1\"\n",
        "}\n",
    );
    assert_eq!(written, expected);
    assert_eq!(entries(&scratch), ["people.v1.json"], "no temporary file may be left behind");

    // The same document again: nothing to write.
    let again = fetch(&url, &out).unwrap();
    assert!(!again.written);
    assert_eq!(again.summary(), "unchanged (revision 20251117)");
    assert_eq!(fs::read_to_string(&out).unwrap(), expected);
    server.join().unwrap();
}

#[test]
fn a_missing_file_is_created() {
    let scratch = Scratch::new("fetch", "create");
    let out = scratch.0.join("sub/dir/people.v1.json");
    let (url, server) = serve(http("200 OK", "application/json", &document("people", "7")), 1);
    let outcome = fetch(&url, &out).unwrap();
    assert_eq!(outcome.summary(), "revision (none) -> 7 (new file)");
    assert_eq!(fs::read_to_string(&out).unwrap(), stable_form_of_document(&document("people", "7")).unwrap());
    server.join().unwrap();
}

#[test]
fn http_500_leaves_the_file_alone_and_names_the_status() {
    let scratch = Scratch::new("fetch", "status");
    let (out, old) = pin_old(&scratch);
    let body = r#"{"error": {"code": 500, "message": "backend exploded"}}"#;
    let (url, server) = serve(http("500 Internal Server Error", "application/json", body), 1);
    let message = fetch_fails(&scratch, &out, &url);
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("HTTP 500"), "{message}");
    assert!(message.contains("backend exploded"), "{message}");
    assert_eq!(fs::read(&out).unwrap(), old);
    server.join().unwrap();
}

#[test]
fn a_truncated_body_leaves_the_file_alone() {
    let scratch = Scratch::new("fetch", "truncated");
    let (out, old) = pin_old(&scratch);
    let full = document("people", "20251117");
    let mut response =
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", full.len() + 1000)
            .into_bytes();
    response.extend_from_slice(&full.as_bytes()[..full.len() / 2]);
    let (url, server) = serve(response, 1);
    let message = fetch_fails(&scratch, &out, &url);
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("reading the response body failed"), "{message}");
    assert_eq!(fs::read(&out).unwrap(), old);
    server.join().unwrap();
}

#[test]
fn json_that_is_not_a_discovery_document_is_rejected() {
    let scratch = Scratch::new("fetch", "not-discovery");
    let (out, old) = pin_old(&scratch);
    let cases = [
        (r#"{"hello": "world"}"#, "no `kind`"),
        (r#"{"kind": "discovery#directoryList", "items": []}"#, "`kind` is `discovery#directoryList`"),
        (r#"[1, 2, 3]"#, "not an object"),
        (r#"{"kind": "discovery#restDescription", "version": "v1"}"#, "missing field `name`"),
        (
            r#"{"kind": "discovery#restDescription", "name": "people", "version": "v1", "schemas": {"A": {"type": 3}}}"#,
            "schemas.A.type",
        ),
    ];
    for (body, cause) in cases {
        let (url, server) = serve(http("200 OK", "application/json", body), 1);
        let message = fetch_fails(&scratch, &out, &url);
        assert!(message.contains(&url), "{message}");
        assert!(message.contains("did not return a Discovery document"), "{message}");
        assert!(message.contains(cause), "expected {cause:?} in {message}");
        assert_eq!(fs::read(&out).unwrap(), old);
        server.join().unwrap();
    }
}

#[test]
fn a_body_that_is_not_json_is_rejected() {
    let scratch = Scratch::new("fetch", "not-json");
    let (out, old) = pin_old(&scratch);
    let (url, server) = serve(http("200 OK", "text/html", "<html><body>Sign in</body></html>"), 1);
    let message = fetch_fails(&scratch, &out, &url);
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("not valid JSON"), "{message}");
    assert_eq!(fs::read(&out).unwrap(), old);
    server.join().unwrap();
}

#[test]
fn another_api_does_not_replace_the_pinned_one() {
    let scratch = Scratch::new("fetch", "other-api");
    let (out, old) = pin_old(&scratch);
    let (url, server) = serve(http("200 OK", "application/json", &document("calendar", "3")), 1);
    let message = fetch_fails(&scratch, &out, &url);
    assert!(message.contains("calendar:v1") && message.contains("people:v1"), "{message}");
    assert_eq!(fs::read(&out).unwrap(), old);
    server.join().unwrap();
}

#[test]
fn a_foreign_file_at_the_target_is_not_overwritten() {
    let scratch = Scratch::new("fetch", "foreign");
    let out = scratch.0.join("package.json");
    fs::write(&out, "{\"name\": \"left-pad\"}").unwrap();
    let (url, server) = serve(http("200 OK", "application/json", &document("people", "1")), 1);
    let message = fetch_fails(&scratch, &out, &url);
    assert!(message.contains("not a Discovery document; refusing to overwrite"), "{message}");
    // The check happens before any request is made.
    drop(TcpStream::connect(url.trim_start_matches("http://").split('/').next().unwrap()));
    server.join().unwrap();
}

#[test]
fn an_unreachable_server_fails_fast_with_the_url() {
    let scratch = Scratch::new("fetch", "refused");
    let (out, _) = pin_old(&scratch);
    // Bound and dropped: nothing listens on this port any more.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/rest");
    let started = std::time::Instant::now();
    let message = fetch_fails(&scratch, &out, &url);
    assert!(message.contains(&url), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    let message = fetch_fails(&scratch, &out, "not a url");
    assert!(message.contains("invalid URL"), "{message}");
}

#[test]
fn stable_form_sorts_keys_at_every_level() {
    let value: serde_json::Value =
        serde_json::from_str(r#"{"b": [{"z": 1, "a": 2}], "a": {"d": null, "c": 1.5}}"#).unwrap();
    assert_eq!(
        stable_form(&value).unwrap(),
        "{\n  \"a\": {\n    \"c\": 1.5,\n    \"d\": null\n  },\n  \"b\": [\n    {\n      \"a\": 2,\n      \"z\": 1\n    }\n  ]\n}\n"
    );
}

/// The pinned document must be byte-identical to what `fetch` writes for the same content,
/// or the next fetch shows a whole-file diff that hides the real API change.
#[test]
fn pinned_people_document_is_in_the_form_fetch_writes() {
    let path = xtask::workspace_root().join(xtask::PEOPLE_DOCUMENT);
    let pinned = fs::read_to_string(&path).unwrap();
    let stable = stable_form_of_document(&pinned).unwrap();
    assert!(
        pinned == stable,
        "{} is valid but not in fetch's stable form (sorted keys, 2-space indent, trailing newline)",
        path.display()
    );
}

/// The names in the scratch directory, sorted: a failed fetch must leave no file behind.
fn entries(scratch: &Scratch) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(&scratch.0)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
