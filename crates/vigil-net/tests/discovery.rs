//! LAN discovery over real mDNS, between this test and a second process that plays the
//! other device (this same test binary, run again for its ignored `announcing_child`).
//!
//! Multicast is missing from some sandboxes and containers; where the announcing side's
//! daemon never gets the announcement out and browsing finds nothing, the test says so
//! and passes instead of failing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vigil_net::{Announcement, browse};

/// Tells `announcing_child` which port to announce; without it, it does nothing.
const CHILD_PORT: &str = "VIGIL_TEST_ANNOUNCE_PORT";
/// How long an announcement may take to get out (name probing takes about 750 ms).
const ANNOUNCE_WAIT: Duration = Duration::from_millis(2000);
const BROWSE: Duration = Duration::from_millis(1500);

/// A port number nobody else in this test uses.
fn free_port() -> (UdpSocket, u16) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

fn wait_announced(announcement: &Announcement) -> bool {
    let deadline = Instant::now() + ANNOUNCE_WAIT;
    while !announcement.has_announced() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The other device: announces the port it is given, reports on stdout whether the
/// announcement went out, and stops when its stdin closes.
#[test]
#[ignore = "the other device of browse_finds_others_but_not_itself, run in a child process"]
fn announcing_child() {
    let Ok(port) = std::env::var(CHILD_PORT) else {
        return;
    };
    let announcement = Announcement::start(port.parse().unwrap()).unwrap();
    println!("announced={}", wait_announced(&announcement));
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    announcement.stop().unwrap();
}

#[tokio::test]
async fn browse_finds_others_but_not_itself() {
    let (_their_socket, their_port) = free_port();
    let (_our_socket, our_port) = free_port();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["announcing_child", "--exact", "--ignored", "--nocapture"])
        .env(CHILD_PORT, their_port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ours = Announcement::start(our_port).unwrap();

    // Wait for the child's report, so that browsing starts once it is on the air; keep
    // reading its output after that, or it would fail writing to a closed pipe.
    let stdout = child.stdout.take().unwrap();
    let (report, reported) = tokio::sync::oneshot::channel();
    let reader = tokio::task::spawn_blocking(move || {
        let mut report = Some(report);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(flag) = line.strip_prefix("announced=")
                && let Some(report) = report.take()
            {
                let _ = report.send(flag == "true");
            }
        }
    });
    let they_announced = tokio::time::timeout(Duration::from_secs(4), reported)
        .await
        .expect("the announcing child did not report")
        .expect("the announcing child exited without a report");

    let found = browse(BROWSE).await.unwrap();
    let we_announced = ours.has_announced();
    ours.stop().unwrap();
    drop(child.stdin.take());
    assert!(
        child.wait().unwrap().success(),
        "the announcing child failed"
    );
    reader.await.unwrap();

    if found.is_empty() && !they_announced {
        eprintln!(
            "NOTE: mDNS is not usable here (no interface carried the announcement and \
             browsing found nothing); skipping the discovery assertions"
        );
        return;
    }
    println!("found {found:?}; our announcement went out: {we_announced}");
    let ports = |port: u16| {
        found
            .iter()
            .filter(|device| device.addresses.iter().any(|addr| addr.port() == port))
            .count()
    };
    assert_eq!(ports(their_port), 1, "the other device, once: {found:?}");
    assert_eq!(ports(our_port), 0, "not our own announcement: {found:?}");
    for device in &found {
        assert!(!device.addresses.is_empty());
        assert!(device.addresses.is_sorted());
    }
}

#[test]
fn announcements_start_and_stop_without_a_runtime() {
    for _ in 0..3 {
        let (_socket, port) = free_port();
        Announcement::start(port).unwrap().stop().unwrap();
    }
    // Dropping also shuts the daemon down.
    let (_socket, port) = free_port();
    drop(Announcement::start(port).unwrap());
}
