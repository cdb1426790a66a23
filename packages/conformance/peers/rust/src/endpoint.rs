//! Endpoint strings (SPEC §1): `/abs/path.sock`, `unix:/abs/path.sock`, or
//! `tcp://HOST:PORT` (`tcp://[::1]:PORT` for IPv6).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where to listen or connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix domain stream socket at an absolute path.
    Unix(PathBuf),
    /// A TCP address, `HOST:PORT` (IPv6 hosts in brackets).
    Tcp(String),
}

/// The endpoint string has none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid endpoint {input:?}: {reason}")]
pub struct InvalidEndpoint {
    /// The rejected text.
    pub input: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

impl FromStr for Endpoint {
    type Err = InvalidEndpoint;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason| InvalidEndpoint {
            input: s.to_string(),
            reason,
        };
        if let Some(rest) = s.strip_prefix("tcp://") {
            // HOST:PORT with a numeric port; a bracketed IPv6 host keeps its
            // brackets so the string can be handed to `lookup_host` as is.
            let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("missing :PORT"))?;
            if host.is_empty() {
                return Err(bad("missing host"));
            }
            if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
                return Err(bad("an IPv6 host must be written in brackets"));
            }
            port.parse::<u16>()
                .map_err(|_| bad("port is not 0-65535"))?;
            return Ok(Endpoint::Tcp(rest.to_string()));
        }
        let path = s.strip_prefix("unix:").unwrap_or(s);
        if path.starts_with('/') {
            Ok(Endpoint::Unix(PathBuf::from(path)))
        } else {
            Err(bad(
                "expected /abs/path.sock, unix:/abs/path.sock or tcp://HOST:PORT",
            ))
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "{}", path.display()),
            Endpoint::Tcp(addr) => write!(f, "tcp://{addr}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let cases: &[(&str, Option<Endpoint>)] = &[
            ("/tmp/a.sock", Some(Endpoint::Unix("/tmp/a.sock".into()))),
            (
                "unix:/tmp/a.sock",
                Some(Endpoint::Unix("/tmp/a.sock".into())),
            ),
            (
                "tcp://127.0.0.1:0",
                Some(Endpoint::Tcp("127.0.0.1:0".into())),
            ),
            ("tcp://[::1]:9000", Some(Endpoint::Tcp("[::1]:9000".into()))),
            (
                "tcp://localhost:80",
                Some(Endpoint::Tcp("localhost:80".into())),
            ),
            ("tcp://::1:9000", None),
            ("tcp://127.0.0.1", None),
            ("tcp://:80", None),
            ("tcp://h:99999", None),
            ("relative.sock", None),
            ("unix:relative.sock", None),
            ("http://x:1", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = input.parse::<Endpoint>().ok();
            assert_eq!(&got, want, "parse({input:?}): got {got:?}; want {want:?}");
        }
    }
}
