//! A large upload streams: the uploading process's peak resident memory stays far below the
//! file's size, bounded by the chunk size. A test binary of its own, so that no other test
//! adds to the peak it reads.

use std::time::Instant;

use discovery_runtime::for_generated_code::{Call, HttpMethod, MediaUploadInfo, MethodInfo, PathParam};
use discovery_runtime::{ApiInfo, Client, Media, Upload};
use serde_json::{json, Value};

mod media_server;

static API: ApiInfo = ApiInfo::new("storage", "v1", "https://storage.example.invalid/", "storage/v1/");
static UPLOAD: MediaUploadInfo = MediaUploadInfo::new().with_simple_path("/upload/storage/v1/b/{bucket}/o");
static INSERT: MethodInfo = MethodInfo::new("storage.objects.insert", HttpMethod::Post, "b/{bucket}/o")
    .with_path_params(&[PathParam::new("bucket", None)])
    .with_media_upload(&UPLOAD);

/// The process's peak resident set (`VmHWM`), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_file_uploads_in_bounded_memory() {
    const SIZE: u64 = 64 << 20;
    const LIMIT: u64 = 64 << 20;
    let dir = std::env::temp_dir().join("discovery-runtime-upload-memory");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.bin", std::process::id()));
    {
        // Written in small pieces, so that making the file does not raise the peak either.
        use std::io::Write as _;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let block: Vec<u8> = (0..65536u32).map(|i| (i * 7 + i / 256) as u8).collect();
        for _ in 0..SIZE / 65536 {
            file.write_all(&block).unwrap();
        }
    }
    let (url, shared) = media_server::start().await;
    let client = Client::builder(&API).root_url(&url).build().unwrap();
    let before = peak_rss();
    let started = Instant::now();
    let mut call = Call::new(&client, &INSERT);
    call.path_param("bucket", "b1");
    call.json_body(&json!({"name": "big.bin"}));
    let media = Media::from_path("application/octet-stream", &path).unwrap();
    // The default chunk: 8 MiB.
    let done: Value = call.upload(media, Upload::resumable()).await.unwrap();
    let elapsed = started.elapsed();
    let _ = std::fs::remove_file(&path);
    assert_eq!(done["size"], SIZE.to_string());
    assert_eq!(shared.lock().unwrap().sessions["s1"].ranges.len(), 8);
    let peak = peak_rss();
    eprintln!("peak RSS {} MiB (before the upload {} MiB), {:?}", peak >> 20, before >> 20, elapsed);
    assert!(peak < LIMIT, "peak resident memory {} MiB for a {} MiB upload", peak >> 20, SIZE >> 20);
}
