//! Talking to the cluster through any of its nodes: one HTTP request, retried on the next node
//! when a node cannot be reached, dies mid-answer, or answers that it cannot serve right now
//! (502/503/504: no leader yet, too few nodes for a write), until the call's deadline.
//!
//! Only what may pass is retried; the API's refusals (`not_found`, `conflict`, …) come back
//! at once. Every write carries an `Idempotency-Key` drawn once per call and sent on every
//! attempt, so a write whose answer was lost is not applied twice.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cairn_proto::api::{ErrorBody, IDEMPOTENCY_KEY};
use cairn_proto::error::with_causes;
use cairn_proto::{Backoff, DrivePath};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::ClientConfig;
use crate::counters::Counters;
use crate::error::ClientError;

/// The first pause after every node failed once; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Up to this much is added to each pause, so clients that lost the same leader do not all
/// come back in the same instant.
const JITTER: Duration = Duration::from_millis(50);
/// How long a node that failed an attempt gets no spread calls ([`Call::spread`]): an
/// unreachable node would otherwise cost every block spread to it a connect timeout.
const SPREAD_AVOIDS_FAILED_FOR: Duration = Duration::from_secs(10);

/// The nodes of a cluster, the HTTP client, and which node is in use.
pub struct Nodes {
    http: reqwest::Client,
    /// The same without the read timeout, for calls with a deadline of their own (long polls,
    /// which stay silent until something happens): reqwest's read timeout is per client.
    http_untimed: reqwest::Client,
    urls: Vec<Url>,
    current: AtomicUsize,
    /// Per node, until when spread calls keep off it, after it failed an attempt.
    failed_until: Mutex<Vec<Option<Instant>>>,
    token: String,
    retry_for: Duration,
    counters: Counters,
}

/// One API request, as data, so it can be sent again.
#[derive(Debug, Clone)]
pub struct Call {
    method: Method,
    /// Path segments after the node's base address (`["v1", "tree", "a b"]`), encoded on send.
    segments: Vec<String>,
    query: Vec<(String, String)>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<(Bytes, &'static str)>,
    /// A deadline for each attempt that replaces the client's read timeout.
    timeout: Option<Duration>,
    /// How many nodes past the one in use the first attempt goes to.
    spread: usize,
}

impl Call {
    /// A request of `method` to `/v1/<segments>`.
    pub fn new(method: Method, segments: &[&str]) -> Self {
        let mut all = vec!["v1".to_owned()];
        all.extend(segments.iter().map(|s| (*s).to_owned()));
        Self {
            method,
            segments: all,
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            timeout: None,
            spread: 0,
        }
    }

    /// Sends the first attempt to the node `slot` places after the one in use (wrapping), so
    /// the blocks of one transfer, numbered in turn, share the work over every node; a failed
    /// attempt falls back to the node in use and the usual fail-over, and a node that failed
    /// lately gets no spread calls.
    pub fn spread(mut self, slot: usize) -> Self {
        self.spread = slot;
        self
    }

    /// Gives each attempt this long in all, instead of the client's read timeout: for a call
    /// the node answers only after a wait of its own (a long poll).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Appends a drive path's names to the request path, each percent-encoded on send.
    pub fn path(mut self, drive_path: &DrivePath) -> Self {
        self.segments.extend(drive_path.as_str().split('/').filter(|s| !s.is_empty()).map(str::to_owned));
        self
    }

    /// Appends one more segment to the request path.
    pub fn segment(mut self, segment: &str) -> Self {
        self.segments.push(segment.to_owned());
        self
    }

    /// Adds the fields of `query` to the query string.
    pub fn query(mut self, query: &impl Serialize) -> Result<Self, ClientError> {
        let value = serde_json::to_value(query).map_err(|e| ClientError::Invalid(e.to_string()))?;
        if let serde_json::Value::Object(map) = value {
            for (k, v) in map {
                let v = match v {
                    serde_json::Value::Null => continue,
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                self.query.push((k, v));
            }
        }
        Ok(self)
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: &str) -> Result<Self, ClientError> {
        let value = HeaderValue::from_str(value)
            .map_err(|_| ClientError::Invalid(format!("{value:?} cannot be sent in {name}")))?;
        self.headers.push((name, value));
        Ok(self)
    }

    /// A JSON body.
    pub fn json(mut self, body: &impl Serialize) -> Result<Self, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Invalid(e.to_string()))?;
        self.body = Some((Bytes::from(bytes), "application/json"));
        Ok(self)
    }

    /// A binary body.
    pub fn bytes(mut self, body: Bytes) -> Self {
        self.body = Some((body, "application/octet-stream"));
        self
    }

    /// Makes the call safe to retry: one fresh idempotency key, sent with every attempt.
    pub fn idempotent(self) -> Self {
        let key = hex::encode(rand::random::<[u8; 16]>());
        // Hex is always a valid header value.
        match HeaderValue::from_str(&key) {
            Ok(value) => {
                let mut call = self;
                call.headers.push((HeaderName::from_static(IDEMPOTENCY_KEY), value));
                call
            }
            Err(_) => self,
        }
    }
}

/// A whole answer: status, headers and body.
#[derive(Debug)]
pub struct Answer {
    /// The status (a success: errors become [`ClientError`]).
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|e| ClientError::Protocol {
            node: String::new(),
            what: format!("a body that is not the expected JSON: {e}"),
        })
    }
}

/// Why one attempt failed, and whether another may succeed.
enum Failure {
    Retry(String),
    Final(ClientError),
}

/// How long an idle connection is kept for reuse: under a node's default keep-alive idle
/// timeout (`network.idle_timeout_s`, 60 s), so the client drops a connection before the node
/// does and never sends a request into one the node is closing.
const POOL_IDLE: Duration = Duration::from_secs(50);

