//! The names clients reach a node's HTTPS API by, as its certificate must carry them: parsed
//! from the config (`network.api_names`, `--api-name`), chosen for a listen address, and laid
//! out as a certificate lists them. Pure: no files, no keys.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use rustls::pki_types::ServerName;

use cairn_transport::{ClusterCa, IdentityError, is_cluster_node};

/// The most `network.api_names` a config may list.
pub const MAX_API_NAMES: usize = 64;

/// A name clients reach the API by: a DNS name or an IP address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ApiName {
    /// A DNS name, lowercase.
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
}

impl fmt::Display for ApiName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(name) => f.write_str(name),
            Self::Ip(ip) => ip.fmt(f),
        }
    }
}

impl ApiName {
    /// Parses an entry of `network.api_names` (or `--api-name`): an IP address, or a DNS name
    /// of lowercase letters, digits, hyphens and dots. Wildcards and cluster node names are
    /// refused; the error says why.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Ok(ip) = text.parse::<IpAddr>() {
            if ip.is_unspecified() {
                return Err(format!("{text:?} is an unspecified address, which no client can reach"));
            }
            return Ok(Self::Ip(ip));
        }
        let invalid = |why: &str| Err(format!("{text:?} is not a DNS name or IP address: {why}"));
        if text.is_empty() || text.len() > 253 {
            return invalid("a DNS name has 1 to 253 characters");
        }
        if text.contains('*') {
            return invalid("wildcards are not supported; list each name");
        }
        if !text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.') {
            return invalid("only lowercase ASCII letters, digits, '-' and '.' are allowed");
        }
        for label in text.split('.') {
            if label.is_empty() || label.len() > 63 || label.starts_with('-') || label.ends_with('-') {
                return invalid("each dot-separated label has 1 to 63 characters and no '-' at either end");
            }
        }
        if is_cluster_node(text) {
            return Err(format!(
                "{text:?} is a cluster node's name, the identity nodes know each other by; an API \
                 certificate must not carry it"
            ));
        }
        if ServerName::try_from(text).is_err() {
            return invalid("TLS clients would not accept it");
        }
        Ok(Self::Dns(text.to_owned()))
    }

    /// The name as a TLS client checks it.
    pub fn server_name(&self) -> Result<ServerName<'static>, String> {
        match self {
            Self::Ip(ip) => Ok(ServerName::IpAddress((*ip).into())),
            Self::Dns(name) => ServerName::try_from(name.clone()).map_err(|e| format!("{name:?}: {e}")),
        }
    }
}

/// The names the API certificate of a node listening on `api` must carry, `extra` (the
/// config's `api_names`) last, without repeats. The node's name is not among them (see the
/// module's invariant).
pub fn wanted_names(api: SocketAddr, extra: &[ApiName]) -> Vec<ApiName> {
    let ip = api.ip();
    let mut names = Vec::new();
    if ip.is_loopback() || ip.is_unspecified() {
        names.push(ApiName::Dns("localhost".into()));
    }
    match ip {
        // Listening on every address: loopback is one of them; the others are the operator's to
        // list in `api_names`, as the node cannot know which of its addresses clients use.
        IpAddr::V4(v4) if v4.is_unspecified() => names.push(ApiName::Ip(Ipv4Addr::LOCALHOST.into())),
        IpAddr::V6(v6) if v6.is_unspecified() => {
            names.push(ApiName::Ip(Ipv6Addr::LOCALHOST.into()));
            names.push(ApiName::Ip(Ipv4Addr::LOCALHOST.into()));
        }
        ip => names.push(ApiName::Ip(ip)),
    }
    for name in extra {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// The subject of the API certificate of the node named `node` (`node-3 API`).
pub fn subject(node: &str) -> String {
    format!("{node} API")
}

/// Signs `request`, the signing request over the API key of the node named `node`, with `ca`
/// for the names it must carry while listening on `api` (see [`wanted_names`]).
pub fn sign_request(
    ca: &ClusterCa,
    node: &str,
    api: SocketAddr,
    extra: &[ApiName],
    request: &str,
) -> Result<String, IdentityError> {
    let (dns, ips) = split(&wanted_names(api, extra));
    ca.sign_api_request(&subject(node), &dns, &ips, request)
}

/// `names` as a certificate lists them: DNS names, then IP addresses.
pub fn split(names: &[ApiName]) -> (Vec<String>, Vec<IpAddr>) {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for name in names {
        match name {
            ApiName::Dns(name) => dns.push(name.clone()),
            ApiName::Ip(ip) => ips.push(*ip),
        }
    }
    (dns, ips)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Test code: a panic is a failure report.
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<ApiName> {
        list.iter().map(|n| ApiName::parse(n).unwrap()).collect()
    }

    #[test]
    fn names_parse_strictly_and_say_why_not() {
        assert_eq!(ApiName::parse("drive.example.org"), Ok(ApiName::Dns("drive.example.org".into())));
        assert_eq!(ApiName::parse("10.0.0.2"), Ok(ApiName::Ip("10.0.0.2".parse().unwrap())));
        assert_eq!(ApiName::parse("fd00::2"), Ok(ApiName::Ip("fd00::2".parse().unwrap())));
        for (bad, why) in [
            ("", "1 to 253"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("*.example.org", "wildcards"),
            ("Drive.example.org", "lowercase"),
            ("drive..example.org", "label"),
            ("-drive.example.org", "label"),
            ("drive_1.example.org", "lowercase"),
            ("node-2", "node's name"),
        ] {
            let error = ApiName::parse(bad).unwrap_err();
            assert!(error.contains(why), "{bad:?}: {error}");
        }
    }

    #[test]
    fn wanted_names_follow_the_listening_address() {
        let loopback: SocketAddr = "127.0.0.1:8101".parse().unwrap();
        assert_eq!(wanted_names(loopback, &[]), names(&["localhost", "127.0.0.1"]));
        let public: SocketAddr = "10.0.0.2:8100".parse().unwrap();
        let extra = names(&["drive.example.org", "10.0.0.2"]);
        assert_eq!(wanted_names(public, &extra), names(&["10.0.0.2", "drive.example.org"]));
        let any: SocketAddr = "0.0.0.0:8100".parse().unwrap();
        assert_eq!(wanted_names(any, &[]), names(&["localhost", "127.0.0.1"]));
        let any6: SocketAddr = "[::]:8100".parse().unwrap();
        assert_eq!(wanted_names(any6, &[]), names(&["localhost", "::1", "127.0.0.1"]));
    }
}
