//! A faulty server for clients to meet: an HTTP proxy in front of a real node that lies as a
//! compromised server, or a TLS-terminating proxy between client and cluster, could:
//!
//! - it renames entries in folder listings (`GET /v1/tree/…`) to names a real node would never
//!   send — `..`, `/etc/x`, control characters, another Unicode form. Requests for a renamed
//!   name that is still a valid one (`CON`) are mapped back, so a client that accepts it gets
//!   the real file;
//! - it declares another content hash in the manifests of chosen files (`GET /v1/manifest/…`).
//!
//! Every request that is not a read is logged, so a test can show the client changed nothing
//! in the drive because of what it was sent.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;

use cairn_test_cluster::http::request;

/// The running proxy.
pub struct LyingProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    hashes: Arc<Mutex<Vec<(String, String)>>>,
    log: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    upstream: SocketAddr,
    /// (real name, name sent instead).
    renames: Vec<(String, String)>,
    /// (drive path, hash declared instead) for manifests.
    hashes: Arc<Mutex<Vec<(String, String)>>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl LyingProxy {
    /// A proxy on a free loopback port in front of the node API at `upstream`, sending each
    /// real name of `renames` as the name paired with it.
    pub async fn start(upstream: SocketAddr, renames: &[(&str, &str)]) -> Self {
        let (log, hashes) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
        let shared = Arc::new(Shared {
            upstream,
            renames: renames.iter().map(|(real, sent)| ((*real).to_owned(), (*sent).to_owned())).collect(),
            hashes: hashes.clone(),
            log: log.clone(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = axum::Router::new().fallback(forward).with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, hashes, log, task }
    }

    /// From now on, declares `hash` (hex) as the content hash of the file at drive path
    /// `path` (no leading slash), whatever it holds.
    pub fn lie_about(&self, path: &str, hash: &str) {
        self.hashes.lock().unwrap().push((path.to_owned(), hash.to_owned()));
    }

    /// Tells the truth about every hash again.
    pub fn stop_lying(&self) {
        self.hashes.lock().unwrap().clear();
    }

    /// Every request that could change something (`METHOD path`), in order.
    pub fn writes(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for LyingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(shared): State<Arc<Shared>>, incoming: Request) -> Response {
    let method = incoming.method().clone();
    let target = incoming.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    // A name sent instead of a real one comes back as a path segment: map it back.
    let (path, query) = target.split_once('?').map_or((target.as_str(), None), |(p, q)| (p, Some(q)));
    let mut target = path
        .split('/')
        .map(|segment| {
            let real = shared.renames.iter().find(|(_, sent)| sent == segment).map(|(real, _)| real.as_str());
            real.unwrap_or(segment).to_owned()
        })
        .collect::<Vec<_>>()
        .join("/");
    if let Some(query) = query {
        target = format!("{target}?{query}");
    }
    if method != Method::GET && method != Method::HEAD && method != Method::OPTIONS {
        shared.log.lock().unwrap().push(format!("{method} {target}"));
    }
    let headers: Vec<(String, String)> = incoming
        .headers()
        .iter()
        .filter(|(name, _)| {
            !matches!(name.as_str(), "host" | "connection" | "content-length" | "transfer-encoding")
        })
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let Ok(body) = to_bytes(incoming.into_body(), 256 << 20).await else {
        return status(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let (upstream, verb, path) = (shared.upstream, method.to_string(), target.clone());
    let reply = tokio::task::spawn_blocking(move || {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        request(upstream, &verb, &path, &headers, &body)
    })
    .await;
    let Ok(reply) = reply else { return status(StatusCode::BAD_GATEWAY) };
    let mut body = reply.body.clone();
    if method == Method::GET && target.starts_with("/v1/tree/") && reply.status == 200 {
        body = rename_children(&body, &shared.renames).unwrap_or(body);
    }
    if method == Method::GET && target.starts_with("/v1/manifest/") && reply.status == 200 {
        let lies = shared.hashes.lock().unwrap().clone();
        body = declare_hash(&body, &lies).unwrap_or(body);
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in &reply.headers {
        if matches!(name.as_str(), "content-length" | "transfer-encoding" | "connection") {
            continue;
        }
        if let (Ok(name), Ok(value)) =
            (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str()))
        {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// A listing's body with its children renamed.
fn rename_children(body: &[u8], renames: &[(String, String)]) -> Option<Vec<u8>> {
    let mut view: serde_json::Value = serde_json::from_slice(body).ok()?;
    for child in view.get_mut("children")?.as_array_mut()? {
        let name = child.get("name")?.as_str()?.to_owned();
        if let Some((_, sent)) = renames.iter().find(|(real, _)| *real == name) {
            child["name"] = serde_json::Value::String(sent.clone());
        }
    }
    serde_json::to_vec(&view).ok()
}

/// A manifest's body with the hash declared for its path, if there is a lie about it.
fn declare_hash(body: &[u8], lies: &[(String, String)]) -> Option<Vec<u8>> {
    let mut manifest: serde_json::Value = serde_json::from_slice(body).ok()?;
    let path = manifest.get("path")?.as_str()?.trim_start_matches('/').to_owned();
    let (_, hash) = lies.iter().find(|(lied, _)| *lied == path)?;
    manifest["hash"] = serde_json::Value::String(hash.clone());
    serde_json::to_vec(&manifest).ok()
}

fn status(code: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}
