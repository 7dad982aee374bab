//! Keep-alive connections and the pool's idle timeout.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use discovery_runtime::for_generated_code::Call;
use discovery_runtime::Client;
use serde_json::Value;

use crate::support::*;

/// A server that records the client address (so, the connection) of every request.
async fn recording_peers() -> (String, Arc<Mutex<Vec<SocketAddr>>>) {
    let peers = Arc::new(Mutex::new(Vec::new()));
    let seen = peers.clone();
    let app = Router::new().fallback(move |ConnectInfo(peer): ConnectInfo<SocketAddr>| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(peer);
            json(200, serde_json::json!({}))
        }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    (url, peers)
}

/// Two calls 300 ms apart: how many connections did they use?
async fn connections_for(configure: fn(discovery_runtime::ClientBuilder) -> discovery_runtime::ClientBuilder) -> usize {
    let (url, peers) = recording_peers().await;
    let client: Client = configure(Client::builder(&API).base_url(url)).build().unwrap();
    let call = || {
        let mut call = Call::new(&client, &GET_PERSON);
        call.path_param("resourceName", "people/c1");
        call
    };
    call().send::<Value>().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    call().send::<Value>().await.unwrap();
    let peers = peers.lock().unwrap();
    assert_eq!(peers.len(), 2);
    usize::from(peers[0] != peers[1]) + 1
}

#[tokio::test]
async fn idle_connections_are_kept_by_default_and_closed_after_the_idle_timeout_when_set() {
    assert_eq!(connections_for(|b| b).await, 1, "the default keeps the connection");
    assert_eq!(
        connections_for(|b| b.pool_idle_timeout(Duration::from_millis(50))).await,
        2,
        "an idle timeout shorter than the pause closes it"
    );
}
