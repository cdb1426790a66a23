//! Unix socket file rules (SPEC §7).

mod common;

use common::{RunningServer, TempDir};
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use txlane_peer::endpoint::Endpoint;
use txlane_peer::listener::{Listener, DEFAULT_SOCKET_MODE};
use txlane_peer::server::ServerConfig;

#[tokio::test]
async fn created_with_mode_0600_and_removed_on_shutdown() {
    let dir = TempDir::new();
    let path = dir.join("s.sock");
    let server = RunningServer::start(&Endpoint::Unix(path.clone()), ServerConfig::default()).await;
    let meta = std::fs::symlink_metadata(&path).expect("socket exists");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    // No private bind directory is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("read dir").collect();
    assert_eq!(leftovers.len(), 1);
    server.stop().await;
    assert!(!path.exists(), "socket file removed on shutdown");
}

#[tokio::test]
async fn custom_mode() {
    let dir = TempDir::new();
    let path = dir.join("s.sock");
    let l = Listener::bind(&Endpoint::Unix(path.clone()), 0o660)
        .await
        .expect("bind");
    let mode = std::fs::symlink_metadata(&path)
        .expect("exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660);
    drop(l);
    assert!(!path.exists());
}

#[tokio::test]
async fn live_socket_is_refused_and_left() {
    let dir = TempDir::new();
    let path = dir.join("s.sock");
    let endpoint = Endpoint::Unix(path.clone());
    let first = RunningServer::start(&endpoint, ServerConfig::default()).await;
    let err = Listener::bind(&endpoint, DEFAULT_SOCKET_MODE)
        .await
        .err()
        .map(|e| e.kind());
    assert_eq!(err, Some(ErrorKind::AddrInUse));
    // The first server still works.
    assert!(tokio::net::UnixStream::connect(&path).await.is_ok());
    first.stop().await;
}

#[tokio::test]
async fn stale_socket_is_replaced() {
    let dir = TempDir::new();
    let path = dir.join("s.sock");
    // A socket file nobody listens on: bind with std and drop the listener
    // without removing the file.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("std bind"));
    assert!(std::fs::symlink_metadata(&path)
        .expect("stale")
        .file_type()
        .is_socket());
    let l = Listener::bind(&Endpoint::Unix(path.clone()), DEFAULT_SOCKET_MODE).await;
    assert!(l.is_ok(), "stale socket replaced: {:?}", l.err());
    assert!(tokio::net::UnixStream::connect(&path).await.is_ok());
}

#[tokio::test]
async fn non_sockets_are_left_intact() {
    let dir = TempDir::new();
    let file = dir.join("file.sock");
    std::fs::write(&file, b"precious").expect("write");
    let subdir = dir.join("dir.sock");
    std::fs::create_dir(&subdir).expect("mkdir");
    let link = dir.join("link.sock");
    std::os::unix::fs::symlink(&file, &link).expect("symlink");
    let dangling = dir.join("dangling.sock");
    std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).expect("symlink");
    for path in [&file, &subdir, &link, &dangling] {
        let r = Listener::bind(&Endpoint::Unix(path.clone()), DEFAULT_SOCKET_MODE).await;
        assert!(r.is_err(), "{}: bind must fail", path.display());
    }
    assert_eq!(std::fs::read(&file).expect("file intact"), b"precious");
    assert!(subdir.is_dir());
    assert!(std::fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
    assert!(std::fs::symlink_metadata(&dangling)
        .expect("link")
        .file_type()
        .is_symlink());
}
