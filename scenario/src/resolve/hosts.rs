//! Each host: its personality (the command line's choice over the file's),
//! the file's knobs, the command line's `--set` knobs, its MTU. An error in
//! the file is located at the value; an error in an argument is a usage
//! error naming the argument.

use super::names::Names;
use super::Ctx;
use crate::diag::{Class, Diag};
use crate::file::{HostDef, ScenarioFile};
use crate::limits::MTU_BYTES;
use crate::personality_file::{self, knob_help, value_text, ResolveError};
use crate::{KnobArg, Overrides, PersonalityArg};
use model::personality::{closest, KnobError};
use model::Personality;
use sim::raw::RawSpec;
use sim::spec::HostSpec;
use std::path::Path;
use std::sync::Arc;

/// The MTU of a host the file gives none.
const MTU_DEFAULT_BYTES: u32 = 1500;

/// Every override must name a host of the file.
pub fn check_overrides(cx: &mut Ctx, names: &Names, o: &Overrides) {
    let hosts = o
        .personality
        .iter()
        .map(|p| (&p.arg, &p.host))
        .chain(o.set.iter().map(|s| (&s.arg, &s.host)));
    for (arg, host) in hosts {
        if names.hosts.contains(host) {
            continue;
        }
        let guess = closest(host, names.hosts.iter().map(String::as_str))
            .map(|g| format!("did you mean `{g}`? "))
            .unwrap_or_default();
        let d = Diag::usage(
            format!("`{arg}`: {} has no host `{host}`", cx.path),
            format!(
                "{guess}its hosts: {}; `--personality HOST=PERSONALITY` sets any host's",
                names.host_list()
            ),
        );
        cx.push(d);
    }
}

/// The hosts in file order; a host whose personality cannot be had stands
/// as linux, so that its knobs are still checked (the run will not happen).
pub fn resolve_hosts(
    cx: &mut Ctx,
    f: &ScenarioFile,
    o: &Overrides,
    profile: super::network::InForce,
) -> Vec<HostSpec> {
    f.hosts
        .iter()
        .map(|(name, h)| resolve_host(cx, (f, name, h), o, profile))
        .collect()
}

fn resolve_host(
    cx: &mut Ctx,
    (f, name, h): (&ScenarioFile, &str, &HostDef),
    o: &Overrides,
    profile: super::network::InForce,
) -> HostSpec {
    let chosen = o.personality.iter().rev().find(|p| p.host == name);
    let raw = chosen.is_none() && h.personality.get_ref() == RAW;
    let p = match chosen {
        Some(arg) => personality_arg(cx, arg),
        // No stack: the personality is never used.
        None if raw => None,
        None => file_personality(cx, h),
    };
    let mut p = p.unwrap_or_else(|| Personality::builtin("linux").expect("linux is built in"));
    if raw {
        // Never used; named so that reports and `[expect.pairs]` say what the host is.
        p.name = RAW.into();
    }
    for (knob, value) in &h.set {
        if let Err(e) = p.set(knob, &value_text(value.get_ref()), cx.path) {
            let (class, span, label) = match e {
                KnobError::UnknownKnob { .. } => {
                    (Class::Unknown, h.set.key_span(knob), "this knob")
                }
                KnobError::BadValue { .. } => (Class::Value, Some(value.span()), "this value"),
            };
            cx.error(class, span, e.to_string(), label, knob_help(&e));
        }
    }
    for s in o.set.iter().filter(|s| s.host == name) {
        set_arg(cx, &mut p, s);
    }
    HostSpec {
        name: name.to_string(),
        personality: Arc::new(p),
        mtu: match (profile, &h.mtu) {
            (Some((p, true)), _) | (Some((p, false)), None) => p.mtu_bytes,
            (_, Some(m)) => mtu(cx, m).unwrap_or(MTU_DEFAULT_BYTES),
            (None, None) => MTU_DEFAULT_BYTES,
        },
        isn: h.isn,
        raw: raw_spec(cx, f, h, raw),
    }
}

/// The personality word of a host with no TCP stack (sim/src/raw.rs).
pub const RAW: &str = "raw";

