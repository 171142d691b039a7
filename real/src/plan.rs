//! Whether a scenario can be reproduced on this kernel, and how: which network
//! (loopback, or one namespace per host joined by a delay line), which MTUs,
//! which per-namespace sysctls stand for the scenario's knob overrides.

use model::personality::{Knobs, Personality};
use sim::WorldSpec;

/// A one-way delay at or above this needs a real delay line; below it,
/// loopback (whose own latency is a few to tens of microseconds) stands for it.
pub const LOOPBACK_DELAY_MAX_NS: u64 = 1_000_000;

/// The largest MTU a TUN device takes (Linux drivers/net/tun.c
/// tun_net_init(): `max_mtu = MAX_MTU - hard_header_len`, MAX_MTU = 65535;
/// `ip link set tun0 mtu 65536` fails "mtu greater than device maximum").
/// Loopback takes the scenario's largest MTU, 65536, its own default.
pub const TUN_MTU_MAX: u32 = 65_535;

/// How the hosts are connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Net {
    /// All hosts on `lo`, as 127.0.0.N (host index + 1).
    Loopback,
    /// One network namespace per host, each with a TUN device 10.77.0.N/24,
    /// joined by tcpsim's delay line (one-way delays per direction).
    Namespaces,
}

/// How to run a scenario on the kernel.
#[derive(Clone, Debug, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Plan {
    pub net: Net,
    /// One-way delay from host i to host j, in scenario (virtual) ns.
    pub delay_ns: Vec<Vec<u64>>,
    /// The link's rate from host i to host j in bits per second (0: none),
    /// which the delay line enforces as the simulated link does
    /// (`sim::net::Link::rate_bps`).
    pub rate_bps: Vec<Vec<u64>>,
    /// Interface MTU per host.
    pub mtu: Vec<u32>,
    /// Per-namespace sysctls per host: (name, value, why).
    pub sysctls: Vec<Vec<(String, String, String)>>,
    /// Facts worth printing with the report (e.g. timers that cannot be scaled).
    pub notes: Vec<String>,
}

/// The congestion control every socket of a kernel run uses
/// (`setsockopt(TCP_CONGESTION)`, which root may set to any available
/// algorithm; accepted sockets inherit the listener's): the kernel's default
/// (CONFIG_DEFAULT_TCP_CONG), which the `linux` personality models, whatever
/// this host's default. A host set to `bbr` paces a flight over milliseconds
/// (`tcp_update_pacing_rate()`), where the model, like `cubic` without the fq
/// qdisc, sends a window at once (docs/real-kernel.md, the atlas's `linux`
/// column). A namespace cannot take it as its default: outside the initial
/// namespace only `tcp_allowed_congestion_control` may be.
pub const CONGESTION_CONTROL: &str = "cubic";

/// A scenario feature the host cannot reproduce, as a sentence.
pub type NotReproducible = String;

/// The sysctl standing for a knob set to `value`, if Linux has one.
fn knob_sysctl(knob: &str, value: &str) -> Option<(String, String)> {
    let v = |s: &str| Some((format!("net.ipv4.{s}"), value.to_string()));
    match knob {
        "fin_wait_2_timeout_s" => v("tcp_fin_timeout"),
        "syn_retries" => v("tcp_syn_retries"),
        "synack_retries" => v("tcp_synack_retries"),
        "data_retries" => v("tcp_retries2"),
        "orphan_retries" => v("tcp_orphan_retries"),
        "rto_max_ms" => v("tcp_rto_max_ms"),
        "rto_min_ms" => {
            let ms: u64 = value.parse().ok()?;
            Some(("net.ipv4.tcp_rto_min_us".into(), (ms * 1000).to_string()))
        }
        "rst_in_time_wait" => Some((
            "net.ipv4.tcp_rfc1337".into(),
            if value == "ignore" { "1" } else { "0" }.into(),
        )),
        // No autotuning beyond the size asked for: min = default = max.
        "rcv_buf_bytes" => Some(("net.ipv4.tcp_rmem".into(), format!("4096 {value} {value}"))),
        "snd_buf_bytes" => Some(("net.ipv4.tcp_wmem".into(), format!("4096 {value} {value}"))),
        _ => None,
    }
}

