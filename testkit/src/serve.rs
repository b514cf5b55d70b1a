//! A running `gatehouse serve` for end-to-end tests: the real binary as a child process, driven over
//! HTTP with a real client. Each [`Serve`] has its own state folder (`GATEHOUSE_HOME`, removed on
//! drop) and, on DynamoDB Local, its own table (created with `gatehouse init`), so tests running in
//! parallel never share data. Everything the process writes after its first line (the access log,
//! other logs, stderr) is captured, so tests can assert that no secret is ever logged.
//!
//! The binary's path comes from the test (`env!("CARGO_BIN_EXE_gatehouse")` is only defined in the
//! `gatehouse-cli` package's own tests).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

/// How long `serve` may take to print its first line.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The per-request timeout of [`Serve::client`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Variables of the test's own environment that would change which store, issuer or mode the
/// command uses; they are removed from every child's environment.
const SCRUBBED: [&str; 34] = [
    "TABLE_NAME",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "API_KEY_PEPPER",
    "API_KEY_PEPPER_SECRET_ID",
    "API_KEY_PREFIX",
    "CLERK_ISSUER",
    "CLERK_JWKS_URL",
    "CLERK_JWT_KEY",
    "CLERK_SECRET_KEY_SECRET_ID",
    "CLERK_SECRET_KEY",
    "CLERK_API_URL",
    "CLERK_AUTHORIZED_PARTIES",
    "CLERK_CLOCK_SKEW_SECS",
    "CLERK_JWKS_MAX_AGE_SECS",
    "CLERK_ALLOW_PENDING_SESSIONS",
    "CLERK_OAUTH_OPAQUE",
    "OAUTH_RESOURCES",
    "OAUTH_ALLOW_MISSING_AUDIENCE",
    "OAUTH_CLIENT_IDS",
    "OAUTH_SCOPE_MAP",
    "PUBLIC_BASE_URL",
    "MCP_OAUTH_ONLY",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "GATEHOUSE_HOME",
    "RUST_LOG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    // The Clerk webhook's settings (README "Clerk webhooks"): a test passes its own through
    // `Serve::start_with_env`.
    "CLERK_WEBHOOK_SECRET",
    "CLERK_WEBHOOK_SECRET_ID",
    "DEFAULT_ROLE",
];

/// Which store `serve` runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// The embedded engine in the state folder (no store variables set).
    Embedded,
    /// DynamoDB Local at `endpoint`, on a fresh table.
    DynamoDbLocal {
        /// `http://127.0.0.1:<port>`.
        endpoint: String,
    },
}

/// The API type `serve` emulates (`--api`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Api {
    /// `--api rest` (the default).
    #[default]
    Rest,
    /// `--api http`.
    Http,
}

impl Api {
    /// The flag's value.
    pub fn name(self) -> &'static str {
        match self {
            Api::Rest => "rest",
            Api::Http => "http",
        }
    }
}

/// Flags for `gatehouse serve`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServeOptions {
    /// `--api`.
    pub api: Api,
    /// `--authorizer-ttl SECS`; `None` keeps the template's `ReauthorizeEvery`.
    pub ttl: Option<u64>,
    /// `--demo`.
    pub demo: bool,
}

/// A running `gatehouse serve` with its private state.
#[derive(Debug)]
pub struct Serve {
    binary: PathBuf,
    sandbox: PathBuf,
    home: PathBuf,
    kind: StoreKind,
    api: Api,
    table: Option<String>,
    base_url: String,
    child: Child,
    logs: Arc<Mutex<String>>,
    client: reqwest::Client,
    env: Vec<(String, String)>,
}

impl Serve {
    /// Starts `binary serve --port 0` on `store` and waits (at most [`START_TIMEOUT`]) for its first
    /// line, `gatehouse listening on http://127.0.0.1:<port>`. Panics, showing what the process
    /// printed, when it does not come.
    pub fn start(binary: impl AsRef<Path>, store: StoreKind, options: ServeOptions) -> Self {
        Self::start_with_env(binary, store, options, &[])
    }

