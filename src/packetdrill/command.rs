//! Backquoted shell commands. The suites use them to put the kernel into a
//! known state before a script, or to look at it afterwards:
//! - the Linux suite's `` `../common/defaults.sh` `` (google/packetdrill
//!   `gtests/net/common/defaults.sh`, which `gtests/net/tcp/common/defaults.sh`
//!   links to) sets sysctls; the ones the model has a knob for are applied;
//! - the FreeBSD suite's `` `sysctl -w net.inet.tcp.NAME=V` ``
//!   (freebsd-net/tcp-testsuite): a sysctl a knob stands for is applied (the
//!   knob tables' aliases, `knobs!` in model/src/personality/mod.rs), one
//!   whose value changes nothing the model decides is a no-op, the rest are
//!   unsupported;
//! - the suite's `sockstat` pipelines are answered from the host's sockets
//!   (`inspect`), and `tcpdrop -s TIME_WAIT` drops the host's TIME-WAIT
//!   connections (`Host::drop_time_wait`);
//! - anything else (other `tcpdrop`s, `kldload`) inspects or changes the kernel
//!   from outside, and is unsupported.

use super::report::Failure;
use super::run::Runner;
use std::sync::Arc;

/// Sysctls of `defaults.sh` that map onto knobs: (knob, value).
const LINUX_DEFAULTS: &[(&str, &str)] = &[
    ("tcp_timestamps", "true"),
    ("syn_retries", "5"),
    ("synack_retries", "5"),
];

/// FreeBSD sysctls that change nothing the model decides, at these values:
/// SACK and ECN are not modelled (the scripts' SYNs are matched without
/// them), the black hole setting 0 is the model's behaviour (RST for a
/// closed port), the buffer limit is above every buffer a script sets, and
/// the host cache keeps nothing between the model's runs.
const FREEBSD_NOOPS: &[(&str, &str)] = &[
    ("net.inet.tcp.sack.enable", "1"),
    ("net.inet.tcp.ecn.enable", "2"),
    ("net.inet.tcp.blackhole", "0"),
    ("kern.ipc.maxsockbuf", "2097152"),
    ("net.inet.tcp.hostcache.purgenow", "1"),
];

impl Runner {
    /// Runs a `` `command` `` line. A block of sysctls (one per line, as
    /// `run --packetdrill-out` and the Linux suite write their setup) runs
    /// line by line; anything else is one shell command.
    pub(super) fn command(&mut self, line: usize, c: &str) -> Result<(), Failure> {
        let lines: Vec<&str> = c.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if lines.len() > 1 && lines.iter().all(|l| l.starts_with("sysctl ")) {
            return lines
                .iter()
                .try_for_each(|one| self.command_line(line, one));
        }
        // One command, its lines joined as the shell reads a continued one.
        self.command_line(line, &lines.join(" "))
    }

    fn command_line(&mut self, line: usize, c: &str) -> Result<(), Failure> {
        if c.ends_with("common/defaults.sh") {
            for (knob, value) in LINUX_DEFAULTS {
                self.set_knob(
                    line,
                    knob,
                    value,
                    "google/packetdrill gtests/net/common/defaults.sh",
                );
            }
            return Ok(());
        }
        if let Some(assign) = c
            .strip_prefix("sysctl -w ")
            .or_else(|| c.strip_prefix("sysctl -q "))
        {
            let (name, value) = assign.split_once('=').unwrap_or((assign, ""));
            self.sysctl(line, name.trim(), value.trim().trim_matches('"'));
            return Ok(());
        }
        if let Some(result) = self.sockstat(line, c) {
            return result;
        }
        if c == "tcpdrop -s TIME_WAIT" {
            let mut out = model::Output::default();
            let now = self.instant();
            self.host.drop_time_wait(now, &mut out);
            self.absorb(out);
            return Ok(());
        }
        self.unsupported(
            line,
            format!("shell command `{c}` inspects or changes the kernel from outside the script"),
        );
        Ok(())
    }

