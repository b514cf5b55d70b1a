//! The `gatehouse` binary from the outside: exit statuses (0, 1 with one line on stderr, 2 for usage),
//! and the store commands on the embedded engine in a private state folder.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

/// Variables that would change which store or mode the command uses.
const SCRUBBED: [&str; 14] = [
    "TABLE_NAME",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "API_KEY_PEPPER",
    "API_KEY_PEPPER_SECRET_ID",
    "API_KEY_PREFIX",
    "CLERK_ISSUER",
    "CLERK_JWKS_URL",
    "CLERK_JWT_KEY",
    "CLERK_SECRET_KEY_SECRET_ID",
    "CLERK_AUTHORIZED_PARTIES",
    "AWS_LAMBDA_RUNTIME_API",
    "GATEHOUSE_HOME",
    "RUST_LOG",
];

/// A private state folder (and working directory) for one test.
struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-cli-test-{tag}-{}-{}",
            std::process::id(),
            gatehouse::apikey::generate_key_id().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Sandbox { dir }
    }

    fn home(&self) -> PathBuf {
        self.dir.join("state")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        for var in SCRUBBED {
            command.env_remove(var);
        }
        command
            .env("GATEHOUSE_HOME", self.home())
            .current_dir(&self.dir)
            .args(args);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        gatehouse_testkit::serve::success_stdout(args, self.run(args))
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    /// Runs a command that must fail as a user error; its one stderr line, without `gatehouse: `.
    fn user_error(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
        one_line_error(&output.stderr)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn one_line_error(stderr: &[u8]) -> String {
    let text = String::from_utf8(stderr.to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "stderr: {text:?}");
    assert!(text.ends_with('\n'));
    lines[0]
        .strip_prefix("gatehouse: ")
        .unwrap_or_else(|| panic!("stderr: {text:?}"))
        .to_owned()
}

#[test]
fn users_round_trip_on_the_embedded_store() {
    let sandbox = Sandbox::new("users");
    let put = sandbox.json(&[
        "users",
        "put",
        "user_t",
        "--role",
        "manager",
        "--org",
        "org_1",
        "--org",
        "org_2",
        "--company",
        "co_1",
        "--location",
        "loc_1",
    ]);
    let expected = json!({
        "userId": "user_t",
        "role": "manager",
        "organizationIds": ["org_1", "org_2"],
        "companyIds": ["co_1"],
        "locationIds": ["loc_1"],
        "suspended": false
    });
    assert_eq!(put, expected);
    assert_eq!(sandbox.json(&["users", "get", "user_t"]), expected);

    // Replacing the record.
    sandbox.ok(&["users", "put", "user_t", "--role", "admin", "--suspended"]);
    assert_eq!(
        sandbox.json(&["users", "get", "user_t"]),
        json!({"userId": "user_t", "role": "admin", "organizationIds": [], "companyIds": [],
               "locationIds": [], "suspended": true})
    );

    assert_eq!(
        sandbox.user_error(&["users", "get", "user_nobody"]),
        "no user user_nobody"
    );

    // The state folder is private and holds the store.
    let home = sandbox.home();
    assert!(home.join("store.sqlite3").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&home).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

#[test]
fn user_errors_exit_1_with_one_line() {
    let sandbox = Sandbox::new("errors");
    let message = sandbox.user_error(&["users", "put", "user_t", "--role", "root"]);
    assert!(message.contains("invalid role"), "{message}");
    let message = sandbox.user_error(&["users", "put", "a,b", "--role", "admin"]);
    assert!(message.contains("invalid user id"), "{message}");
    let message = sandbox.user_error(&["keys", "revoke", "nonsense"]);
    assert!(message.contains("no api key"), "{message}");
}

#[test]
fn usage_errors_exit_2() {
    let sandbox = Sandbox::new("usage");
    for args in [
        &["users", "put", "user_t", "--role", "admin", "--bogus"][..],
        &["users", "put", "user_t"],
        &["serve", "--port", "nope"],
        &["frobnicate"],
        &[],
    ] {
        let output = sandbox.run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
    }
    assert!(sandbox.run(&["--help"]).status.success());
    assert!(!sandbox.home().exists(), "usage errors touch no state");
}

#[test]
fn token_mint_needs_a_dev_issuer() {
    let sandbox = Sandbox::new("mint");
    let message = sandbox.user_error(&["token", "mint", "--sub", "user_demo_admin"]);
    assert!(message.contains("gatehouse serve"), "{message}");

    let output = sandbox
        .command(&["token", "mint", "--sub", "user_demo_admin"])
        .env("CLERK_ISSUER", "https://clerk.example.com")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(one_line_error(&output.stderr).contains("dev mode"));

    let message = sandbox.user_error(&[
        "token",
        "mint",
        "--sub",
        "bad id",
        "--issuer",
        "http://127.0.0.1:1",
    ]);
    assert!(message.contains("--sub"), "{message}");

    let token = sandbox.ok(&[
        "token",
        "mint",
        "--sub",
        "user_demo_admin",
        "--issuer",
        "http://127.0.0.1:4000",
        "--azp",
        "http://localhost:5173",
    ]);
    let token = token.trim();
    assert_eq!(token.split('.').count(), 3);
    assert!(sandbox.home().join("dev-signing-key.pem").exists());

    // With the issuer file `serve` writes, no --issuer is needed.
    std::fs::write(sandbox.home().join("dev-issuer"), "http://127.0.0.1:4000\n").unwrap();
    let second = sandbox.ok(&["token", "mint", "--sub", "user_demo_admin"]);
    assert_eq!(second.trim().split('.').count(), 3);
}

/// The example file of issue 4, verbatim.
fn issue_example() -> Value {
    json!({"organizations": [{"id": "org_1", "name": "Acme"}],
     "companies": [{"id": "co_1", "organizationId": "org_1", "name": "Acme East"}],
     "locations": [{"id": "loc_1", "companyId": "co_1", "name": "Boston"}],
     "templates": [{"id": "tpl_1", "organizationId": "org_1", "name": "NDA"}],
     "users": [{"id": "user_m", "role": "manager", "memberships": [{"organizationId": "org_1"}, {"companyId": "co_2"}, {"locationId": "loc_9"}], "suspended": false}],
     "packages": [{"id": "pkg_1", "locationId": "loc_1", "title": "Lease", "signers": ["user_s", "user_c"], "documents": [{"id": "doc_1", "name": "lease.pdf"}]}]})
}

#[test]
fn seed_loads_the_issue_example_idempotently() {
    let sandbox = Sandbox::new("seed");
    let file = write(&sandbox.dir, "seed.json", &issue_example());
    for _ in 0..2 {
        let out = sandbox.ok(&["seed", &file]);
        assert!(
            out.starts_with(
                "seeded 1 organization, 1 company, 1 location, 1 template, 1 user, 1 package into \
                 embedded"
            ),
            "{out}"
        );
        assert_eq!(out.lines().count(), 1, "{out}");
    }
    assert_eq!(
        sandbox.json(&["users", "get", "user_m"]),
        json!({"userId": "user_m", "role": "manager", "organizationIds": ["org_1"],
               "companyIds": ["co_2"], "locationIds": ["loc_9"], "suspended": false})
    );

    // Parents already in the store resolve: a location under co_1, a package at loc_1, and a company
    // and a template under org_1, none of those parents in this file.
    let more = write(
        &sandbox.dir,
        "more.json",
        &json!({
            "companies": [{"id": "co_2", "organizationId": "org_1", "name": "Acme West"}],
            "locations": [{"id": "loc_2", "companyId": "co_1", "name": "Cambridge"}],
            "templates": [{"id": "tpl_2", "organizationId": "org_1", "name": "Lease"}],
            "users": [{"id": "user_s", "role": "signer", "suspended": true}],
            "packages": [
                {"id": "pkg_2", "locationId": "loc_1", "title": "Addendum", "signers": ["user_s"],
                 "documents": [{"id": "doc_2", "name": "addendum.pdf"}]},
                {"id": "pkg_3", "locationId": "loc_2", "title": "NDA", "signers": ["user_c"],
                 "documents": [{"id": "doc_3", "name": "nda.pdf"}]}
            ]
        }),
    );
    let out = sandbox.ok(&["seed", &more]);
    assert!(
        out.contains("1 company, 1 location, 1 template, 1 user, 2 packages"),
        "{out}"
    );
    assert_eq!(sandbox.json(&["users", "get", "user_s"])["suspended"], true);
}

#[test]
fn seed_refuses_bad_files_and_writes_nothing() {
    let sandbox = Sandbox::new("seed-errors");
    sandbox.ok(&["seed", &write(&sandbox.dir, "base.json", &issue_example())]);

    // Each file holds a valid new user before the mistake: it must not be written.
    let user = json!({"id": "user_new", "role": "signer"});
    let package = |location: &str| {
        json!({"id": "pkg_x", "locationId": location, "title": "T", "signers": ["user_new"],
               "documents": [{"id": "doc_x", "name": "x.pdf"}]})
    };
    let cases = [
        (
            json!({"users": [user], "packages": [package("loc_1"), package("loc_x")]}),
            r#"packages[1].id "pkg_x": duplicate id (also packages[0].id)"#,
        ),
        (
            json!({"users": [user], "packages": [package("loc_1"), {"id": "pkg_y",
                "locationId": "loc_x", "title": "T", "signers": ["user_new"],
                "documents": [{"id": "doc_x", "name": "x.pdf"}]}]}),
            r#"packages[1].locationId "loc_x": no such location"#,
        ),
        (
            json!({"users": [user], "locations": [{"id": "loc_3", "companyId": "co_x",
                "name": "Nowhere"}]}),
            r#"locations[0].companyId "co_x": no such company"#,
        ),
        (
            json!({"users": [user], "companies": [{"id": "co_3", "organizationId": "org_x",
                "name": "X"}]}),
            r#"companies[0].organizationId "org_x": no such organization"#,
        ),
        (
            json!({"users": [user], "templates": [{"id": "tpl_3", "organizationId": "org_x",
                "name": "X"}]}),
            r#"templates[0].organizationId "org_x": no such organization"#,
        ),
        (
            json!({"users": [user, {"id": "user_r", "role": "root"}]}),
            r#"users[1].role "root": expected signer, manager or admin"#,
        ),
        (
            json!({"users": [user], "organizations": [{"id": "org_2", "name": "A", "size": 3}]}),
            "organizations[0]: unknown field `size`",
        ),
        (
            json!({"users": [user], "organizations": [{"id": "org 2", "name": "A"}]}),
            r#"organizations[0].id "org 2": use 1 to 128 letters, digits, _ or -"#,
        ),
        (
            json!({"users": [user], "locations": [{"id": "loc_3", "companyId": "co_1",
                "name": "x".repeat(201)}]}),
            "locations[0].name",
        ),
        (
            json!({"users": [user], "widgets": []}),
            "invalid seed file: unknown field `widgets`",
        ),
    ];
    for (index, (value, expected)) in cases.into_iter().enumerate() {
        let file = write(&sandbox.dir, &format!("bad-{index}.json"), &value);
        let message = sandbox.user_error(&["seed", &file]);
        assert!(message.starts_with(expected), "{value}: {message}");
        assert_eq!(
            sandbox.user_error(&["users", "get", "user_new"]),
            "no user user_new",
            "{value}"
        );
    }

    let message = sandbox.user_error(&["seed", "missing.json"]);
    assert!(message.contains("missing.json"), "{message}");
    std::fs::write(sandbox.dir.join("broken.json"), "{\"users\": [").unwrap();
    let message = sandbox.user_error(&["seed", "broken.json"]);
    assert!(message.starts_with("invalid seed file"), "{message}");
}

#[test]
fn init_is_idempotent_on_the_embedded_store() {
    let sandbox = Sandbox::new("init");
    let first = sandbox.ok(&["init"]);
    assert!(first.contains("embedded"), "{first}");
    assert!(first.contains("created"), "{first}");
    let second = sandbox.ok(&["init"]);
    assert!(second.contains("exists"), "{second}");
    assert!(!second.contains("created"), "{second}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sandbox.home().join("pepper"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn keys_create_list_revoke() {
    let sandbox = Sandbox::new("keys");
    sandbox.ok(&["users", "put", "user_k", "--role", "admin"]);
    let created = sandbox.json(&[
        "keys",
        "create",
        "--user",
        "user_k",
        "--name",
        "ci",
        "--scopes",
        "read",
        "--expires-in-days",
        "30",
    ]);
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("sf_"));
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("k_"));
    assert_eq!(created["scopes"], json!(["read"]));
    assert!(created["expiresAt"].is_string());

    let listed = sandbox.json(&["keys", "list", "--user", "user_k"]);
    let keys = listed["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], id);
    assert_eq!(keys[0]["active"], true);
    assert!(keys[0].get("key").is_none());
    assert!(!listed.to_string().contains(key));

    let revoked = sandbox.json(&["keys", "revoke", id]);
    assert_eq!(revoked["id"], id);
    assert_eq!(revoked["active"], false);
    let again = sandbox.json(&["keys", "revoke", id]);
    assert_eq!(again["active"], false);
    assert_eq!(
        sandbox.json(&["keys", "list", "--user", "user_k"])["keys"][0]["active"],
        false
    );

    let message = sandbox.user_error(&[
        "keys", "create", "--user", "user_k", "--name", "x", "--scopes", "admin",
    ]);
    assert!(message.contains("unknown scope"), "{message}");
    let message = sandbox.user_error(&["keys", "revoke", "k_doesNotExist0000000000"]);
    assert!(message.contains("no api key"), "{message}");
}

fn write(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Dev mode (no `CLERK_ISSUER`) accepts tokens signed by a key in the state folder, and `--demo`
/// writes demo admins: neither may run against a table outside this machine. Both are refused before
/// anything is read or written (no network is needed to see it).
#[test]
fn dev_mode_and_demo_refuse_a_table_that_is_not_local() {
    let sandbox = Sandbox::new("notlocal");
    let serve = |vars: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["serve", "--port", "0"];
        args.extend_from_slice(extra);
        let mut command = sandbox.command(&args);
        command
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test");
        for (name, value) in vars {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{vars:?}: {output:?}");
        one_line_error(&output.stderr)
    };
    for vars in [
        &[("TABLE_NAME", "gatehouse-prod")][..],
        &[
            ("TABLE_NAME", "gatehouse-prod"),
            (
                "AWS_ENDPOINT_URL",
                "https://dynamodb.us-east-1.amazonaws.com",
            ),
        ],
        &[
            ("TABLE_NAME", "gatehouse-prod"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://10.1.2.3:8000"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:8000"),
        ],
        &[
            ("TABLE_NAME", "gatehouse-prod"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:8000"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ],
    ] {
        let message = serve(vars, &[]);
        assert!(message.starts_with("dev mode"), "{vars:?}: {message}");
        assert!(message.contains("loopback"), "{message}");
        assert!(message.contains("gatehouse-prod"), "{message}");
    }
    // With CLERK_ISSUER (not dev mode), --demo is still refused on such a table.
    let message = serve(
        &[
            ("TABLE_NAME", "gatehouse-prod"),
            ("CLERK_ISSUER", "https://clerk.example.com"),
            ("API_KEY_PEPPER", "a-pepper-that-is-long-enough"),
        ],
        &["--demo"],
    );
    assert!(message.starts_with("--demo"), "{message}");
    assert!(!sandbox.home().join("dev-signing-key.pem").exists());
}
