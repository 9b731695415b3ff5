//! One keep-alive HTTP/1.1 connection, as a browser or a box-office
//! terminal holds one: requests on it go one after another.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{header, Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[allow(missing_debug_implementations)]
pub struct Conn {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
}

/// A response: its status (0 when the request failed on the wire), body,
/// and how long it took.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
    pub latency: Duration,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self { addr, sender })
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        self.send(Method::GET, path, Bytes::new()).await
    }

    pub async fn post(&mut self, path: &str, body: String) -> Answer {
        self.send(Method::POST, path, Bytes::from(body)).await
    }

    async fn send(&mut self, method: Method, path: &str, body: Bytes) -> Answer {
        let started = Instant::now();
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .expect("a well-formed request");
        let result = async {
            self.sender.ready().await?;
            let response = self.sender.send_request(request).await?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        }
        .await;
        let latency = started.elapsed();
        match result {
            Ok((status, body)) => Answer {
                status,
                body,
                latency,
            },
            Err(_) => {
                // The connection is gone (the server closed it): open a new
                // one for the next request, and count this one as failed.
                if let Ok(fresh) = Conn::open(self.addr).await {
                    *self = fresh;
                }
                Answer {
                    status: 0,
                    body: Bytes::new(),
                    latency,
                }
            }
        }
    }
}

/// The hold id of a 201 reserve answer, found without parsing the JSON.
pub fn hold_id(body: &[u8]) -> Option<&str> {
    const FIELD: &[u8] = b"\"holdGroupId\":\"";
    let start = body.windows(FIELD.len()).position(|w| w == FIELD)? + FIELD.len();
    std::str::from_utf8(body.get(start..start + 36)?).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hold_ids_are_found_in_reserve_answers() {
        let body = br#"{"holdGroupId":"00000000-0001-8784-b1f2-9d29ec7ebd05","expiresIn":300}"#;
        assert_eq!(
            super::hold_id(body),
            Some("00000000-0001-8784-b1f2-9d29ec7ebd05")
        );
        assert_eq!(super::hold_id(b"{}"), None);
    }
}
