//! `[network]`: the link of every direction, per-direction links, scripted
//! drops and partitions; and the durations and probabilities they are
//! written in, each error at its value.

use super::names::Names;
use super::{integer_in, Ctx};
use crate::diag::Class;
use crate::file::{DropDef, FaultDef, LinkDef, NetworkDef, PartitionDef};
use crate::profile::Profile;
use crate::units::{parse_duration, DURATIONS};
use crate::Overrides;
use model::{Duration, Flags, Instant};
use sim::{DropRule, FaultRule, Filter, Link, Partition, Ratio};
use toml::Spanned;

/// The network of a world spec.
pub struct Net {
    pub link: Link,
    pub links: Vec<(u16, u16, Link)>,
    pub drops: Vec<DropRule>,
    pub faults: Vec<FaultRule>,
    pub partitions: Vec<Partition>,
}

/// A network profile in force, and whether the command line forced it.
pub type InForce = Option<(&'static Profile, bool)>;

/// The network profile in force: the command line's (`forced`: it wins over
/// the file's `delay` and `mtu`), or the file's; an unknown name is an error
/// at it.
pub fn profile(cx: &mut Ctx, n: &NetworkDef, o: &Overrides) -> InForce {
    if let Some(p) = o.profile {
        return Some((p, true));
    }
    let name = n.profile.as_ref()?;
    let p = Profile::named(name.get_ref());
    if p.is_none() {
        cx.error(
            Class::Unknown,
            Some(name.span()),
            format!("unknown network profile `{}`", name.get_ref()),
            "expected a profile name",
            Some(format!("profiles: {}", Profile::names())),
        );
    }
    Some((p?, false))
}

pub fn resolve(cx: &mut Ctx, names: &Names, n: &NetworkDef, profile: InForce) -> Net {
    let base = match profile {
        Some((p, _)) => Link {
            delay_ns: Duration::from_ns(p.delay_ns),
            rate_bps: p.rate_bps,
            ..Link::default()
        },
        None => Link::default(),
    };
    let mut link = link(cx, base, &n.link);
    if let Some((p, true)) = profile {
        link.delay_ns = Duration::from_ns(p.delay_ns);
        link.rate_bps = p.rate_bps;
    }
    let mut links = Vec::new();
    for (key, d) in &n.links {
        if let Some((a, b)) = names.direction(cx, key, n.links.key_span(key)) {
            links.push((a, b, self::link(cx, link, d)));
        }
    }
    Net {
        link,
        links,
        drops: n
            .drop
            .iter()
            .filter_map(|d| drop_rule(cx, names, d))
            .collect(),
        faults: n
            .fault
            .iter()
            .filter_map(|d| fault_rule(cx, names, d))
            .collect(),
        partitions: n
            .partition
            .iter()
            .map(|p| partition(cx, names, p))
            .collect(),
    }
}

/// A duration of the file, or an error at it: not a duration, or past the horizon.
pub fn duration(cx: &mut Ctx, s: &Spanned<String>) -> Option<Duration> {
    match parse_duration(s.get_ref()) {
        Ok(v) => Some(v),
        Err(e) if e.out_of_range => {
            let help = e.help("");
            let message = format!("duration `{}` is {}", s.get_ref(), e.beyond);
            cx.error(Class::Range, Some(s.span()), message, e.reason, Some(help));
            None
        }
        Err(e) => {
            cx.error(
                Class::Value,
                Some(s.span()),
                format!("bad duration `{}`: {e}", s.get_ref()),
                "expected a duration",
                Some(DURATIONS.into()),
            );
            None
        }
    }
}

fn ratio(cx: &mut Ctx, s: &Spanned<String>) -> Option<Ratio> {
    let r = Ratio::parse(s.get_ref());
    if r.is_none() {
        cx.error(
            Class::Value,
            Some(s.span()),
            format!("bad probability `{}`", s.get_ref()),
            "expected a percentage or a ratio, at most 100%",
            Some("write `1%`, `0.5%` or `1/200`".into()),
        );
    }
    r
}

/// `base` with what `d` sets.
fn link(cx: &mut Ctx, base: Link, d: &LinkDef) -> Link {
    let mut l = base;
    let set_duration = |cx: &mut Ctx, v: &Option<Spanned<String>>, to: &mut Duration| {
        if let Some(d) = v.as_ref().and_then(|v| duration(cx, v)) {
            *to = d;
        }
    };
    set_duration(cx, &d.delay, &mut l.delay_ns);
    set_duration(cx, &d.jitter, &mut l.jitter_ns);
    for (v, to) in [
        (&d.loss, &mut l.loss),
        (&d.duplicate, &mut l.duplicate),
        (&d.reorder, &mut l.reorder),
    ] {
        if let Some(r) = v.as_ref().and_then(|v| ratio(cx, v)) {
            *to = r;
        }
    }
    if d.reorder.is_some() && l.reorder_delay_ns.is_zero() {
        l.reorder_delay_ns = Duration::from_ms(1); // held back 1 ms unless said otherwise
    }
    set_duration(cx, &d.reorder_delay, &mut l.reorder_delay_ns);
    l
}

fn drop_rule(cx: &mut Ctx, names: &Names, d: &DropDef) -> Option<DropRule> {
    let (filter, nth, count) = scripted(cx, names, &d.from, &d.flags, (&d.nth, &d.count));
    Some(DropRule {
        filter,
        nth: nth?,
        count: count?,
    })
}

/// A `[[network.fault]]`: the segments it matches, counted as a drop's, are
/// delivered twice, later, or both.
fn fault_rule(cx: &mut Ctx, names: &Names, d: &FaultDef) -> Option<FaultRule> {
    let (filter, nth, count) = scripted(cx, names, &d.from, &d.flags, (&d.nth, &d.count));
    let delay_ns = d.delay.as_ref().and_then(|v| duration(cx, v));
    if !d.duplicate && d.delay.is_none() {
        // A fault has no span of its own: point at what it matches, if written.
        let at = d.from.as_ref().or(d.flags.as_ref()).map(|v| v.span());
        cx.error(
            Class::Structure,
            at,
            "a `[[network.fault]]` does nothing",
            "here",
            Some("give it `duplicate = true`, `delay = \"1ms\"` or both".into()),
        );
        return None;
    }
    Some(FaultRule {
        filter,
        nth: nth?,
        count: count?,
        duplicate: d.duplicate,
        delay_ns: delay_ns.unwrap_or_default(),
    })
}

/// The segments a scripted drop or fault matches (`from`, `flags`), and its
/// `nth` and `count`, each checked at its value (none after an error).
fn scripted(
    cx: &mut Ctx,
    names: &Names,
    from: &Option<Spanned<String>>,
    flags: &Option<Spanned<String>>,
    (nth, count): (&Spanned<i64>, &Spanned<i64>),
) -> (Filter, Option<u32>, Option<u32>) {
    let from = from
        .as_ref()
        .and_then(|h| names.host(cx, h.get_ref(), Some(h.span())));
    let (flags, data) = match flags {
        Some(fl) => drop_filter_flags(cx, fl),
        None => (0, None),
    };
    let range = 1..=i64::from(u32::MAX);
    let nth = integer_in(
        cx,
        nth,
        range.clone(),
        "nth",
        "which matching segment, the first is 1",
    );
    let count = integer_in(
        cx,
        count,
        range,
        "count",
        "how many matching segments from the nth on",
    );
    let to_u32 = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
    (Filter { from, flags, data }, to_u32(nth), to_u32(count))
}

/// A drop rule's `flags`, or an error and no flags.
fn drop_filter_flags(cx: &mut Ctx, fl: &Spanned<String>) -> (u8, Option<bool>) {
    match drop_flags(fl.get_ref()) {
        Some(v) => v,
        None => {
            cx.error(
                Class::Value,
                Some(fl.span()),
                format!("bad flags `{}`", fl.get_ref()),
                "expected flag letters or `data`",
                Some("letters S F R P . (ACK), e.g. \"F\" or \"R\"; or \"data\" for segments with payload".into()),
            );
            (0, None)
        }
    }
}

fn drop_flags(s: &str) -> Option<(u8, Option<bool>)> {
    if s == "data" {
        return Some((0, Some(true)));
    }
    let mut bits = 0;
    for c in s.chars() {
        bits |= match c {
            'S' => Flags::SYN.0,
            'F' => Flags::FIN.0,
            'R' => Flags::RST.0,
            'P' => Flags::PSH.0,
            '.' => Flags::ACK.0,
            _ => return None,
        };
    }
    Some((bits, None))
}

fn partition(cx: &mut Ctx, names: &Names, p: &PartitionDef) -> Partition {
    let from = duration(cx, &p.from);
    let until = duration(cx, &p.until);
    let one_way_from = p
        .direction
        .as_ref()
        .and_then(|d| names.direction(cx, d.get_ref(), Some(d.span())))
        .map(|(a, _)| a);
    if let (Some(from), Some(until)) = (from, until) {
        if until <= from {
            cx.error(
                Class::Value,
                Some(p.until.span()),
                "a partition must end after it starts",
                "not after `from`",
                None,
            );
        }
    }
    Partition {
        from_ns: Instant::ZERO + from.unwrap_or_default(),
        until_ns: Instant::ZERO + until.unwrap_or_default(),
        one_way_from,
    }
}
