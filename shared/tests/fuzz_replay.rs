//! Every input the fuzzers kept (`fuzz/corpus/`) and every crash they found (`fuzz/regressions/`),
//! through the library's fuzz targets on stable: see `gatehouse::fuzzing`.

#[test]
fn the_fuzz_corpora_hold_their_invariants() {
    let counts = gatehouse_testkit::fuzz_corpus::replay(gatehouse::fuzzing::TARGETS);
    assert_eq!(counts.len(), gatehouse::fuzzing::TARGETS.len());
}
