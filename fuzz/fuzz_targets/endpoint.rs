//! Two model hosts and any segment between them, in every state
//! (tcpsim_fuzz::endpoint).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tcpsim_fuzz::endpoint::run(data));
