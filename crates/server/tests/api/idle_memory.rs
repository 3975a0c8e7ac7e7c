//! What keeps an idle server's resident memory small (issue 8: idle RSS under 40 MB), checked
//! on the `cerulean` binary itself, without timing or size figures (those belong to the
//! benchmark): `serve` opts out of transparent huge pages, so none of its memory is a huge
//! page. With the kernel's usual `madvise` setting, mimalloc's `MADV_HUGEPAGE` arenas made
//! every touched 2 MiB resident whole (6-16 MiB of an idle server).

#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The status code of `GET /readyz`, or `None` while nothing listens.
async fn readyz(port: u16) -> Option<u16> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let req = format!("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    String::from_utf8_lossy(&raw).split(' ').nth(1)?.parse().ok()
}

/// The value of `key` (e.g. `THP_enabled:`) in a `/proc` key-value file, first field only.
fn proc_field(path: &str, key: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{key} in {path}:\n{text}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_without_transparent_huge_pages() {
    let dir = std::env::temp_dir().join(format!("cerulean-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_cerulean"))
        .args(["serve", "--data-dir", dir.join("data").to_str().expect("utf-8")])
        .args(["--listen", &format!("127.0.0.1:{port}"), "--http"])
        .env_remove("CERULEAN_DATABASE_URL")
        .env_remove("MIMALLOC_ALLOW_THP")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start cerulean");
    let mut ready = false;
    for _ in 0..600 {
        if readyz(port).await == Some(200) {
            ready = true;
            break;
        }
        assert!(server.try_wait().expect("wait").is_none(), "serve stopped early");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = server.id();
    let status = ready.then(|| {
        (
            proc_field(&format!("/proc/{pid}/status"), "THP_enabled:"),
            proc_field(&format!("/proc/{pid}/smaps_rollup"), "AnonHugePages:"),
        )
    });
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let (thp_enabled, huge_kib) = status.expect("serve never became ready");
    assert_eq!(thp_enabled, "0", "the server process opts out of transparent huge pages");
    assert_eq!(huge_kib, "0", "no memory of the ready server is in huge pages (kB)");
}