    /// Like [`Serve::start`], with `env` laid over the (scrubbed) environment of `serve` and of every
    /// command run through [`Serve::cli`]: e.g. `CLERK_ISSUER` and `CLERK_JWKS_URL`, to run `serve`
    /// outside dev mode against a stand-in issuer (README, "Service tokens for scripts").
    pub fn start_with_env(
        binary: impl AsRef<Path>,
        store: StoreKind,
        options: ServeOptions,
        env: &[(&str, &str)],
    ) -> Self {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let binary = binary.as_ref().to_path_buf();
        let unique = crate::servers::unique_name("gatehouse-e2e");
        let sandbox = std::env::temp_dir().join(format!("{unique}-{}", std::process::id()));
        std::fs::create_dir_all(&sandbox).unwrap();
        let home = sandbox.join("home");
        let table = match store {
            StoreKind::Embedded => None,
            StoreKind::DynamoDbLocal { .. } => Some(crate::servers::unique_name("gatehouse-e2e")),
        };
        let setup = Setup {
            binary: binary.clone(),
            sandbox: sandbox.clone(),
            home: home.clone(),
            kind: store.clone(),
            table: table.clone(),
            env: env.clone(),
        };
        if table.is_some() {
            let init = setup.run(&["init"]);
            assert!(
                init.status.success(),
                "gatehouse init failed ({}):\nstdout: {}\nstderr: {}",
                init.status,
                String::from_utf8_lossy(&init.stdout),
                String::from_utf8_lossy(&init.stderr)
            );
        }

        let mut args = vec!["serve".to_owned(), "--port".into(), "0".into()];
        args.push("--template".into());
        args.push(template_path().display().to_string());
        if let Some(ttl) = options.ttl {
            args.push("--authorizer-ttl".into());
            args.push(ttl.to_string());
        }
        if options.demo {
            args.push("--demo".into());
        }
        args.push("--api".into());
        args.push(options.api.name().into());
        let mut child = setup
            .command(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));

