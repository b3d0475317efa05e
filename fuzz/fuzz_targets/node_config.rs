//! Fuzz target `node_config`: see `cairn_fuzz_checks::node_config` for what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_fuzz_checks::node_config(data));