impl Nodes {
    /// The nodes of `config`, with an HTTP client trusting what it says.
    pub fn new(config: &ClientConfig) -> Result<Self, ClientError> {
        let urls = config.node_urls()?;
        let builder = || -> Result<reqwest::ClientBuilder, ClientError> {
            Ok(reqwest::Client::builder()
                .tls_backend_preconfigured(config.tls()?)
                .connect_timeout(config.connect_timeout)
                .pool_idle_timeout(POOL_IDLE)
                .user_agent(concat!("cairn-client/", env!("CARGO_PKG_VERSION"))))
        };
        let built = |b: reqwest::ClientBuilder| {
            b.build().map_err(|e| ClientError::Config(format!("HTTP client: {e}")))
        };
        let http = built(builder()?.read_timeout(config.read_timeout))?;
        let http_untimed = built(builder()?)?;
        let failed_until = Mutex::new(vec![None; urls.len()]);
        Ok(Self {
            http,
            http_untimed,
            urls,
            current: AtomicUsize::new(0),
            failed_until,
            token: config.token.clone(),
            retry_for: config.retry_for,
            counters: Counters::default(),
        })
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The node in use.
    pub fn current(&self) -> Url {
        self.urls[self.current.load(Ordering::Relaxed) % self.urls.len()].clone()
    }

    /// Sends `call` with the token, failing over and retrying until it succeeds, is refused, or
    /// the retry deadline passes.
    pub async fn send(&self, call: &Call) -> Result<Answer, ClientError> {
        self.send_as(call, true).await
    }

    /// [`Self::send`] without the token (public share links).
    pub async fn send_anonymous(&self, call: &Call) -> Result<Answer, ClientError> {
        self.send_as(call, false).await
    }

    async fn send_as(&self, call: &Call, authenticated: bool) -> Result<Answer, ClientError> {
        // A call that waits by design (a long poll) gets its wait on top of the retry window.
        let deadline = Instant::now() + self.retry_for + call.timeout.unwrap_or_default();
        let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF).with_jitter(JITTER, rand::random());
        let mut failed_in_round = 0;
        let mut spread = call.spread;
        loop {
            let current = self.current.load(Ordering::Relaxed) % self.urls.len();
            let mut index = (current + spread) % self.urls.len();
            if spread != 0 && self.failed_lately(index) {
                (spread, index) = (0, current);
            }
            let failure = match self.attempt(&self.urls[index], call, authenticated).await {
                Ok(answer) => return Ok(answer),
                Err(Failure::Final(e)) => return Err(e),
                Err(Failure::Retry(why)) => why,
            };
            tracing::debug!(node = %self.urls[index], "{failure}; trying again");
            if Instant::now() >= deadline {
                return Err(ClientError::Unreachable(format!(
                    "gave up after {:?}: {failure}",
                    self.retry_for
                )));
            }
            self.counters.retry();
            self.mark_failed(index);
            if spread != 0 {
                // A node it was spread to failed: back to the one in use.
                spread = 0;
            } else {
                // Move on to the next node, unless another call already did.
                let _ = self.current.compare_exchange(
                    index,
                    (index + 1) % self.urls.len(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            failed_in_round += 1;
            // Every node failed once: the cluster may be electing a leader; wait a little.
            if failed_in_round >= self.urls.len() {
                failed_in_round = 0;
                let pause = backoff.next_delay();
                tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
            }
        }
    }

    /// Whether node `index` failed an attempt within [`SPREAD_AVOIDS_FAILED_FOR`].
    fn failed_lately(&self, index: usize) -> bool {
        let failed = self.failed_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failed[index].is_some_and(|until| Instant::now() < until)
    }

    fn mark_failed(&self, index: usize) {
        let mut failed = self.failed_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failed[index] = Some(Instant::now() + SPREAD_AVOIDS_FAILED_FOR);
    }

    async fn attempt(&self, base: &Url, call: &Call, authenticated: bool) -> Result<Answer, Failure> {
        let mut url = base.clone();
        {
            let mut path = url.path_segments_mut().map_err(|()| {
                Failure::Final(ClientError::Config(format!("{base} cannot be a base address")))
            })?;
            path.pop_if_empty();
            path.extend(&call.segments);
        }
        let mut request = match call.timeout {
            Some(timeout) => self.http_untimed.request(call.method.clone(), url.clone()).timeout(timeout),
            None => self.http.request(call.method.clone(), url.clone()),
        };
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if authenticated {
            request = request.header(AUTHORIZATION, format!("Bearer {}", self.token));
        }
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        if let Some((body, content_type)) = &call.body {
            self.counters.sent(body.len() as u64);
            request = request.header(CONTENT_TYPE, *content_type).body(body.clone());
        }
        self.counters.request();
        let response =
            request.send().await.map_err(|e| Failure::Retry(format!("{base}: {}", with_causes(&e))))?;
        let status = response.status();
        let headers = response.headers().clone();
        // A node that dies mid-answer fails here: the attempt is retried like a refused dial.
        let body = response
            .bytes()
            .await
            .map_err(|e| Failure::Retry(format!("{base}: reading the answer: {}", with_causes(&e))))?;
        self.counters.received(body.len() as u64);
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(Answer { status, headers, body });
        }
        let error = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) => ClientError::Api {
                status,
                code: e.code,
                message: e.message,
                missing: e.missing.unwrap_or_default(),
                head: e.head,
            },
            Err(_) => ClientError::Protocol {
                node: base.to_string(),
                what: format!("HTTP {status} with a body that is not an API error"),
            },
        };
        match status {
            StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
                Err(Failure::Retry(format!("{base}: {error}")))
            }
            _ => Err(Failure::Final(error)),
        }
    }
}