/// The capabilities a kernel run needs, with what each is for (bit numbers
/// of linux/capability.h).
const CAPABILITIES: [(u32, &str, &str); 4] = [
    (21, "CAP_SYS_ADMIN", "private network namespaces"),
    (12, "CAP_NET_ADMIN", "their interfaces and sysctls"),
    (13, "CAP_NET_RAW", "capturing the segments"),
    (10, "CAP_NET_BIND_SERVICE", "ports below 1024"),
];

/// Why this process cannot run scenarios on the kernel, if it cannot: the
/// capabilities of [`CAPABILITIES`] it lacks (from `CapEff` in
/// /proc/self/status). Without them every call fails or runs on the host's
/// own network, and a comparison would list failures that are not
/// differences.
pub fn missing_privileges() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())?;
    let missing: Vec<String> = CAPABILITIES
        .iter()
        .filter(|(bit, ..)| cap_eff & (1 << bit) == 0)
        .map(|(_, name, what)| format!("{name} ({what})"))
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "a kernel run needs root or these capabilities, which this process lacks: {}; \
         run it as root (`sudo tcpsim real ...`)",
        missing.join(", ")
    ))
}

/// A host's per-namespace sysctls: (name, value, why).
type Sysctls = Vec<(String, String, String)>;

/// Decides how to run `spec` on this kernel with virtual time scaled by `scale`.
pub fn plan(spec: &WorldSpec, scale: f64) -> Result<Plan, NotReproducible> {
    let linux = Personality::builtin("linux").expect("the linux personality is built in");
    let sysctls = spec
        .hosts
        .iter()
        .map(|h| host_sysctls(h, &linux, scale))
        .collect::<Result<Vec<Sysctls>, NotReproducible>>()?;
    let mut notes = Vec::new();
    if scale != 1.0 {
        notes.push(format!(
            "time scale {scale}: the script's times and the network's delays are scaled, \
             and tcp_fin_timeout with them; the kernel's other timers (RTO ≥ 200 ms, \
             delayed ACK 40 ms, TIME-WAIT 60 s) run at their real speed"
        ));
    }
    check_network_faults(spec)?;
    check_injected(spec)?;
    check_host_steps(spec)?;
    let host_cc = crate::sys::read_sysctl("net.ipv4.tcp_congestion_control");
    if let Some(cc) = host_cc.filter(|cc| cc != CONGESTION_CONTROL) {
        notes.push(format!(
            "congestion control {CONGESTION_CONTROL} on every socket (TCP_CONGESTION), \
             the kernel's default the model follows; this host's default is {cc}"
        ));
    }
    let delay_ns = link_matrix(spec, |l| l.delay_ns.as_ns());
    let rate_bps = link_matrix(spec, |l| l.rate_bps);
    let mtu: Vec<u32> = spec.hosts.iter().map(|h| h.mtu).collect();
    let (net, why) = choose_net(max_one_way_delay_ns(&delay_ns), scale, &mtu, &sysctls);
    if let Some(h) = spec
        .hosts
        .iter()
        .find(|h| net == Net::Namespaces && h.mtu > TUN_MTU_MAX)
    {
        return Err(format!(
            "host `{}` has MTU {}: with one network namespace per host ({}), its TUN device takes at most {TUN_MTU_MAX}",
            h.name,
            h.mtu,
            why.as_deref().unwrap_or("needed here")
        ));
    }
    notes.extend(why);
    if net == Net::Loopback && rate_bps.iter().flatten().any(|&r| r > 0) {
        notes.push("the link's rate is not emulated on loopback".into());
    }
    Ok(Plan {
        net,
        delay_ns,
        rate_bps,
        mtu,
        sysctls,
        notes,
    })
}

