//! Every input the fuzzers kept for the template reader and the emulator's path decoding, on stable:
//! see `gatehouse_cli::fuzzing`.

#[test]
fn the_fuzz_corpora_hold_their_invariants() {
    let counts = gatehouse_testkit::fuzz_corpus::replay(gatehouse_cli::fuzzing::TARGETS);
    assert_eq!(counts.len(), gatehouse_cli::fuzzing::TARGETS.len());
}
