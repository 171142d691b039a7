//! Whole scenarios from `arbitrary` choices, written as scenario text, so the
//! engine target goes through the parser too: two or three hosts with any
//! built-in personality, knob overrides (keepalive timers among them), MTUs
//! and ISNs anywhere in their ranges, a lossy or reordering network, and
//! steps of every call with sizes up to 2^40 (past 2^31 and 2^32) and times
//! from zero to the horizon.

use arbitrary::{Arbitrary, Unstructured};
use model::personality::Knobs;
use model::Personality;
use std::fmt::Write;

/// A size: small, around the 2^31 and 2^32 boundaries, or huge.
pub fn size(u: &mut Unstructured) -> arbitrary::Result<u64> {
    Ok(match u.int_in_range(0..=5u8)? {
        0 => u.int_in_range(0..=10)?,
        1 => u.int_in_range(0..=70_000)?,
        2 => (1u64 << 31) + u.int_in_range(0..=4)? - 2,
        3 => (1u64 << 32) + u.int_in_range(0..=4)? - 2,
        4 => u.int_in_range(0..=1u64 << 40)?,
        _ => u64::arbitrary(u)?,
    })
}

/// A step time: `-`, a small absolute or `+relative` time, or one near the
/// horizon (8760h), or past it (refused, located).
pub fn time(u: &mut Unstructured) -> arbitrary::Result<String> {
    Ok(match u.int_in_range(0..=6u8)? {
        0 | 1 => "-".to_string(),
        2 => format!("{}ms", u.int_in_range(0..=5_000u32)?),
        3 => format!("+{}ms", u.int_in_range(0..=5_000u32)?),
        4 => format!("+{}h", u.int_in_range(8000..=8761u32)?),
        5 => format!("{}s", u.int_in_range(0..=31_536_001u32)?),
        _ => format!("+{}ns", u64::arbitrary(u)?),
    })
}

/// A duration value for `[network]` or `[scenario]`.
fn duration(u: &mut Unstructured) -> arbitrary::Result<String> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => format!("{}us", u.int_in_range(0..=500u32)?),
        1 => format!("{}ms", u.int_in_range(0..=500u32)?),
        2 => "8760h".to_string(),
        _ => format!("{}s", u.int_in_range(0..=100_000u32)?),
    })
}

const SOCKS: [&str; 3] = ["a", "b", "c"];

/// One step of process `who` on a host, any call, sockets among three names.
pub fn step_line(u: &mut Unstructured, who: &str, hosts: &[String]) -> arbitrary::Result<String> {
    let s = *u.choose(&SOCKS)?;
    let t = *u.choose(&SOCKS)?;
    let peer = u.choose(hosts)?;
    let port = *u.choose(&[80u16, 81, 0, 65535])?;
    let call = match u.int_in_range(0..=17u8)? {
        0 => format!("socket {s}"),
        1 => format!("bind {s} {port}"),
        2 => format!("listen {s} {port} backlog={}", u.int_in_range(0..=3u8)?),
        3 => format!("accept {s} as {t}"),
        4 => format!("connect {s} {peer}:{port}"),
        5 | 6 => format!("write {s} {}", size(u)?),
        7 => match bool::arbitrary(u)? {
            true => format!("read {s} eof"),
            false => format!("read {s} {}", size(u)?),
        },
        8 => format!("shutdown {s} {}", u.choose(&["rd", "wr", "rdwr"])?),
        9 => format!("close {s}"),
        10 => format!("linger {s} {}", u.choose(&["off", "0", "1", "60"])?),
        11 => format!("nonblocking {s} {}", u.choose(&["on", "off"])?),
        12 | 13 => format!("keepalive {s} {}", u.choose(&["on", "off"])?),
        14 => format!("rcvbuf {s} {}", u.int_in_range(0..=1u32 << 24)?),
        15 => format!("sndbuf {s} {}", u.int_in_range(0..=1u32 << 24)?),
        16 => format!("dup {s} as {t}"),
        _ => match u.int_in_range(0..=1u8)? {
            0 => "exit".to_string(),
            _ => format!("sleep {}", duration(u)?),
        },
    };
    Ok(format!("{} {who} {call}", time(u)?))
}

/// One host's table: personality, MTU, ISN, up to three knob overrides.
fn host(u: &mut Unstructured, name: &str, out: &mut String) -> arbitrary::Result<()> {
    let p = u.choose(Personality::BUILTIN)?;
    let _ = writeln!(out, "[hosts.{name}]\npersonality = \"{p}\"");
    if bool::arbitrary(u)? {
        let _ = writeln!(out, "mtu = {}", u.int_in_range(60..=70_000u32)?);
    }
    if bool::arbitrary(u)? {
        let isn = match u.int_in_range(0..=2u8)? {
            0 => u32::MAX - u.int_in_range(0..=2000u32)?,
            1 => 1u32 << 31,
            _ => u32::arbitrary(u)?,
        };
        let _ = writeln!(out, "isn = {isn}");
    }
    let mut set = Vec::new();
    for _ in 0..u.int_in_range(0..=3u8)? {
        let k = u.choose(Knobs::INFO)?;
        let variants = (k.variants)();
        let value = match variants.is_empty() {
            false => format!("\"{}\"", u.choose(variants)?.0),
            true => match u.int_in_range(0..=3u8)? {
                0 => "true".to_string(),
                1 => u.int_in_range(0..=10u32)?.to_string(),
                2 => u.int_in_range(0..=100_000u32)?.to_string(),
                _ => u32::MAX.to_string(),
            },
        };
        set.push(format!("{} = {value}", k.name));
    }
    if !set.is_empty() {
        let _ = writeln!(out, "set = {{ {} }}", set.join(", "));
    }
    Ok(())
}

/// A whole scenario file.
pub fn scenario(u: &mut Unstructured) -> arbitrary::Result<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "[scenario]\nseed = {}\nduration = \"{}\"",
        u.int_in_range(0..=1000u32)?,
        duration(u)?
    );
    let hosts: Vec<String> = ["client", "server", "third"][..u.int_in_range(2..=3usize)?]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for h in &hosts {
        host(u, h, &mut out)?;
    }
    if bool::arbitrary(u)? {
        let _ = writeln!(
            out,
            "[network]\ndelay = \"{}\"\nloss = \"{}%\"\nduplicate = \"{}%\"\nreorder = \"{}%\"",
            duration(u)?,
            u.int_in_range(0..=30u8)?,
            u.int_in_range(0..=10u8)?,
            u.int_in_range(0..=10u8)?
        );
    }
    out.push_str("[script]\nsteps = [\n");
    // A connection to start from, most of the time: the rest builds on it.
    if u.ratio(3, 4)? {
        out.push_str("  \"0 server listen l 80\",\n  \"- server accept l as a\",\n");
        out.push_str("  \"1ms client connect a server:80\",\n");
    }
    for _ in 0..u.int_in_range(0..=24u8)? {
        let who = u.choose(&hosts)?.clone();
        let _ = writeln!(out, "  \"{}\",", step_line(u, &who, &hosts)?);
    }
    out.push_str("]\n");
    Ok(out)
}