/// The sysctls host `h` needs: one per knob it sets away from Linux's default,
/// and, under a time scale, a scaled FIN-WAIT-2 timeout. Fails for another
/// personality, or a knob Linux has no sysctl for.
fn host_sysctls(
    h: &sim::spec::HostSpec,
    linux: &Personality,
    scale: f64,
) -> Result<Sysctls, NotReproducible> {
    if h.personality.name != "linux" {
        return Err(format!(
            "host `{}` has personality `{}`; only `linux` runs on this kernel",
            h.name, h.personality.name
        ));
    }
    let mut out = Sysctls::new();
    for info in Knobs::INFO {
        let (mine, _) = h.personality.knobs.get(info.name).expect("every knob");
        let (base, _) = linux.knobs.get(info.name).expect("every knob");
        if mine == base {
            continue;
        }
        let Some((name, value)) = knob_sysctl(info.name, &mine) else {
            return Err(format!(
                "host `{}` sets knob `{}` = {mine} (default {base}), which has no sysctl equivalent",
                h.name, info.name
            ));
        };
        out.push((name, value, format!("knob {} = {mine}", info.name)));
    }
    if scale != 1.0 {
        // The kernel's FIN-WAIT-2 timer is the one timer a sysctl can scale.
        let fin_s = h.personality.knobs.fin_wait_2_timeout_s.value.0 as f64 * scale;
        let fin_s = (fin_s.round() as u64).max(1);
        out.retain(|(k, _, _)| k != "net.ipv4.tcp_fin_timeout");
        out.push((
            "net.ipv4.tcp_fin_timeout".into(),
            fin_s.to_string(),
            format!("FIN-WAIT-2 timeout scaled by --time-scale {scale}"),
        ));
    }
    Ok(out)
}

/// Fails for the network faults a kernel run cannot reproduce: random ones
/// (loss, duplication, reordering, jitter) and scripted drops or partitions.
fn check_network_faults(spec: &WorldSpec) -> Result<(), NotReproducible> {
    let links = std::iter::once(&spec.link).chain(spec.links.iter().map(|(_, _, l)| l));
    for l in links {
        if l.loss.num > 0 {
            return Err("random loss on the network".into());
        }
        if l.duplicate.num > 0 {
            return Err("random duplication on the network".into());
        }
        if l.reorder.num > 0 {
            return Err("random reordering on the network".into());
        }
        if !l.jitter_ns.is_zero() {
            return Err("jitter (random delay) on the network".into());
        }
    }
    if !spec.drops.is_empty() {
        return Err("scripted drops ([[network.drop]])".into());
    }
    if !spec.partitions.is_empty() {
        return Err("network partitions ([[network.partition]])".into());
    }
    Ok(())
}

/// Fails for `inject` steps: a spoofed segment needs a raw socket that writes
/// the connection's sequence numbers, which the worker does not have (its
/// sockets are the kernel's own), so the step is refused, never skipped.
fn check_injected(spec: &WorldSpec) -> Result<(), NotReproducible> {
    let Some(step) = spec
        .steps
        .iter()
        .find(|s| matches!(s.action, model::Call::Inject { .. }))
    else {
        return Ok(());
    };
    let at = step.origin.as_deref().unwrap_or("a step");
    Err(format!(
        "an `inject` step ({at}): the kernel worker cannot send a spoofed segment"
    ))
}

/// Fails for `sockets` and `tcpdrop` steps: they read or change the whole
/// host's connection table, which the worker would have to take from outside
/// the test's sockets (ss, a kill of the TIME-WAIT entries), and it does not.
fn check_host_steps(spec: &WorldSpec) -> Result<(), NotReproducible> {
    let Some(step) = spec.steps.iter().find(|s| {
        matches!(
            s.action,
            model::Call::Sockets { .. } | model::Call::Tcpdrop { .. }
        )
    }) else {
        return Ok(());
    };
    let at = step.origin.as_deref().unwrap_or("a step");
    Err(format!(
        "a `{}` step ({at}): the kernel worker does not read or drop the host's connection table",
        step.action.name()
    ))
}

/// A property `of` the link from host i to host j (its one-way delay in
/// virtual ns, its rate): the default link's, unless a per-direction link
/// overrides it.
fn link_matrix(spec: &WorldSpec, of: impl Fn(&sim::net::Link) -> u64) -> Vec<Vec<u64>> {
    let n = spec.hosts.len();
    let mut m = vec![vec![of(&spec.link); n]; n];
    for (s, d, l) in &spec.links {
        if let Some(row) = m.get_mut(*s as usize) {
            if let Some(x) = row.get_mut(*d as usize) {
                *x = of(l);
            }
        }
    }
    m
}

/// The longest delay between two different hosts, in virtual ns.
fn max_one_way_delay_ns(delay_ns: &[Vec<u64>]) -> u64 {
    delay_ns
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.iter().enumerate().filter(move |(j, _)| *j != i))
        .map(|(_, d)| *d)
        .max()
        .unwrap_or(0)
}

