//! Any bytes as a packetdrill script: refused with a located error, or run
//! against the `linux` and `freebsd` personalities (pass, mismatch or
//! unsupported, never a panic), twice with the same outcome.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tcpsim::packetdrill::{defines, parse, run};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in ["linux", "freebsd"] {
        let Ok(script) = parse(text, &defines(name)) else {
            continue;
        };
        let personality = model::Personality::builtin(name).expect("built-in");
        let first = format!("{:?}", run(&script, &personality, None));
        let again = format!("{:?}", run(&script, &personality, None));
        assert_eq!(first, again, "the same script, two outcomes");
    }
});
