//! Fuzz target `http_request`: a thin wrapper around `pxelab_engine::fuzzing::http_request`, which the
//! regression test (engine/tests/fuzz_regressions.rs) replays too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pxelab_engine::fuzzing::http_request(data));
