//! The corpus of scenarios/ and tests/bad/, mutated at the level of lines and
//! step words (tcpsim_fuzz::corpus), through the parser, the resolver and a
//! checked run.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    if let Ok(text) = tcpsim_fuzz::corpus::mutate(&mut u) {
        tcpsim_fuzz::run_text(&text);
    }
});