    fn sysctl(&mut self, line: usize, name: &str, value: &str) {
        if FREEBSD_NOOPS.contains(&(name, value)) {
            return;
        }
        if let Some(tcp) = name.strip_prefix("net.ipv4.") {
            return self.linux_sysctl(line, tcp, value);
        }
        let source = "freebsd-net/tcp-testsuite (the script's sysctl)";
        match name {
            // insecure_rst=1 turns RFC 5961's checks off: the opposite sense of the knob.
            "net.inet.tcp.insecure_rst" => {
                let on = if value == "0" { "true" } else { "false" };
                self.set_knob(line, "challenge_ack", on, source)
            }
            // insecure_syn=1 turns RFC 5961's SYN check off.
            "net.inet.tcp.insecure_syn" => {
                let on = if value == "0" { "true" } else { "false" };
                self.set_knob(line, "syn_challenge_ack", on, source)
            }
            // Milliseconds, the knob's unit (FreeBSD sys/netinet/tcp_timer.c tcp_rexmit_initial).
            "net.inet.tcp.rexmit_initial" => self.set_knob(line, "rto_initial_ms", value, source),
            // The model never drops options from retransmitted SYNs: 0 is its behaviour.
            "net.inet.tcp.rexmit_drop_options" if value == "0" => {}
            "net.inet.tcp.recvspace" => self.set_knob(line, "rcv_buf_bytes", value, source),
            "net.inet.tcp.sendspace" => self.set_knob(line, "snd_buf_bytes", value, source),
            "net.inet.tcp.rfc1323" => {
                let on = if value == "0" { "false" } else { "true" };
                self.set_knob(line, "tcp_timestamps", on, source)
            }
            _ => match model::personality::Knobs::lookup(name) {
                Ok(info) => self.set_knob(line, info.name, value, source),
                Err(_) => self.unsupported(
                    line,
                    format!("sysctl {name}={value}: no knob of the model stands for it"),
                ),
            },
        }
    }

    /// A Linux `net.ipv4.tcp_*` sysctl (as `tcpsim run --packetdrill-out`
    /// writes them): the knob whose alias it is. `tcp_rmem`/`tcp_wmem` are
    /// `min default max`; the knob is the default, the size a socket starts
    /// with; the max is `tcp_rmem_max_bytes` (it decides the window scale
    /// our SYN offers, `tcp_select_initial_window`) and `snd_buf_max_bytes`.
    fn linux_sysctl(&mut self, line: usize, name: &str, value: &str) {
        let source = "the script's sysctl";
        let fields: Vec<&str> = value.split_whitespace().collect();
        match (name, fields.get(2)) {
            ("tcp_rmem", Some(max)) => self.set_knob(line, "tcp_rmem_max_bytes", max, source),
            ("tcp_wmem", Some(max)) => self.set_knob(line, "snd_buf_max_bytes", max, source),
            _ => {}
        }
        let value = match name {
            "tcp_rmem" | "tcp_wmem" => fields.get(1).copied().unwrap_or(value),
            _ => value,
        };
        match model::personality::Knobs::lookup(name) {
            Ok(info) if name.starts_with("tcp_") => self.set_knob(line, info.name, value, source),
            _ => self.unsupported(
                line,
                format!("sysctl net.ipv4.{name}={value}: no knob of the model stands for it"),
            ),
        }
    }

    /// Sets a knob of the host's personality. As a sysctl on a kernel, it
    /// applies from now on (existing sockets keep the buffers they were made with).
    fn set_knob(&mut self, line: usize, knob: &str, value: &str, source: &str) {
        if self
            .personality
            .knobs
            .get(knob)
            .is_some_and(|(v, _)| v == value)
        {
            return;
        }
        match self
            .personality
            .knobs
            .set(knob, value, source.to_string().into())
        {
            Ok(_) => self.host.personality = Arc::new(self.personality.clone()),
            Err(e) => self.unsupported(line, format!("{knob}={value}: {e}")),
        }
    }
}