/// A raw host's port and the connection it opens; those keys on another
/// host are errors.
fn raw_spec(cx: &mut Ctx, f: &ScenarioFile, h: &HostDef, raw: bool) -> Option<RawSpec> {
    if !raw {
        let keys = [
            ("port", h.port.as_ref().map(|p| p.span())),
            ("connect", h.connect.as_ref().map(|c| c.span())),
            ("tolerance", h.tolerance.as_ref().map(|t| t.span())),
        ];
        for (key, span) in keys {
            if let Some(span) = span {
                cx.error(
                    Class::Value,
                    Some(span),
                    format!("`{key}` is for a raw host"),
                    "this host has a TCP stack",
                    Some("`personality = \"raw\"` makes a host with no stack, a scripted peer (docs/scenario-format.md)".into()),
                );
            }
        }
        return None;
    }
    let port = h.port.as_ref().map_or(Some(RAW_PORT), |p| {
        super::integer_in(cx, p, 1..=65535, "port", "a TCP port").map(|v| v as u16)
    });
    let connect = h.connect.as_ref().and_then(|c| connect(cx, f, c));
    Some(RawSpec {
        port: port.unwrap_or(RAW_PORT),
        connect,
    })
}

/// A raw host's port when the file gives none (any port does).
const RAW_PORT: u16 = 48_000;

/// `HOST:PORT`, or an error at it.
fn connect(cx: &mut Ctx, f: &ScenarioFile, c: &toml::Spanned<String>) -> Option<(u16, u16)> {
    let found = c.get_ref().split_once(':').and_then(|(host, port)| {
        let h = f.hosts.iter().position(|(n, _)| n == host)?;
        Some((h as u16, port.parse::<u16>().ok().filter(|p| *p != 0)?))
    });
    if found.is_none() {
        cx.error(
            Class::Value,
            Some(c.span()),
            format!("bad `connect` `{}`", c.get_ref()),
            "expected HOST:PORT",
            Some("a host of this scenario and a port 1–65535: `connect = \"tested:8080\"`".into()),
        );
    }
    found
}

/// A `--set HOST.KNOB=VALUE` applied, or a usage error naming it.
fn set_arg(cx: &mut Ctx, p: &mut Personality, s: &KnobArg) {
    if let Err(e) = p.set(&s.knob, &s.value, "--set") {
        let help = knob_help(&e).unwrap_or_else(|| "see `tcpsim personalities show linux`".into());
        cx.push(Diag::usage(format!("`{}`: {e}", s.arg), help));
    }
}

/// The MTU, or an error at it naming the range.
fn mtu(cx: &mut Ctx, m: &toml::Spanned<i64>) -> Option<u32> {
    let range = i64::from(*MTU_BYTES.start())..=i64::from(*MTU_BYTES.end());
    let why = format!(
        "octets of IP packet, {} the least every IPv4 host accepts (RFC 791), {} Linux loopback's MTU; MSS = MTU − 40",
        range.start(),
        range.end()
    );
    let v = super::integer_in(cx, m, range, "mtu", &why)?;
    u32::try_from(v).ok()
}

/// The personality the file names, or an error at its value.
fn file_personality(cx: &mut Ctx, h: &HostDef) -> Option<Personality> {
    let name = &h.personality;
    match personality_file::lookup(name.get_ref(), cx.base) {
        Ok(p) => Some(p),
        Err(ResolveError::Unknown { message, help }) => {
            cx.error(
                Class::Unknown,
                Some(name.span()),
                message,
                "unknown personality",
                Some(help),
            );
            None
        }
        Err(ResolveError::NotAPersonalityFile { message, help }) => {
            cx.error(
                Class::Personality,
                Some(name.span()),
                message,
                "not read",
                Some(help),
            );
            None
        }
        Err(ResolveError::File(d)) => {
            let shown = d.path.clone();
            cx.error(
                Class::Personality,
                Some(name.span()),
                format!("personality file `{}` cannot be used", name.get_ref()),
                "this personality",
                Some(format!("see the error in {shown} below")),
            );
            cx.push(*d);
            None
        }
    }
}

/// The personality an argument names (relative to the current directory),
/// or a usage error naming the argument.
fn personality_arg(cx: &mut Ctx, arg: &PersonalityArg) -> Option<Personality> {
    match personality_file::lookup(&arg.personality, Path::new(".")) {
        Ok(p) => Some(p),
        Err(
            ResolveError::Unknown { message, help }
            | ResolveError::NotAPersonalityFile { message, help },
        ) => {
            cx.push(Diag::usage(format!("`{}`: {message}", arg.arg), help));
            None
        }
        Err(ResolveError::File(d)) => {
            let shown = d.path.clone();
            cx.push(Diag::usage(
                format!(
                    "`{}`: personality file `{}` cannot be used",
                    arg.arg, arg.personality
                ),
                format!("see the error in {shown} below"),
            ));
            cx.push(*d);
            None
        }
    }
}
