//! The network a kernel run uses: a private namespace with `lo`, or one
//! namespace per host joined by a user-space delay line (this kernel has no
//! netem), with the sysctls the scenario's knobs map to.

use super::relay::TxStamps;
use super::*;
use crate::capture::Sniffer;
use crate::plan::{Net, Plan};
use crate::sys;
use sim::spec::WorldSpec;
use std::net::Ipv4Addr;

/// The network as built.
pub(super) struct Netw {
    /// One namespace descriptor per host (the same one for all on loopback); empty if none.
    pub(super) ns: Vec<i32>,
    pub(super) orig_ns: Option<i32>,
    pub(super) host_ip: Vec<Ipv4Addr>,
    pub(super) sniffer: Option<Sniffer>,
    pub(super) capture_error: Option<String>,
    pub(super) tun: Vec<i32>,
    /// Each host's TUN device's transmit times (the delay line's clock).
    pub(super) tx_stamps: Vec<Option<TxStamps>>,
    pub(super) notes: Vec<String>,
}

impl Netw {
    /// Closes the hosts' namespaces and TUN devices (falling back to loopback).
    pub(super) fn close_host_devices(&mut self) {
        for fd in self.ns.drain(..) {
            sys::close(fd);
        }
        for fd in self.tun.drain(..) {
            sys::close(fd);
        }
        self.tx_stamps.clear();
        self.host_ip.clear();
    }
}

impl Drop for Netw {
    fn drop(&mut self) {
        if let Some(o) = self.orig_ns {
            let _ = sys::setns(o);
            sys::close(o);
        }
        let mut ns = self.ns.clone();
        ns.dedup();
        for fd in ns.into_iter().chain(self.tun.iter().copied()) {
            sys::close(fd);
        }
    }
}

pub(super) fn apply_sysctls(
    list: &[(String, String, String)],
    notes: &mut Vec<String>,
    who: &str,
) -> Result<(), RunError> {
    for (k, v, why) in list {
        sys::write_sysctl(k, v)
            .map_err(|e| RunError::NotReproducible(format!("cannot set {k} = {v} ({why}): {e}")))?;
        notes.push(format!("{who}{k} = {v} ({why})"));
    }
    Ok(())
}

pub(super) fn build_net(spec: &WorldSpec, plan: &Plan, scale: f64) -> Result<Netw, RunError> {
    let n = spec.hosts.len();
    let mut net = Netw {
        ns: Vec::new(),
        orig_ns: None,
        host_ip: Vec::new(),
        sniffer: None,
        capture_error: None,
        tun: Vec::new(),
        tx_stamps: Vec::new(),
        notes: Vec::new(),
    };
    let unshare_err = match (sys::netns_fd().ok(), plan.net) {
        (Some(o), Net::Namespaces) => {
            net.orig_ns = Some(o);
            let err = host_namespaces(spec, plan, &mut net)?;
            let _ = sys::setns(o);
            let Some(e) = err else {
                let delays = delays_text(spec, plan, scale);
                net.notes.push(format!(
                    "network: one namespace per host (10.77.0.N on a TUN device), joined by \
                     tcpsim's delay line{delays}"
                ));
                // The delay line sees every segment: no sniffer.
                return Ok(net);
            };
            net.notes.push(loopback_fallback(plan, scale, &e)?);
            net.close_host_devices();
            Some(e)
        }
        (Some(o), Net::Loopback) => {
            net.orig_ns = Some(o);
            sys::unshare_net().err()
        }
        (None, _) => Some(std::io::Error::other("no /proc/thread-self/ns/net")),
    };
    // Loopback.
    net.host_ip = (0..n)
        .map(|i| Ipv4Addr::new(127, 0, 0, i as u8 + 1))
        .collect();
    match unshare_err {
        None => private_loopback(plan, n, &mut net)?,
        Some(e) => {
            if let Some(o) = net.orig_ns.take() {
                sys::close(o);
            }
            net.notes.push(shared_loopback(plan, &e)?);
        }
    }
    match Sniffer::open("lo", true) {
        Ok(s) => net.sniffer = Some(s),
        Err(e) => {
            net.capture_error = Some(format!(
                "segments not captured: AF_PACKET on lo needs root or CAP_NET_RAW ({e})"
            ))
        }
    }
    Ok(net)
}

/// The TUN devices' transmit queue, in packets. The kernel's default for a
/// TUN device is 500 (drivers/net/tun.c tun_net_init(), TUN_READQ_SIZE), and
/// tun_net_xmit() drops what does not fit its ring: a sender whose window has
/// grown past 500 segments (a 10 MB transfer on `--profile lan` reaches
/// ~2000 at 25 ms) lost packets there and recovered, where the simulated LAN
/// loses none. This holds a whole window of the largest receive buffer
/// (tcp_rmem[2] = 6 MB, ~4300 segments of 1448 octets) while the delay
/// line drains it.
const TUN_TXQUEUELEN: u32 = 8192;

