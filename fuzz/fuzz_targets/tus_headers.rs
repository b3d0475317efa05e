//! Fuzz target `tus_headers`: see `cairn_fuzz_checks::tus_headers` for what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_fuzz_checks::tus_headers(data));
