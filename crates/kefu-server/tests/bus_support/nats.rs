//! NATS for the bus tests: a private `nats-server` a test starts and stops by
//! its own pid, and reading a stream back.

use super::{check::Got, machine::*};
use futures::StreamExt;
use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A `nats-server` of this test's own on a free port, with its own store
/// directory; stopped by its own pid, never by name.
pub struct PrivateNats {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl PrivateNats {
    /// Not started yet: kefu may be pointed at it first.
    pub fn new(dir: &Path) -> PrivateNats {
        assert!(
            Path::new(NATS_BIN).exists(),
            "{NATS_BIN} is required for the fault test (Debian package nats-server)"
        );
        PrivateNats {
            child: None,
            port: free_port(),
            dir: dir.to_path_buf(),
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it (again, on the same port and store) and waits until
    /// JetStream answers.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("nats.log"))
            .unwrap();
        let mut cmd = Command::new(NATS_BIN);
        // SAFETY: prctl(2) only, between fork and exec. If the test process
        // is killed (Drop never runs), the server goes with it instead of
        // staying behind on the shared machine.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.dir.join("store"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        // Generous: under the whole suite's load a JetStream restart that
        // recovers its store has taken longer than 15 s.
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            // JetStream answers its API (account info) once it is up.
            if let Ok(c) = async_nats::connect(self.url()).await
                && let Ok(m) = c.request("$JS.API.INFO", "".into()).await
                && serde_json::from_slice::<serde_json::Value>(&m.payload)
                    .is_ok_and(|v| v.get("error").is_none())
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "private nats-server did not come up; its log:\n{}",
                std::fs::read_to_string(self.dir.join("nats.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `signal` to its own pid and waits for it to exit.
    pub fn stop(&mut self, signal: i32) {
        let mut child = self.child.take().expect("running");
        let pid = child.id() as libc::pid_t;
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {pid}");
        child.wait().expect("nats-server exits");
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Reads the whole stream with a pull consumer, oldest first.
pub async fn read_stream(js: &async_nats::jetstream::Context, stream: &str) -> Vec<Got> {
    use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
    let mut s = js.get_stream(stream).await.unwrap();
    let total = s.info().await.unwrap().state.messages as usize;
    let consumer = s
        .create_consumer(pull::Config {
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut got = Vec::with_capacity(total);
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < total {
        assert!(
            Instant::now() < deadline,
            "read {} of {total} stream messages",
            got.len()
        );
        let mut batch = consumer
            .fetch()
            .max_messages(500)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .unwrap();
        while let Some(m) = batch.next().await {
            let m = m.unwrap();
            let id = m
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.as_str().to_string())
                .expect("Nats-Msg-Id header");
            got.push(Got {
                id,
                key: m.subject.to_string(),
                payload: m.payload.to_vec(),
            });
        }
    }
    got
}

/// How many messages the stream holds.
pub async fn stream_len(nats_url: &str, stream: &str) -> Option<u64> {
    let c = async_nats::connect(nats_url).await.ok()?;
    let js = async_nats::jetstream::new(c);
    let mut s = js.get_stream(stream).await.ok()?;
    Some(s.info().await.ok()?.state.messages)
}
