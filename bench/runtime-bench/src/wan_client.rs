//! The client side of the WAN section, run inside the client's network namespace.
//!
//! * `wan-probe HOST`: what the link gives, measured with plain TCP against the server's
//!   probe port: connect time (one round trip), one-byte echo round trips, and the time of a
//!   bulk download and upload. One JSON line.
//! * `wan ours|theirs ROW BASE_URL CERT_PEM SEED`: one measured run of one row, with a client
//!   built fresh in this process, so that TCP and TLS handshakes are part of the run. The
//!   clock starts after the client is built and the requests' inputs are ready, and stops
//!   when the last response is decoded and checked. One JSON line: wall time, requests, and
//!   this process's CPU time over the same span.
//!
//! Rows: `list` (one `connections.list` of the 1000 persons), `get` (100 `people.get` of
//! different persons, all started at once and awaited together), `update` (50 sequential
//! `updateContact`, each sending a whole person with a changed name).

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{rusage, wan_data, wan_server::PROBE_PORT};

pub const GETS: usize = 100;
pub const UPDATES: usize = 50;
/// The fields a contacts app asks for (both clients send the same mask).
const PERSON_FIELDS: [&str; 13] = [
    "addresses",
    "biographies",
    "birthdays",
    "emailAddresses",
    "memberships",
    "metadata",
    "names",
    "nicknames",
    "organizations",
    "phoneNumbers",
    "photos",
    "relations",
    "urls",
];

pub fn probe(host: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let addr = format!("{host}:{PROBE_PORT}");
        let mut connect_ms = Vec::new();
        for _ in 0..5 {
            let t0 = Instant::now();
            let s = tokio::net::TcpStream::connect(&addr).await.expect("connect to the probe port");
            connect_ms.push(ms(t0.elapsed()));
            drop(s);
        }
        let mut s = tokio::net::TcpStream::connect(&addr).await.expect("connect");
        s.set_nodelay(true).expect("nodelay");
        s.write_all(b"e").await.expect("write");
        let mut echo_ms = Vec::new();
        let mut b = [0u8; 1];
        for _ in 0..20 {
            let t0 = Instant::now();
            s.write_all(b"x").await.expect("write");
            s.read_exact(&mut b).await.expect("echo");
            echo_ms.push(ms(t0.elapsed()));
        }
        drop(s);

        // Downloads on fresh connections: the small one shows what slow start costs, the
        // large one's second half the rate the link settles at.
        let (down_small_ms, _) = download(&addr, 256 * 1024).await;
        let (down_ms, down_late_mbit) = download(&addr, 8 << 20).await;
        let up_bytes: u64 = 4 << 20;
        let mut s = tokio::net::TcpStream::connect(&addr).await.expect("connect");
        let t0 = Instant::now();
        s.write_all(b"u").await.expect("write");
        s.write_u64(up_bytes).await.expect("write");
        let chunk = vec![0xa5_u8; 64 * 1024];
        for _ in 0..up_bytes / chunk.len() as u64 {
            s.write_all(&chunk).await.expect("upload");
        }
        s.read_exact(&mut b).await.expect("upload ack");
        let up_ms = ms(t0.elapsed());
        println!(
            "{{\"connect_ms\":{connect_ms:?},\"echo_ms\":{echo_ms:?},\"down_small_bytes\":{},\"down_small_ms\":{down_small_ms:.3},\"down_bytes\":{},\"down_ms\":{down_ms:.3},\"down_late_mbit\":{down_late_mbit:.3},\"up_bytes\":{up_bytes},\"up_ms\":{up_ms:.3}}}",
            256 * 1024,
            8u64 << 20
        );
    });
}

/// Milliseconds from the request to the last byte, and the rate of the second half in
/// Mbit/s.
async fn download(addr: &str, bytes: u64) -> (f64, f64) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let t0 = Instant::now();
    s.write_all(b"d").await.expect("write");
    s.write_u64(bytes).await.expect("write");
    let mut buf = vec![0u8; 64 * 1024];
    let (mut got, mut half) = (0u64, None);
    while got < bytes {
        let n = s.read(&mut buf).await.expect("download");
        assert!(n > 0, "download cut short");
        got += n as u64;
        if half.is_none() && got >= bytes / 2 {
            half = Some((Instant::now(), got));
        }
    }
    let end = Instant::now();
    let (t_half, at_half) = half.expect("half");
    let late = (bytes - at_half) as f64 * 8.0 / (end - t_half).as_secs_f64() / 1e6;
    (ms(end - t0), late)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One row for one client; prints its JSON line.
pub fn run(client: &str, row: &str, base: &str, cert_pem: &std::path::Path, seed: u64) {
    let pem = std::fs::read(cert_pem).expect("read the server certificate");
    let persons = wan_data::persons(seed);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (wall, cpu, requests) = match client {
        "ours" => rt.block_on(ours::run(row, base, &pem, &persons)),
        "theirs" => rt.block_on(theirs::run(row, base, &pem, &persons)),
        other => panic!("unknown client {other}"),
    };
    println!(
        "{{\"client\":\"{client}\",\"row\":\"{row}\",\"requests\":{requests},\"wall_s\":{:.6},\"cpu_s\":{:.6}}}",
        wall.as_secs_f64(),
        cpu.as_secs_f64()
    );
}

