#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gatehouse_cli::fuzzing::gateway_path(data));
