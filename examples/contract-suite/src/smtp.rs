//! A real SMTP server on loopback for the cases that need one: aiosmtpd,
//! through auth-core's `tests/smtp_capture.py`, which writes each message
//! it receives to a JSON file.
//!
//! It needs `python3` with `aiosmtpd`. [`SmtpCapture::unavailable`] says
//! why it cannot run here; a case then skips, unless `AUTH_TEST_SMTP` is
//! `required` (CI, once aiosmtpd imports), when it fails instead.

use std::{
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::outbox::Mail;

/// The variable that says whether the SMTP cases must run (`required`).
pub const SMTP_VAR: &str = "AUTH_TEST_SMTP";

/// The capture script, shared with auth-core's own SMTP tests.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../auth-core/tests/smtp_capture.py")
}

/// A running capture server; stopped when dropped.
pub struct SmtpCapture {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpCapture {
    /// Why the capture server cannot run here, if it cannot: no
    /// `AUTH_TEST_SMTP` set at all, or no python3 with aiosmtpd.
    pub fn unavailable() -> Option<String> {
        if std::env::var(SMTP_VAR).is_err() {
            return Some(format!("{SMTP_VAR} is not set"));
        }
        let importable = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        (!importable).then(|| "`python3 -c 'import aiosmtpd'` fails".to_owned())
    }

    /// Starts the server on `127.0.0.1:port` and waits until it listens;
    /// panics if it cannot.
    pub fn start_on(port: u16) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("contract-suite-smtp-")
            .tempdir()
            .expect("a temporary directory for the captured mail");
        let mut child = Command::new("python3")
            .arg(script())
            .arg(dir.path())
            .env("SMTP_CAPTURE_PORT", port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", script().display()));
        let stdout = child.stdout.take().expect("the capture server's stdout");
        let (sender, said) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = said
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_default();
        if line.trim().parse::<u16>().ok() != Some(port) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the SMTP capture server did not listen on port {port} (it said {line:?})");
        }
        Self { child, port, dir }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The messages received so far, oldest first, in the outbox's form
    /// (so that [`Mail::token`] finds a link's token).
    pub fn messages(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.dir.path()) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|file| {
                let record: Value =
                    serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
                let headers = &record["headers"];
                let header = |name: &str| headers[name].as_str().unwrap_or_default().to_owned();
                let content = format!(
                    "To: {}\nSubject: {}\nX-Auth-Message: {}\n\n{}",
                    header("To"),
                    header("Subject"),
                    header("X-Auth-Message"),
                    record["text"].as_str().unwrap_or_default()
                );
                Mail::parse(file, &content)
            })
            .collect()
    }

    /// Waits up to `timeout` until at least `n` messages have arrived;
    /// returns them all (panics, listing them, if they do not arrive).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{n} message(s) expected at the SMTP server within {} s; it has {messages:#?}",
                    timeout.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpCapture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl std::fmt::Debug for SmtpCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpCapture")
            .field("port", &self.port)
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}
