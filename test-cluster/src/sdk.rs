//! The SDK against a test cluster: a client over every node's plain-HTTP API, and a reader
//! that holds an upload open halfway until the test lets it go on.

use std::io::Read;
use std::sync::mpsc;

use cairn_client::{Client, ClientConfig};

use crate::ProcessCluster;

/// A client of `cluster` with `token`, listing every node.
pub fn client(cluster: &ProcessCluster, token: &str) -> Client {
    let nodes = cluster.nodes.values().map(|n| format!("http://{}", n.api)).collect();
    Client::new(ClientConfig::new(nodes, token)).unwrap()
}

/// Yields `first` bytes, then waits for the gate before the rest (or fails, if the gate is
/// dropped).
pub struct Gated {
    data: std::io::Cursor<Vec<u8>>,
    first: u64,
    gate: Option<mpsc::Receiver<()>>,
}

impl Gated {
    /// `data`, held after its first `first` bytes until `gate` sends.
    pub fn new(data: Vec<u8>, first: u64, gate: mpsc::Receiver<()>) -> Self {
        Self { data: std::io::Cursor::new(data), first, gate: Some(gate) }
    }
}

impl Read for Gated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.data.position() >= self.first
            && let Some(gate) = self.gate.take()
        {
            gate.recv().map_err(|_| std::io::Error::other("the upload was called off"))?;
        }
        let room = if self.gate.is_some() { (self.first - self.data.position()) as usize } else { buf.len() };
        let len = buf.len().min(room);
        self.data.read(&mut buf[..len])
    }
}

/// Uploads `content` to `path` (a new version if a file is there).
pub async fn put_text(client: &Client, path: &str, content: &str) {
    let reader = std::io::Cursor::new(content.as_bytes().to_vec());
    client.upload_reader(reader, path, &cairn_client::upload::PutOptions::default()).await.unwrap();
}