        let logs = Arc::new(Mutex::new(String::new()));
        let (first_line, first_line_rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let stdout_done = capture(stdout, Arc::clone(&logs), Some(first_line));
        let stderr_done = capture(stderr, Arc::clone(&logs), None);

        let base_url = match first_line_rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => match line.strip_prefix("gatehouse listening on ") {
                Some(url) if url.starts_with("http://127.0.0.1:") => url.trim().to_owned(),
                _ => {
                    let _killed = child.kill();
                    let _exited = child.wait();
                    let _drained = stdout_done.recv_timeout(Duration::from_secs(5));
                    let _drained = stderr_done.recv_timeout(Duration::from_secs(5));
                    let _removed = std::fs::remove_dir_all(&sandbox);
                    panic!(
                        "serve's first line is {line:?}, not `gatehouse listening on http://127.0.0.1:<port>`; \
                         then:\n{}",
                        logs.lock().unwrap()
                    );
                }
            },
            Err(_) => {
                let _killed = child.kill();
                let status = child.wait();
                let _drained = stdout_done.recv_timeout(Duration::from_secs(5));
                let _drained = stderr_done.recv_timeout(Duration::from_secs(5));
                let _removed = std::fs::remove_dir_all(&sandbox);
                panic!(
                    "serve did not announce its address within {START_TIMEOUT:?} (exit: {status:?}); \
                     it printed:\n{}",
                    logs.lock().unwrap()
                );
            }
        };

        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .build()
            .unwrap();
        Serve {
            binary,
            sandbox,
            home,
            kind: store,
            api: options.api,
            table,
            base_url,
            child,
            logs,
            client,
            env,
        }
    }

    /// The API type it emulates.
    pub fn api(&self) -> Api {
        self.api
    }

    /// The process id of `serve`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The full URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// An HTTP client with a [`REQUEST_TIMEOUT`] per request.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The state folder (`GATEHOUSE_HOME`).
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The store this instance runs on.
    pub fn kind(&self) -> &StoreKind {
        &self.kind
    }

    /// The DynamoDB Local table, if on DynamoDB Local.
    pub fn table(&self) -> Option<&str> {
        self.table.as_deref()
    }

    /// Runs `gatehouse <args>` with the same environment as `serve` (same home, same store).
    pub fn cli(&self, args: &[&str]) -> Output {
        self.setup().run(args)
    }

    /// Like [`Serve::cli`], with `env` laid over that environment for this command only.
    pub fn cli_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.setup().command(args);
        for (name, value) in env {
            command.env(name, value);
        }
        command
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary.display()))
    }

    /// Like [`Serve::cli`], and panics unless it succeeds; its stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        success_stdout(args, self.cli(args))
    }

    /// A session JWT for `sub` from `gatehouse token mint`.
    pub fn mint(&self, sub: &str) -> String {
        self.cli_ok(&["token", "mint", "--sub", sub])
            .trim()
            .to_owned()
    }

    /// A session JWT for `sub` that expires after `ttl_secs`.
    pub fn mint_with_ttl(&self, sub: &str, ttl_secs: u64) -> String {
        self.cli_ok(&[
            "token",
            "mint",
            "--sub",
            sub,
            "--ttl-secs",
            &ttl_secs.to_string(),
        ])
        .trim()
        .to_owned()
    }

    /// `gatehouse users put <id> --role <role> <extra>...`.
    pub fn users_put(&self, id: &str, role: &str, extra: &[&str]) {
        let mut args = vec!["users", "put", id, "--role", role];
        args.extend_from_slice(extra);
        self.cli_ok(&args);
    }

    /// `gatehouse seed <file>` with `world` written to a fresh file in the sandbox; panics unless it
    /// succeeds; its stdout.
    pub fn seed(&self, world: &serde_json::Value) -> String {
        let file = self
            .sandbox
            .join(format!("{}.json", crate::servers::unique_name("seed")));
        std::fs::write(&file, world.to_string()).unwrap();
        let path = file.display().to_string();
        let out = self.cli_ok(&["seed", &path]);
        let _removed = std::fs::remove_file(&file);
        out
    }

    /// Everything the process printed after its first line so far (stdout and stderr).
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// The logs once `ready` holds for them. `serve` prints a request's access line after sending its
    /// response, and a reader thread collects it, so a client can hold the answer before its line is
    /// here: wait for it (up to 10 s), then hand back the logs as they are for the caller to judge.
    pub async fn logs_once(&self, ready: impl Fn(&str) -> bool) -> String {
        for _ in 0..200 {
            let logs = self.logs();
            if ready(&logs) {
                return logs;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.logs()
    }

    /// Every byte of the store: for the embedded engine, every file under the state folder (the
    /// SQLite file with its `-wal` and `-shm`); for DynamoDB Local, a full scan of the table with each
    /// attribute's name and value (strings as UTF-8, binaries raw).
    pub async fn store_dump(&self) -> Vec<u8> {
        match (&self.kind, &self.table) {
            (StoreKind::DynamoDbLocal { endpoint }, Some(table)) => {
                scan_table(endpoint, table).await
            }
            _ => {
                let mut bytes = Vec::new();
                read_tree(&self.home, &mut bytes);
                bytes
            }
        }
    }

    fn setup(&self) -> Setup {
        Setup {
            binary: self.binary.clone(),
            sandbox: self.sandbox.clone(),
            home: self.home.clone(),
            kind: self.kind.clone(),
            table: self.table.clone(),
            env: self.env.clone(),
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _killed = self.child.kill();
        let _exited = self.child.wait();
        let _removed = std::fs::remove_dir_all(&self.sandbox);
    }
}

/// The pepper given to `serve` and the commands on DynamoDB Local (the embedded store makes its own).
pub const DYNAMODB_PEPPER: &str = "e2e-test-pepper-0123456789abcdef";

/// How to run the binary for one instance.
struct Setup {
    binary: PathBuf,
    sandbox: PathBuf,
    home: PathBuf,
    kind: StoreKind,
    table: Option<String>,
    /// Laid over everything else.
    env: Vec<(String, String)>,
}

impl Setup {
    fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut command = Command::new(&self.binary);
        for var in SCRUBBED {
            command.env_remove(var);
        }
        command
            .args(args)
            .current_dir(&self.sandbox)
            .env("GATEHOUSE_HOME", &self.home)
            .env("AWS_EC2_METADATA_DISABLED", "true");
        if let (StoreKind::DynamoDbLocal { endpoint }, Some(table)) = (&self.kind, &self.table) {
            command
                .env("AWS_ENDPOINT_URL", endpoint)
                .env("TABLE_NAME", table)
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("API_KEY_PEPPER", DYNAMODB_PEPPER);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary.display()))
    }
}

