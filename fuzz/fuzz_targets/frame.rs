//! Fuzz target `frame`: see `cairn_fuzz_checks::frame` for what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_fuzz_checks::frame(data));
