//! Fuzz target `drive_path`: see `cairn_fuzz_checks::drive_path` for what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_fuzz_checks::drive_path(data));
