//! Fuzz target `responder`: a thin wrapper around `pxelab_engine::fuzzing::responder`, which the
//! regression test (engine/tests/fuzz_regressions.rs) replays too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pxelab_engine::fuzzing::responder(data));
