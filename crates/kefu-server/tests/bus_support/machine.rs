//! The machine's brokers (started with the machine's own commands when they
//! are down, or the test fails saying so) and names and ports of a test's own.

use std::{
    net::{SocketAddr, TcpStream},
    process::Command,
    time::{Duration, Instant},
};

pub const NATS_BIN: &str = "/usr/sbin/nats-server";

pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_ok()
}

/// Makes sure a machine service answers on `port`, starting it with the
/// machine's own command (docs: the machine notes) if it does not.
pub fn ensure_service(name: &str, port: u16, start: &[&str], wait: Duration) {
    if port_open(port) {
        return;
    }
    let cmd = start.join(" ");
    eprintln!("{name} is not answering on 127.0.0.1:{port}; starting it: {cmd}");
    let status = Command::new(start[0]).args(&start[1..]).status();
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if port_open(port) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "{name} is required on 127.0.0.1:{port} and did not come up with `{cmd}` ({status:?}); \
         start it (make services) and run the tests again"
    );
}

pub fn ensure_machine_nats() {
    ensure_service(
        "NATS (JetStream)",
        4222,
        &[
            "start-stop-daemon",
            "--start",
            "--oknodo",
            "--background",
            "--exec",
            NATS_BIN,
            "--",
            "-a",
            "127.0.0.1",
            "-p",
            "4222",
            "-js",
            "-sd",
            "/var/lib/nats-server",
            "-l",
            "/var/log/nats-server.log",
        ],
        Duration::from_secs(15),
    );
}

pub fn ensure_machine_rabbitmq() {
    ensure_service(
        "RabbitMQ",
        5672,
        &["rabbitmq-server", "-detached"],
        Duration::from_secs(90),
    );
}

/// A name no other test run uses (streams, subjects, exchanges).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

/// A port nothing listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
