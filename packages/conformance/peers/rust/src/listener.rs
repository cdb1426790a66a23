//! Binding a listening endpoint, including the Unix socket file rules of
//! SPEC §7.
//!
//! # Creating the socket file with its final mode, race-free
//!
//! `bind(2)` creates the file with `0777 & !umask`, and a `chmod` afterwards
//! leaves a window in which another user could connect (the deployed server's
//! defect). Changing the umask around `bind` is process-wide, so it would race
//! with any other thread creating files (and make their directories
//! untraversable). Instead we:
//!
//! 1. bind in a fresh private directory (mode `0700`) next to the target, so
//!    nobody else can reach the new socket whatever its mode;
//! 2. `chmod` it to the requested mode while it is still private;
//! 3. `link(2)` it to the target path. `link` never replaces an existing file
//!    (it fails with `EEXIST`), so a file that appeared at the target since
//!    we looked is left intact and reported as `AddressInUse`;
//! 4. unlink the private name and remove the directory. Connections find a
//!    Unix socket by inode, so the hard link is a full listening address.

use crate::endpoint::Endpoint;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// Default mode of a created socket file: owner only (SPEC §7).
pub const DEFAULT_SOCKET_MODE: u32 = 0o600;

/// A bound listener, ready to accept.
#[derive(Debug)]
pub enum Listener {
    /// A Unix socket; the file is removed when the [`SocketFile`] drops.
    Unix(UnixListener, SocketFile),
    /// A TCP socket.
    Tcp(TcpListener),
}

/// An accepted connection.
#[derive(Debug)]
pub enum Stream {
    /// From a Unix listener.
    Unix(UnixStream),
    /// From a TCP listener.
    Tcp(TcpStream),
}

impl Listener {
    /// Bind `endpoint`. Unix socket files get `mode` (see the module docs).
    ///
    /// Errors: `AddrInUse` when a live socket (or a newly appeared file) is
    /// at the path; `AlreadyExists` when the path is not a socket; any error
    /// of `bind`, `chmod` or `link`.
    pub async fn bind(endpoint: &Endpoint, mode: u32) -> io::Result<Listener> {
        match endpoint {
            Endpoint::Tcp(addr) => Ok(Listener::Tcp(TcpListener::bind(addr.as_str()).await?)),
            Endpoint::Unix(path) => {
                let (listener, file) = bind_unix(path, mode).await?;
                Ok(Listener::Unix(listener, file))
            }
        }
    }

    /// The endpoint actually bound: the real port for `tcp://…:0`, the path
    /// as given for a Unix socket. This is what the ready line prints.
    pub fn local_endpoint(&self) -> io::Result<Endpoint> {
        match self {
            Listener::Unix(_, file) => Ok(Endpoint::Unix(file.path.clone())),
            Listener::Tcp(l) => Ok(Endpoint::Tcp(l.local_addr()?.to_string())),
        }
    }

    /// Accept one connection. Cancel safe.
    pub async fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Unix(l, _) => Ok(Stream::Unix(l.accept().await?.0)),
            Listener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                // Responses are small and latency matters more than packet
                // count on loopback.
                s.set_nodelay(true)?;
                Ok(Stream::Tcp(s))
            }
        }
    }
}

/// A socket file this process created; removed on drop if it is still the
/// same file (same device and inode), so a file someone else put there after
/// us is never deleted.
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    id: Option<(u64, u64)>,
}

impl SocketFile {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let (Some(id), Ok(meta)) = (self.id, std::fs::symlink_metadata(&self.path)) {
            if (meta.dev(), meta.ino()) == id {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// What is at a path we want to bind.
#[derive(Debug, PartialEq, Eq)]
enum Existing {
    Nothing,
    StaleSocket,
}

/// Apply the SPEC §7 rules to whatever is at `path`.
async fn inspect(path: &Path) -> io::Result<Existing> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a socket; refusing to replace it",
                path.display()
            ),
        ));
    }
    match UnixStream::connect(path).await {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("{} is a live socket (a connect succeeded)", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(Existing::StaleSocket),
        // Removed between our stat and connect: the path is free now.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Existing::Nothing),
        // Anything else (a full backlog says WouldBlock, a permission
        // error…) does not prove the socket dead, so leave it alone.
        Err(e) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("{} is a socket that may be in use: {e}", path.display()),
        )),
    }
}

/// A unique name for the private bind directory.
fn private_dir(parent: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Short on purpose: Unix socket paths are limited to ~108 bytes.
    parent.join(format!(".txl{}-{n}", std::process::id()))
}

async fn bind_unix(path: &Path, mode: u32) -> io::Result<(UnixListener, SocketFile)> {
    if inspect(path).await? == Existing::StaleSocket {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("/"));
    let dir = private_dir(parent);
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let private = dir.join("s");
    let bound = (|| -> io::Result<std::os::unix::net::UnixListener> {
        let listener = std::os::unix::net::UnixListener::bind(&private)?;
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(mode))?;
        std::fs::hard_link(&private, path).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{} appeared while binding; left intact", path.display()),
                )
            } else {
                e
            }
        })?;
        Ok(listener)
    })();
    // Clean up the private name whatever happened; the listener (if any)
    // stays reachable through the hard link.
    let _ = std::fs::remove_file(&private);
    let _ = std::fs::remove_dir(&dir);
    let listener = bound?;
    let id = std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()));
    let file = SocketFile {
        path: path.to_path_buf(),
        id,
    };
    listener.set_nonblocking(true)?;
    Ok((UnixListener::from_std(listener)?, file))
}

/// The read half of a [`Stream`], boxed so code above this module does not
/// care whether it is Unix or TCP.
pub type ReadHalf = Box<dyn tokio::io::AsyncRead + Send + Unpin>;
/// The write half of a [`Stream`].
pub type WriteHalf = Box<dyn tokio::io::AsyncWrite + Send + Unpin>;

impl Stream {
    /// Connect to `endpoint` (the sender side).
    pub async fn connect(endpoint: &Endpoint) -> io::Result<Stream> {
        match endpoint {
            Endpoint::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path).await?)),
            Endpoint::Tcp(addr) => {
                let s = TcpStream::connect(addr.as_str()).await?;
                s.set_nodelay(true)?;
                Ok(Stream::Tcp(s))
            }
        }
    }

    /// Split into independently owned halves (no lock between them, unlike
    /// `tokio::io::split`), so one task can read while another writes.
    pub fn into_split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Stream::Unix(s) => {
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w))
            }
            Stream::Tcp(s) => {
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w))
            }
        }
    }
}