/// True when every host needs the same sysctl values (whatever the reasons).
fn same_sysctls(sysctls: &[Sysctls]) -> bool {
    let key = |v: &Sysctls| {
        let mut k: Vec<(String, String)> =
            v.iter().map(|(a, b, _)| (a.clone(), b.clone())).collect();
        k.sort();
        k
    };
    sysctls.windows(2).all(|w| key(&w[0]) == key(&w[1]))
}

/// Loopback when all hosts can share one: delays short enough to leave to
/// loopback's own latency, one MTU, one set of sysctls. Also says why, if
/// there is something to say.
fn choose_net(
    max_delay_ns: u64,
    scale: f64,
    mtu: &[u32],
    sysctls: &[Sysctls],
) -> (Net, Option<String>) {
    let real_delay_us = max_delay_ns as f64 * scale / 1000.0;
    if max_delay_ns as f64 * scale >= LOOPBACK_DELAY_MAX_NS as f64 {
        let why = format!(
            "one-way delays up to {} µs: one network namespace per host, joined by a delay line",
            real_delay_us.round()
        );
        (Net::Namespaces, Some(why))
    } else if !mtu.windows(2).all(|w| w[0] == w[1]) {
        let why = "hosts have different MTUs: one network namespace per host";
        (Net::Namespaces, Some(why.into()))
    } else if !same_sysctls(sysctls) {
        let why = "hosts need different sysctls: one network namespace per host";
        (Net::Namespaces, Some(why.into()))
    } else {
        let why = (max_delay_ns > 0).then(|| {
            format!("one-way delay {real_delay_us} µs (< 1 ms) is left to loopback's own latency")
        });
        (Net::Loopback, why)
    }
}

