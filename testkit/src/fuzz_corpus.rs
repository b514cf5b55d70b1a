//! Replays the fuzz corpora on stable (`shared/tests/fuzz_replay.rs`, `cli/tests/fuzz_replay.rs`):
//! every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` through the same function
//! the fuzzer drives, so CI exercises every input the fuzzers kept, and every crash they found,
//! without nightly.

use std::path::{Path, PathBuf};

/// The repository's `fuzz/` folder.
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// A fuzz target by name, as `gatehouse::fuzzing::TARGETS` and `gatehouse_cli::fuzzing::TARGETS` list
/// them.
pub type NamedTarget<'a> = (&'a str, fn(&[u8]));

/// Runs every stored input of every target; panics naming the target and file of the first input
/// whose invariant fails. A target without a corpus folder fails too, so a renamed target cannot
/// silently replay nothing. Returns (target, inputs replayed) for the log.
pub fn replay(targets: &[NamedTarget<'_>]) -> Vec<(String, usize)> {
    let mut counts = Vec::new();
    for (name, target) in targets {
        let corpus = fuzz_dir().join("corpus").join(name);
        assert!(
            corpus.is_dir(),
            "no corpus for target {name} at {}",
            corpus.display()
        );
        let mut files: Vec<PathBuf> = Vec::new();
        for folder in [corpus, fuzz_dir().join("regressions").join(name)] {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            files.extend(entries.map(|entry| entry.unwrap().path()));
        }
        files.sort();
        for file in &files {
            let data = std::fs::read(file).unwrap();
            if std::panic::catch_unwind(|| target(&data)).is_err() {
                panic!("fuzz target {name} fails on {}", file.display());
            }
        }
        eprintln!("{name}: {} inputs replayed", files.len());
        counts.push(((*name).to_owned(), files.len()));
    }
    counts
}