/// Runs `f`, returning its wall time and this process's CPU time (user + system) over it.
async fn timed<F: std::future::Future<Output = usize>>(f: F) -> (Duration, Duration, usize) {
    let (u0, s0) = rusage();
    let t0 = Instant::now();
    let requests = f.await;
    let wall = t0.elapsed();
    let (u1, s1) = rusage();
    (wall, (u1 - u0) + (s1 - s0), requests)
}

/// The name change every `updateContact` row makes.
fn renamed(person: &serde_json::Value, k: usize) -> serde_json::Value {
    let mut p = person.clone();
    p["names"][0]["givenName"] = format!("{} ({k})", p["names"][0]["givenName"].as_str().unwrap_or("")).into();
    p
}

mod ours {
    use super::*;
    use google_people_v1::auth::StaticToken;
    use google_people_v1::types::Person;
    use google_people_v1::PeopleClient;

    pub async fn run(row: &str, base: &str, pem: &[u8], persons: &[serde_json::Value]) -> (Duration, Duration, usize) {
        // The runtime's defaults, plus the server's certificate.
        let client = PeopleClient::builder()
            .base_url(base)
            .root_url(base)
            .add_root_certificate(pem.to_vec())
            .token_provider(StaticToken::new("ya29.bench-token"))
            .build()
            .expect("client");
        let fields = PERSON_FIELDS.join(",");
        match row {
            "list" => {
                timed(async {
                    let r =
                        client.people().connections().list("people/me", fields.as_str()).page_size(1000).send().await;
                    assert_eq!(r.expect("list").connections.len(), wan_data::PERSONS);
                    1
                })
                .await
            }
            "get" => {
                let names: Vec<String> = (0..GETS).map(|k| wan_data::resource_name(k * 10)).collect();
                timed(async {
                    let calls = names.iter().map(|name| {
                        let call = client.people().get(name.as_str(), fields.as_str()).send();
                        async move { (name, call.await) }
                    });
                    for (name, r) in join_all(calls).await {
                        assert_eq!(r.expect("get").resource_name.as_deref(), Some(name.as_str()));
                    }
                    GETS
                })
                .await
            }
            "update" => {
                let updates: Vec<(String, Person)> = (0..UPDATES)
                    .map(|k| {
                        let p = &persons[k * 7];
                        let typed = serde_json::from_value(renamed(p, k)).expect("person");
                        (p["resourceName"].as_str().expect("name").to_owned(), typed)
                    })
                    .collect();
                timed(async {
                    for (name, person) in &updates {
                        let r = client
                            .people()
                            .update_contact(name.as_str(), person, "names")
                            .send()
                            .await
                            .expect("update");
                        assert_ne!(r.etag, person.etag);
                    }
                    UPDATES
                })
                .await
            }
            other => panic!("unknown row {other}"),
        }
    }
}

mod theirs {
    use super::*;
    use google_people1::api::Person;
    use google_people1::{hyper_rustls, hyper_util, FieldMask, PeopleService};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    use std::sync::Arc;

    pub async fn run(row: &str, base: &str, pem: &[u8], persons: &[serde_json::Value]) -> (Duration, Duration, usize) {
        // As google-people1's docs and people1-usage build it (`https_or_http` +
        // `enable_http2`, so ALPN offers h2 only), with a rustls configuration whose roots
        // hold the server's certificate instead of the system's.
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.add(cert.expect("PEM")).expect("root certificate");
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(crate::wan_server::ring_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector =
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http2().build();
        let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        let mut hub = PeopleService::new(http, "ya29.bench-token".to_string());
        hub.base_url(base.to_owned());
        hub.root_url(base.to_owned());
        let fields = FieldMask::new(&PERSON_FIELDS);
        match row {
            "list" => {
                timed(async {
                    let (_, r) = hub
                        .people()
                        .connections_list("people/me")
                        .person_fields(fields.clone())
                        .page_size(1000)
                        .doit()
                        .await
                        .expect("list");
                    assert_eq!(r.connections.map_or(0, |c| c.len()), wan_data::PERSONS);
                    1
                })
                .await
            }
            "get" => {
                let names: Vec<String> = (0..GETS).map(|k| wan_data::resource_name(k * 10)).collect();
                timed(async {
                    let calls = names.iter().map(|name| {
                        let call = hub.people().get(name).person_fields(fields.clone()).doit();
                        async move { (name, call.await) }
                    });
                    for (name, r) in join_all(calls).await {
                        assert_eq!(r.expect("get").1.resource_name.as_deref(), Some(name.as_str()));
                    }
                    GETS
                })
                .await
            }
            "update" => {
                let updates: Vec<(String, Person)> = (0..UPDATES)
                    .map(|k| {
                        let p = &persons[k * 7];
                        let typed = serde_json::from_value(renamed(p, k)).expect("person");
                        (p["resourceName"].as_str().expect("name").to_owned(), typed)
                    })
                    .collect();
                timed(async {
                    for (name, person) in &updates {
                        let (_, r) = hub
                            .people()
                            .update_contact(person.clone(), name)
                            .update_person_fields(FieldMask::new(&["names"]))
                            .doit()
                            .await
                            .expect("update");
                        assert_ne!(r.etag, person.etag);
                    }
                    UPDATES
                })
                .await
            }
            other => panic!("unknown row {other}"),
        }
    }
}
