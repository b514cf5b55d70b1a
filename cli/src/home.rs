//! The local state folder: the embedded store's file, the dev signing key, the local pepper and the
//! dev issuer `serve` announces to `token mint`. It is `$GATEHOUSE_HOME`, or `.gatehouse/` under the
//! current directory, created on first use readable by its owner only (0700); files holding secrets
//! are 0600.
//!
//! Secret files are created atomically (written to a private temporary file, then hard-linked into
//! place, which fails if the name exists), so two processes starting at once (a `serve` and a `token
//! mint`) never see a half-written key and agree on one value.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::cli::Failure;

/// The environment variable that names the state folder.
pub const HOME_VAR: &str = "GATEHOUSE_HOME";
/// The default state folder, relative to the current directory.
pub const DEFAULT_DIR: &str = ".gatehouse";

/// The state folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    dir: PathBuf,
}

impl Home {
    /// Where the state folder is (`$GATEHOUSE_HOME`, else `./.gatehouse`), without creating it.
    pub fn locate() -> Self {
        match std::env::var_os(HOME_VAR) {
            Some(dir) if !dir.is_empty() => Self::at(PathBuf::from(dir)),
            _ => Self::at(PathBuf::from(DEFAULT_DIR)),
        }
    }

    /// A state folder at `dir`, without creating it.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A file in the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Creates the folder (0700) if it does not exist.
    pub fn ensure(&self) -> Result<(), Failure> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(&self.dir)
            .map_err(|e| io_failure("cannot create the state folder", &self.dir, &e))?;
        // The folder holds the store, the pepper and the dev signing key: keep it private even when
        // it existed before (`GATEHOUSE_HOME` may name a folder someone else made).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| io_failure("cannot make the state folder private", &self.dir, &e))?;
        }
        Ok(())
    }

    /// The trimmed contents of a file in the folder, or `None` when it does not exist.
    pub fn read(&self, name: &str) -> Result<Option<String>, Failure> {
        let path = self.file(name);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text.trim().to_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_failure("cannot read", &path, &e)),
        }
    }

    /// The secret in file `name`, created with `generate` (0600) if missing. When two processes race,
    /// both end up with the value that was linked into place first.
    pub fn secret_or_create(
        &self,
        name: &str,
        generate: impl FnOnce() -> Result<String, Failure>,
    ) -> Result<String, Failure> {
        if let Some(existing) = self.read(name)?.filter(|text| !text.is_empty()) {
            return Ok(existing);
        }
        self.ensure()?;
        let value = generate()?;
        let path = self.file(name);
        let temporary = self.write_temporary(name, &value)?;
        let linked = fs::hard_link(&temporary, &path);
        let _removed = fs::remove_file(&temporary);
        match linked {
            Ok(()) => Ok(value),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => self
                .read(name)?
                .filter(|text| !text.is_empty())
                .ok_or_else(|| Failure::new(format!("{} is empty", path.display()))),
            Err(e) => Err(io_failure("cannot write", &path, &e)),
        }
    }

    /// Writes file `name` (0600), replacing it atomically.
    pub fn write(&self, name: &str, contents: &str) -> Result<(), Failure> {
        self.ensure()?;
        let path = self.file(name);
        let temporary = self.write_temporary(name, contents)?;
        fs::rename(&temporary, &path).map_err(|e| {
            let _removed = fs::remove_file(&temporary);
            io_failure("cannot write", &path, &e)
        })
    }

    /// Writes `contents` and a newline to a fresh private file next to `name`.
    fn write_temporary(&self, name: &str, contents: &str) -> Result<PathBuf, Failure> {
        let suffix = crate::devkey::random_hex(8)?;
        let path = self.file(&format!(".{name}.{}.{suffix}.tmp", std::process::id()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = options.open(&path).and_then(|mut file| {
            file.write_all(contents.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()
        });
        match written {
            Ok(()) => Ok(path),
            Err(e) => {
                let _removed = fs::remove_file(&path);
                Err(io_failure("cannot write", &path, &e))
            }
        }
    }
}

fn io_failure(what: &str, path: &Path, error: &io::Error) -> Failure {
    Failure::new(format!("{what} {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;

    pub(crate) fn temp_home(tag: &str) -> Home {
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-home-{tag}-{}-{}",
            std::process::id(),
            crate::devkey::random_hex(6).unwrap()
        ));
        Home::at(dir.join("state"))
    }

    #[test]
    fn folder_and_secret_files_are_private() {
        let home = temp_home("perm");
        let value = home
            .secret_or_create("pepper", || Ok("first".to_owned()))
            .unwrap();
        assert_eq!(value, "first");
        let again = home
            .secret_or_create("pepper", || panic!("must not regenerate"))
            .unwrap();
        assert_eq!(again, "first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let dir = fs::metadata(home.dir()).unwrap().permissions().mode();
            assert_eq!(dir & 0o777, 0o700);
            let file = fs::metadata(home.file("pepper"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(file & 0o777, 0o600);
        }
        home.write("dev-issuer", "http://127.0.0.1:1").unwrap();
        home.write("dev-issuer", "http://127.0.0.1:2").unwrap();
        assert_eq!(
            home.read("dev-issuer").unwrap().as_deref(),
            Some("http://127.0.0.1:2")
        );
        assert_eq!(home.read("missing").unwrap(), None);
        let leftovers: Vec<_> = fs::read_dir(home.dir())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        fs::remove_dir_all(home.dir().parent().unwrap()).unwrap();
    }

    #[test]
    fn concurrent_creators_agree() {
        let home = temp_home("race");
        let values: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let home = home.clone();
                    scope.spawn(move || {
                        home.secret_or_create("pepper", || Ok(format!("value-{i}")))
                            .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(values.iter().all(|v| v == &values[0]));
        assert_eq!(home.read("pepper").unwrap().unwrap(), values[0]);
        fs::remove_dir_all(home.dir().parent().unwrap()).unwrap();
    }
}