/// A time scale that makes races between processes last at least 1 ms of real
/// time: scheduling a process on this host takes tens to hundreds of
/// microseconds, so steps of different processes closer than that in virtual
/// time would run in an order of their own. 1 when no such race exists; at most 100.
pub fn auto_scale(spec: &WorldSpec) -> f64 {
    let mut abs: Vec<(u64, sim::spec::ProcId)> = spec
        .steps
        .iter()
        .filter_map(|s| match s.at {
            sim::At::Abs(t) => Some((t.as_ns(), s.proc)),
            _ => None,
        })
        .collect();
    abs.sort();
    let min_gap = abs
        .windows(2)
        .filter(|w| w[0].1 != w[1].1 && w[1].0 > w[0].0)
        .map(|w| w[1].0 - w[0].0)
        .min();
    let mut scale: f64 = match min_gap {
        Some(g) if g < LOOPBACK_DELAY_MAX_NS => (LOOPBACK_DELAY_MAX_NS as f64 / g as f64).ceil(),
        _ => 1.0,
    };
    // Steps of different processes at the same instant (crossing FINs, say)
    // race over the network: make its delay at least 1 ms, so that the
    // processes' own start-up jitter does not decide the order.
    let same_instant = abs
        .windows(2)
        .any(|w| w[0].1 != w[1].1 && w[0].0 == w[1].0 && w[0].0 > 0);
    let min_delay = std::iter::once(spec.link.delay_ns.as_ns())
        .chain(spec.links.iter().map(|(_, _, l)| l.delay_ns.as_ns()))
        .min()
        .unwrap_or(0);
    if same_instant && min_delay > 0 && min_delay < LOOPBACK_DELAY_MAX_NS {
        scale = scale.max((LOOPBACK_DELAY_MAX_NS as f64 / min_delay as f64).ceil());
    }
    scale.min(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::SpecBuilder;

    fn two_linux() -> SpecBuilder {
        let mut b = SpecBuilder::new(1);
        b.host("client", Personality::builtin("linux").unwrap());
        b.host("server", Personality::builtin("linux").unwrap());
        b
    }

    #[test]
    fn default_network_runs_on_loopback() {
        let p = plan(&two_linux().build(), 1.0).unwrap();
        assert_eq!(p.net, Net::Loopback);
        assert!(p.sysctls.iter().all(|s| s.is_empty()));
    }

    #[test]
    fn host_table_steps_are_not_reproducible() {
        let mut b = two_linux();
        let state = model::State::TimeWait;
        b.at(0, "client", model::Call::Tcpdrop { state });
        let e = plan(&b.build(), 1.0).unwrap_err();
        assert!(e.contains("a `tcpdrop` step"), "{e}");
        let mut b = two_linux();
        let (held, port) = (false, None);
        b.at(0, "server", model::Call::Sockets { state, held, port });
        let e = plan(&b.build(), 1.0).unwrap_err();
        assert!(
            e.contains("a `sockets` step") && e.contains("connection table"),
            "{e}"
        );
        assert!(plan(&two_linux().build(), 1.0).is_ok());
    }

    #[test]
    fn faults_and_knobs_without_sysctls_are_not_reproducible() {
        let mut b = two_linux();
        b.spec.link.loss = sim::Ratio::new(1, 100);
        assert!(plan(&b.build(), 1.0).unwrap_err().contains("random loss"));
        let mut b = two_linux();
        let mut p = Personality::builtin("linux").unwrap();
        p.set("close_unread", "discard-fin", "test").unwrap();
        b.spec.hosts[1].personality = std::sync::Arc::new(p);
        let e = plan(&b.build(), 1.0).unwrap_err();
        assert!(e.contains("close_unread") && e.contains("no sysctl"), "{e}");
    }

    #[test]
    fn an_injected_segment_is_refused_not_skipped() {
        use sim::spec::Action;
        let mut b = two_linux();
        b.at(3, "client", Action::Close { sock: 0 });
        assert!(plan(&b.build(), 1.0).is_ok());
        let raw = model::RawSeg {
            flags: model::Flags::SYN,
            seq: 1,
            len: 0,
            ack: Some(1),
            win: None,
            mss: None,
            ts: false,
        };
        b.at(4, "client", Action::Inject { sock: 0, seg: raw });
        let e = plan(&b.build(), 1.0).unwrap_err();
        assert!(e.contains("`inject`") && e.contains("spoofed"), "{e}");
    }

    /// Every MTU a scenario may have runs on loopback; past a TUN device's
    /// largest, one namespace per host is not reproducible (not a failed run).
    #[test]
    fn mtus_a_scenario_allows_run_or_are_refused_with_the_reason() {
        let mut b = two_linux();
        for h in &mut b.spec.hosts {
            h.mtu = 65_536;
        }
        assert_eq!(plan(&b.build(), 1.0).unwrap().net, Net::Loopback);
        b.spec.hosts[0].mtu = 1500;
        let e = plan(&b.build(), 1.0).unwrap_err();
        assert!(
            e.contains("MTU 65536") && e.contains("at most 65535"),
            "{e}"
        );
        b.spec.hosts[1].mtu = TUN_MTU_MAX;
        assert_eq!(plan(&b.build(), 1.0).unwrap().net, Net::Namespaces);
    }

    #[test]
    fn auto_scale_stretches_races_between_processes() {
        use sim::spec::Action;
        let mut b = two_linux();
        b.at(3, "server", Action::Close { sock: 0 });
        b.step(
            sim::At::Abs(model::Instant::from_ns(3_020_000)),
            "client",
            Action::Exit {},
        );
        assert_eq!(auto_scale(&b.build()), 50.0);
        // Steps of one process close together are no race.
        let mut b = two_linux();
        b.at(3, "server", Action::Close { sock: 0 });
        b.step(
            sim::At::Abs(model::Instant::from_ns(3_020_000)),
            "server",
            Action::Exit {},
        );
        assert_eq!(auto_scale(&b.build()), 1.0);
        // Two processes at the same instant race over a 50 µs network: 20×.
        let mut b = two_linux();
        b.at(5, "server", Action::Close { sock: 0 });
        b.at(5, "client", Action::Close { sock: 0 });
        assert_eq!(auto_scale(&b.build()), 20.0);
    }

    #[test]
    fn sysctl_knobs_and_delays_choose_namespaces() {
        let mut b = two_linux();
        let mut p = Personality::builtin("linux").unwrap();
        p.set("tcp_fin_timeout", "5", "test").unwrap();
        b.spec.hosts[1].personality = std::sync::Arc::new(p);
        let pl = plan(&b.build(), 1.0).unwrap();
        assert_eq!(pl.net, Net::Namespaces);
        assert_eq!(pl.sysctls[1][0].0, "net.ipv4.tcp_fin_timeout");
        let mut b = two_linux();
        b.spec.link.delay_ns = model::Duration::from_ms(20);
        assert_eq!(plan(&b.build(), 1.0).unwrap().net, Net::Namespaces);
        assert_eq!(plan(&b.build(), 0.01).unwrap().net, Net::Loopback);
    }
}