/// The workspace's `template.yaml`.
fn template_path() -> PathBuf {
    // GATEHOUSE_TEST_TEMPLATE: a variant of the template, for trying a template change on the suite.
    std::env::var_os("GATEHOUSE_TEST_TEMPLATE").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("template.yaml")
        },
        PathBuf::from,
    )
}

/// Reads `stream` line by line on a thread: the first line goes to `first_line` when given (and is
/// not logged), every other line is appended to `logs`. The returned channel fires at end of stream.
fn capture(
    stream: impl Read + Send + 'static,
    logs: Arc<Mutex<String>>,
    mut first_line: Option<mpsc::Sender<String>>,
) -> mpsc::Receiver<()> {
    let (done, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line).into_owned();
                    match first_line.take() {
                        Some(sender) => {
                            let _receiver_gone =
                                sender.send(text.trim_end_matches(['\r', '\n']).to_owned());
                        }
                        None => {
                            let mut logs = logs.lock().unwrap();
                            logs.push_str(&text);
                            if !text.ends_with('\n') {
                                logs.push('\n');
                            }
                        }
                    }
                }
            }
        }
        let _receiver_gone = done.send(());
    });
    done_rx
}

/// Appends every file under `dir` to `out`.
fn read_tree(dir: &Path, out: &mut Vec<u8>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            read_tree(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.extend_from_slice(&bytes);
            out.push(b'\n');
        }
    }
}

/// A full, paginated scan of `table`, flattened to bytes.
async fn scan_table(endpoint: &str, table: &str) -> Vec<u8> {
    let sdk = crate::servers::sdk_config(endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "scanning {table} failed: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )
            });
        for item in page.items() {
            for (name, value) in item {
                out.extend_from_slice(name.as_bytes());
                out.push(b'=');
                flatten(value, &mut out);
                out.push(b'\n');
            }
        }
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => break,
        }
    }
    out
}

/// An attribute value's content as bytes.
fn flatten(value: &AttributeValue, out: &mut Vec<u8>) {
    match value {
        AttributeValue::S(text) | AttributeValue::N(text) => out.extend_from_slice(text.as_bytes()),
        AttributeValue::B(blob) => out.extend_from_slice(blob.as_ref()),
        AttributeValue::Ss(items) | AttributeValue::Ns(items) => {
            for item in items {
                out.extend_from_slice(item.as_bytes());
                out.push(b' ');
            }
        }
        AttributeValue::Bs(items) => {
            for item in items {
                out.extend_from_slice(item.as_ref());
                out.push(b' ');
            }
        }
        AttributeValue::L(items) => {
            for item in items {
                flatten(item, out);
                out.push(b' ');
            }
        }
        AttributeValue::M(map) => {
            for (name, item) in map {
                out.extend_from_slice(name.as_bytes());
                out.push(b'=');
                flatten(item, out);
                out.push(b' ');
            }
        }
        other => out.extend_from_slice(format!("{other:?}").as_bytes()),
    }
}

/// The stdout of a `gatehouse <args>` run that must have succeeded; panics showing both streams
/// otherwise.
pub fn success_stdout(args: &[&str], output: Output) -> String {
    assert!(
        output.status.success(),
        "gatehouse {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
