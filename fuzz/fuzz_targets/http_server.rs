//! Fuzz target `http_server`: a thin wrapper around `pxelab_engine::fuzzing::http_server`, which the
//! regression test (engine/tests/fuzz_regressions.rs) replays too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pxelab_engine::fuzzing::http_server(data));
