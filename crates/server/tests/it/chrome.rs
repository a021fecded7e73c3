//! Headless Chromium for the browser tests: finds Chromium and chromedriver
//! (the tests print why they skip when either is missing), runs one browser
//! at a time, and always cleans up.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use tempfile::TempDir;

const CHROMIUM: &[&str] = &["/usr/bin/chromium", "chromium", "chromium-browser"];
const CHROMEDRIVER: &[&str] = &["/usr/bin/chromedriver", "chromedriver"];

/// One browser at a time: the machine has two cores and Chromium is heavy.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The first candidate that exists: an absolute path, or a name on `PATH`.
fn locate(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().find_map(|c| {
        let p = Path::new(c);
        if p.is_absolute() {
            return p.is_file().then(|| p.to_path_buf());
        }
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(c))
            .find(|p| p.is_file())
    })
}

fn find_binaries() -> Result<(PathBuf, PathBuf), String> {
    let chromium = locate(CHROMIUM).ok_or("Chromium not found (apt-get install chromium)")?;
    let driver =
        locate(CHROMEDRIVER).ok_or("chromedriver not found (apt-get install chromium-driver)")?;
    Ok((chromium, driver))
}

/// A chromedriver child process, killed when dropped, together with any
/// Chromium still running on this guard's own profile directory.
struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
    profile: TempDir,
}

impl Driver {
    async fn start(binary: &Path) -> Self {
        let profile = tempfile::tempdir().expect("temp dir for the browser profile");
        let log = profile.path().with_extension("chromedriver.log");
        // A free port: bind, read, release. chromedriver takes it a moment
        // later; nothing else on this machine races for it in practice.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let out = std::fs::File::create(&log).expect("chromedriver log file");
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file handle"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut driver = Self {
            child,
            port,
            log,
            profile,
        };
        driver.wait_ready().await;
        driver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `GET /status` until chromedriver says it is ready.
    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver exited early ({status}):\n{}", self.log());
            }
            if let Ok(res) = http.get(format!("{}/status", self.url())).send().await
                && let Ok(body) = res.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on port {} within 30 s:\n{}",
                self.port,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn capabilities(&self, chromium: &Path) -> serde_json::Map<String, Value> {
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1100,860".to_owned(),
            format!("--user-data-dir={}", self.profile.path().display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": args,
            },
        });
        match caps {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    /// Kills Chromium processes left on this guard's profile (only if the
    /// WebDriver session could not be closed cleanly).
    fn kill_orphans(&self) {
        let marker = format!("--user-data-dir={}", self.profile.path().display());
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return;
        };
        for entry in procs.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            if cmdline
                .split(|&b| b == 0)
                .any(|arg| arg == marker.as_bytes())
            {
                let _ = Command::new("kill")
                    .args(["-KILL", pid])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.kill_orphans();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Runs `flow` against a fresh headless Chromium, or prints why it cannot.
/// The WebDriver session is closed and chromedriver stopped whether the flow
/// passes, panics or hangs.
pub async fn in_browser<F, Fut>(flow: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (chromium, chromedriver) = match find_binaries() {
        Ok(found) => found,
        Err(reason) => {
            println!("skipping browser test: {reason}");
            eprintln!("skipping browser test: {reason}");
            return;
        }
    };
    let _one_at_a_time = BROWSER.lock().await;
    let driver = Driver::start(&chromedriver).await;
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(driver.capabilities(&chromium))
        .connect(&driver.url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot open a Chromium session via chromedriver: {e}\n{}",
                driver.log()
            )
        });
    let task = tokio::spawn(flow(client.clone()));
    let abort = task.abort_handle();
    let outcome = tokio::time::timeout(Duration::from_secs(180), task).await;
    abort.abort();
    let closed = client.close().await;
    drop(driver);
    match outcome {
        Err(_) => panic!("the browser flow did not finish within 180 s"),
        Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Ok(Err(e)) => panic!("the browser flow failed: {e}"),
        Ok(Ok(())) => closed.expect("close the WebDriver session"),
    }
}

fn screenshot_path(name: &str) -> Option<PathBuf> {
    if std::env::var("PORTCULLIS_SCREENSHOTS").ok().as_deref() != Some("1") {
        return None;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.canonicalize().unwrap_or(root).join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("create docs/screenshots");
    Some(dir.join(name))
}

pub async fn screenshot(browser: &Client, name: &str, wanted: bool) {
    if !wanted {
        return;
    }
    if let Some(path) = screenshot_path(name) {
        let png = browser.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(&path, png).expect("write screenshot");
        println!("screenshot written to {}", path.display());
    }
}
