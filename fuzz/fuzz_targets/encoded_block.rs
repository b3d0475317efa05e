//! Fuzz target `encoded_block`: see `cairn_fuzz_checks::encoded_block` for what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_fuzz_checks::encoded_block(data));
