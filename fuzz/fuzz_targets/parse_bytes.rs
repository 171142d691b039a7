//! Any bytes as a scenario file: refused with located errors, or run with
//! every invariant checked.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tcpsim_fuzz::run_text(text);
    }
});
