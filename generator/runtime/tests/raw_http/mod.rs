//! Reading HTTP/1.1 requests byte by byte, for the loopback servers of the fault and
//! security tests, which must see exactly what the client sent and misbehave on purpose.

use tokio::io::{AsyncRead, AsyncReadExt};

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct RawRequest {
    /// Request line and headers, exactly as sent.
    pub head: String,
    pub body: Vec<u8>,
}

impl RawRequest {
    pub fn request_line(&self) -> &str {
        self.head.split("\r\n").next().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Reads one request: the head up to the blank line, then `Content-Length` bytes of body.
/// `None` when the client closed the connection before a whole head arrived.
pub async fn read_request(stream: &mut (impl AsyncRead + Unpin)) -> Option<RawRequest> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut request = RawRequest { head, body: data[head_end + 4..].to_vec() };
    let length: usize = request.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while request.body.len() < length {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        request.body.extend_from_slice(&buf[..n]);
    }
    Some(request)
}
