//! Two measurements at scale, on the loopback server:
//!
//! * `users ours|ours-naive|theirs N BASE_URL`: a service acting for N users. `ours` derives a
//!   client per user from one shared client (`with_token_provider`: one HTTP client, one pool,
//!   one TLS set-up); `ours-naive` builds N clients from scratch; `theirs` makes N
//!   google-people1 hubs sharing one hyper client, as its docs suggest. Then each user makes
//!   one `people.get`, 100 at a time. Prints the time to make the clients, the resident memory
//!   they added, the time of the calls, and the sockets open at the end.
//! * `upload FILE BASE_URL`: a resumable upload of FILE (8 MiB chunks, the default) through the
//!   runtime; prints the bytes, the time and the process's peak resident memory.

use std::time::Instant;

/// This process's resident and peak resident memory, in KiB (`VmRSS`, `VmHWM`).
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).expect("field");
        line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("number")
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Open sockets of this process (entries of `/proc/self/fd` that are sockets).
fn sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

pub fn users(client: &str, n: usize, base: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let (rss_before, _) = memory_kib();
        let started = Instant::now();
        let calls: Box<dyn Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> = match client {
            "ours" | "ours-naive" => {
                use google_people_v1::auth::StaticToken;
                use google_people_v1::PeopleClient;
                let users: Vec<PeopleClient> = if client == "ours" {
                    let shared = PeopleClient::builder().base_url(base).build().expect("client");
                    (0..n).map(|i| shared.with_token_provider(StaticToken::new(format!("ya29.user-{i}")))).collect()
                } else {
                    (0..n)
                        .map(|i| {
                            PeopleClient::builder()
                                .base_url(base)
                                .token_provider(StaticToken::new(format!("ya29.user-{i}")))
                                .build()
                                .expect("client")
                        })
                        .collect()
                };
                let users = std::sync::Arc::new(users);
                Box::new(move |i| {
                    let users = users.clone();
                    Box::pin(async move {
                        let p = users[i].people().get(format!("people/c{}", i % 100), "names").send().await;
                        assert!(p.expect("get").resource_name.is_some());
                    })
                })
            }
            "theirs" => {
                use google_people1::{hyper_rustls, hyper_util, FieldMask, PeopleService};
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_native_roots()
                    .expect("native roots")
                    .https_or_http()
                    .enable_http1()
                    .build();
                let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
                let hubs: Vec<_> = (0..n)
                    .map(|i| {
                        let mut hub = PeopleService::new(http.clone(), format!("ya29.user-{i}"));
                        hub.base_url(base.to_owned());
                        hub.root_url(base.to_owned());
                        hub
                    })
                    .collect();
                let hubs = std::sync::Arc::new(hubs);
                Box::new(move |i| {
                    let hubs = hubs.clone();
                    Box::pin(async move {
                        let (_, p) = hubs[i]
                            .people()
                            .get(&format!("people/c{}", i % 100))
                            .person_fields(FieldMask::new(&["names"]))
                            .doit()
                            .await
                            .expect("get");
                        assert!(p.resource_name.is_some());
                    })
                })
            }
            other => panic!("unknown client {other}"),
        };
        let build = started.elapsed();
        let (rss_built, _) = memory_kib();
        let started = Instant::now();
        for wave in (0..n).collect::<Vec<_>>().chunks(100) {
            let wave: Vec<_> = wave.iter().map(|&i| tokio::spawn(calls(i))).collect();
            for call in wave {
                call.await.expect("call");
            }
        }
        let calls_took = started.elapsed();
        let (rss_after, _) = memory_kib();
        println!(
            "{{\"client\":\"{client}\",\"n\":{n},\"build_s\":{:.6},\"rss_before_kib\":{rss_before},\"rss_built_kib\":{rss_built},\"rss_after_kib\":{rss_after},\"calls_s\":{:.6},\"sockets\":{}}}",
            build.as_secs_f64(),
            calls_took.as_secs_f64(),
            sockets()
        );
    });
}

pub fn upload(file: &str, base: &str) {
    use discovery_runtime::for_generated_code::{Call, HttpMethod, MediaUploadInfo, MethodInfo, PathParam};
    use discovery_runtime::{ApiInfo, Client, Media, Upload};

    static API: ApiInfo = ApiInfo::new("storage", "v1", "https://storage.example.invalid/", "storage/v1/");
    static UPLOAD: MediaUploadInfo = MediaUploadInfo::new().with_simple_path("/upload/storage/v1/b/{bucket}/o");
    static INSERT: MethodInfo = MethodInfo::new("storage.objects.insert", HttpMethod::Post, "b/{bucket}/o")
        .with_path_params(&[PathParam::new("bucket", None)])
        .with_media_upload(&UPLOAD);

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let client = Client::builder(&API).root_url(base).build().expect("client");
        let media = Media::from_path("application/octet-stream", file).expect("file");
        let bytes = media.len().expect("length");
        let mut call = Call::new(&client, &INSERT);
        call.path_param("bucket", "b1");
        call.json_body(&serde_json::json!({"name": "big.bin"}));
        let started = Instant::now();
        let done: serde_json::Value = call.upload(media, Upload::resumable()).await.expect("upload");
        let took = started.elapsed();
        assert_eq!(done["size"], bytes.to_string());
        let (_, peak) = memory_kib();
        println!("{{\"bytes\":{bytes},\"wall_s\":{:.6},\"peak_rss_kib\":{peak}}}", took.as_secs_f64());
    });
}

/// The server side of `upload`: a resumable session that counts what it receives.
pub mod sessions {
    use std::collections::HashMap;
    use std::sync::Mutex;

    static SESSIONS: Mutex<Option<HashMap<u64, u64>>> = Mutex::new(None);

    /// `Some((status, headers, body))` when `path` is an upload request.
    pub fn answer(method: &str, path: &str, query: &str, content_range: Option<&str>, received: u64) -> Option<(u16, Vec<(&'static str, String)>, String)> {
        let mut sessions = SESSIONS.lock().unwrap();
        let sessions = sessions.get_or_insert_with(HashMap::new);
        if method == "POST" && path.starts_with("/upload/") && query.contains("uploadType=resumable") {
            let id = sessions.len() as u64 + 1;
            sessions.insert(id, 0);
            return Some((200, vec![("location", format!("/upload-session/{id}"))], String::new()));
        }
        let id: u64 = path.strip_prefix("/upload-session/")?.parse().ok()?;
        let stored = sessions.get_mut(&id)?;
        let range = content_range?.strip_prefix("bytes ")?;
        let (span, total) = range.split_once('/')?;
        if span != "*" {
            *stored += received;
        }
        if total.parse::<u64>().ok() == Some(*stored) {
            return Some((200, vec![("content-type", "application/json".into())], format!("{{\"size\":\"{stored}\"}}")));
        }
        let headers = if *stored > 0 { vec![("range", format!("bytes=0-{}", *stored - 1))] } else { Vec::new() };
        Some((308, headers, String::new()))
    }
}
