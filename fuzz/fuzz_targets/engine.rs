//! Whole generated scenarios (keepalive, huge writes, extreme times; see
//! tcpsim_fuzz::gen) through the engine with every invariant checked.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    if let Ok(text) = tcpsim_fuzz::gen::scenario(&mut u) {
        tcpsim_fuzz::run_text(&text);
    }
});