/// Creates one namespace per host, each with `lo` and a TUN device, and
/// applies the host's sysctls in it. Stays in the last namespace it made.
/// Returns why namespaces cannot be created, if the first (or a later) one
/// cannot: the caller then falls back to loopback.
pub(super) fn host_namespaces(
    spec: &WorldSpec,
    plan: &Plan,
    net: &mut Netw,
) -> Result<Option<std::io::Error>, RunError> {
    for (i, host) in spec.hosts.iter().enumerate() {
        if let Err(e) = sys::unshare_net() {
            return Ok(Some(e));
        }
        let fd = sys::netns_fd().map_err(|e| RunError::Failed(format!("netns: {e}")))?;
        net.ns.push(fd);
        sys::if_setup("lo", None, None).map_err(|e| RunError::Failed(format!("lo up: {e}")))?;
        let tun = sys::tun_open("tcpsim0").map_err(|e| {
            RunError::NotReproducible(format!("no TUN device for the delay line: {e}"))
        })?;
        net.tun.push(tun);
        let ip = Ipv4Addr::new(10, 77, 0, i as u8 + 1);
        sys::if_setup(
            "tcpsim0",
            Some(plan.mtu[i]),
            Some((ip, Ipv4Addr::new(255, 255, 255, 0))),
        )
        .map_err(|e| RunError::Failed(format!("tun setup: {e}")))?;
        sys::if_txqueuelen("tcpsim0", TUN_TXQUEUELEN)
            .map_err(|e| RunError::Failed(format!("tun txqueuelen: {e}")))?;
        net.host_ip.push(ip);
        let stamps = TxStamps::open("tcpsim0");
        if let Err(e) = &stamps {
            net.notes.push(format!(
                "{}: no transmit times on its TUN device ({e}): the delay line counts \
                 from when it reads each packet",
                host.name
            ));
        }
        net.tx_stamps.push(stamps.ok());
        let who = format!("{}: ", host.name);
        apply_sysctls(&plan.sysctls[i], &mut net.notes, &who)?;
    }
    Ok(None)
}

/// The note for running on loopback after namespaces failed with `e`, or the
/// error when a delay is too long for loopback to stand for it.
pub(super) fn loopback_fallback(
    plan: &Plan,
    scale: f64,
    e: &std::io::Error,
) -> Result<String, RunError> {
    let max_ns = plan.delay_ns.iter().flatten().max().copied().unwrap_or(0);
    if max_ns as f64 * scale >= crate::plan::LOOPBACK_DELAY_MAX_NS as f64 {
        return Err(RunError::NotReproducible(format!(
            "network namespaces are unavailable ({e}), and a one-way delay of {} µs \
             is too long to leave to loopback",
            max_ns as f64 * scale / 1000.0
        )));
    }
    Ok(format!(
        "network namespaces are unavailable ({e}): falling back to loopback"
    ))
}

/// Sets up `lo` in the private namespace just entered, shared by all `n`
/// hosts: the smallest MTU, and each distinct set of sysctls.
pub(super) fn private_loopback(plan: &Plan, n: usize, net: &mut Netw) -> Result<(), RunError> {
    let fd = sys::netns_fd().map_err(|e| RunError::Failed(format!("netns: {e}")))?;
    net.ns = vec![fd; n];
    let mtu = plan.mtu.iter().copied().min().unwrap_or(1500);
    sys::if_setup("lo", Some(mtu), None).map_err(|e| RunError::Failed(format!("lo setup: {e}")))?;
    for (i, list) in plan.sysctls.iter().enumerate() {
        if i == 0 || list != &plan.sysctls[0] {
            apply_sysctls(list, &mut net.notes, "")?;
        }
    }
    net.notes.push(format!(
        "network: loopback in a private network namespace, MTU {mtu}, hosts 127.0.0.N"
    ));
    Ok(())
}

/// The note for running on this host's own loopback (no private namespace,
/// for reason `e`), or the error when a sysctl would need one.
pub(super) fn shared_loopback(plan: &Plan, e: &std::io::Error) -> Result<String, RunError> {
    if let Some((k, v, why)) = plan.sysctls.iter().flatten().next() {
        return Err(RunError::NotReproducible(format!(
            "{k} = {v} ({why}) needs a private network namespace, which cannot be created here ({e})"
        )));
    }
    Ok(format!(
        "no private network namespace ({e}): running on this host's loopback \
         (MTU as configured, not the scenario's)"
    ))
}

pub(super) fn delays_text(spec: &WorldSpec, plan: &Plan, scale: f64) -> String {
    let mut parts = Vec::new();
    for (i, row) in plan.delay_ns.iter().enumerate() {
        for (j, d) in row.iter().enumerate() {
            if i != j {
                parts.push(format!(
                    "{}→{} {} µs",
                    spec.hosts[i].name,
                    spec.hosts[j].name,
                    (*d as f64 * scale / 1000.0)
                ));
            }
        }
    }
    format!(" ({})", parts.join(", "))
}
