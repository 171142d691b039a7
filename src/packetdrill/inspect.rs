//! The two ways the FreeBSD suite looks at the kernel's connection state,
//! answered from the model host's sockets:
//! - `` `sockstat -4 -P tcp [-p PORT] -s [| grep packetdril] | grep -c STATE | grep N` ``
//!   (freebsd-net/tcp-testsuite): the count of TCP endpoints in a state, as
//!   FreeBSD's sockstat(1) lists them from `net.inet.tcp.pcblist`, which
//!   holds the syncache's half-open connections too (as SYN_RCVD, with no
//!   owner: sys/netinet/tcp_syncache.c `syncache_pcblist`); `grep packetdril`
//!   keeps those a descriptor of the script's process holds. The command
//!   fails, as the shell pipeline does, when the count does not contain N.
//! - `%{ assert tcpi_state == TCPI_STATE }%`: the state of the socket under
//!   test (packetdrill's `socket_under_test`, the last one `socket()` or
//!   `accept()` returned), which packetdrill reads with TCP_INFO.
//!
//! Other commands and other Python stay unsupported.

use super::report::{self, Failure};
use super::run::Runner;
use model::State;

/// FreeBSD's names for the states (sys/netinet/tcp_fsm.h `tcpstates[]`), as sockstat prints them.
fn bsd_state_name(s: State) -> &'static str {
    match s {
        State::Closed => "CLOSED",
        State::Listen => "LISTEN",
        State::SynSent => "SYN_SENT",
        State::SynReceived => "SYN_RCVD",
        State::Established => "ESTABLISHED",
        State::CloseWait => "CLOSE_WAIT",
        State::FinWait1 => "FIN_WAIT_1",
        State::Closing => "CLOSING",
        State::LastAck => "LAST_ACK",
        State::FinWait2 => "FIN_WAIT_2",
        State::TimeWait => "TIME_WAIT",
    }
}

/// A sockstat pipeline the runner can answer.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Sockstat<'a> {
    /// `-p PORT`: the local or foreign port.
    pub port: Option<u16>,
    /// `grep packetdril`: only endpoints a descriptor of the script holds.
    pub owned: bool,
    /// `grep -c STATE`.
    pub state: &'a str,
    /// The final `grep N`.
    pub want: &'a str,
}

impl Sockstat<'_> {
    /// The state whose sockstat name is the pipeline's STATE exactly (grep
    /// would also count a longer name containing it).
    pub fn exact_state(&self) -> Option<State> {
        State::ALL
            .into_iter()
            .find(|&s| bsd_state_name(s) == self.state)
    }
}

/// Reads `sockstat -4 -P tcp [-p PORT] -s | [grep packetdril |] grep -c STATE | grep N`.
pub(super) fn parse_sockstat(c: &str) -> Option<Sockstat<'_>> {
    let stages: Vec<Vec<&str>> = c
        .split('|')
        .map(|s| s.split_whitespace().collect())
        .collect();
    let (first, rest) = stages.split_first()?;
    let (cmd, args) = first.split_first()?;
    if *cmd != "sockstat" {
        return None;
    }
    let mut port = None;
    let mut args = args.iter();
    while let Some(a) = args.next() {
        match *a {
            "-4" | "-s" => {}
            "-P" => (args.next() == Some(&"tcp")).then_some(())?,
            "-p" => port = Some(args.next()?.parse().ok()?),
            _ => return None,
        }
    }
    let (owned, rest) = match rest {
        [g, rest @ ..] if g.as_slice() == ["grep", "packetdril"] => (true, rest),
        _ => (false, rest),
    };
    match rest {
        [count, last] => match (count.as_slice(), last.as_slice()) {
            (["grep", "-c", state], ["grep", want]) => Some(Sockstat {
                port,
                owned,
                state,
                want,
            }),
            _ => None,
        },
        _ => None,
    }
}

impl Runner {
    /// A sockstat pipeline: `None` if it is not one the runner reads.
    pub(super) fn sockstat(&self, line: usize, c: &str) -> Option<Result<(), Failure>> {
        let q = parse_sockstat(c)?;
        let count = self
            .host
            .sockets()
            .filter(|(_, s)| {
                q.port
                    .is_none_or(|p| s.local.port == p || s.remote.port == p)
            })
            .filter(|(_, s)| !q.owned || s.refs > 0)
            .filter(|(_, s)| bsd_state_name(s.state).contains(q.state))
            .count();
        if count.to_string().contains(q.want) {
            return Some(Ok(()));
        }
        // grep exits 1 when nothing matches; the pipeline's status is the last grep's.
        Some(Err(report::fail(
            line,
            format!(
                "error executing `{c}` command: non-zero status 1 (the model has {count} in {})",
                q.state
            ),
        )))
    }

    /// A `%{ python }%` block: `assert tcpi_state == TCPI_STATE` is read,
    /// anything else is unsupported.
    pub(super) fn code(&mut self, line: usize, code: &str) -> Result<(), Failure> {
        let Some(want) = tcpi_state_assert(code) else {
            self.unsupported(
                line,
                "%{ python }% blocks inspect the kernel's tcp_info, which the model does not keep (only `assert tcpi_state == …` is read)".into(),
            );
            return Ok(());
        };
        let sid = self
            .under_test
            .and_then(|fd| self.fds.get(&fd))
            .and_then(|&fd| self.host.fd_sock(self.pid, fd));
        let Some(sid) = sid else {
            self.unsupported(
                line,
                "%{ assert tcpi_state }%: no socket under test is open".into(),
            );
            return Ok(());
        };
        let got = self.host.sock(sid).state;
        if got == want {
            return Ok(());
        }
        let tcpi = |s: State| format!("TCPI_{}", s.name().replace('-', "_"));
        Err(report::fail(
            line,
            format!(
                "error executing code: AssertionError: tcpi_state == {}: the state is {}",
                tcpi(want),
                tcpi(got)
            ),
        ))
    }
}

/// The state a `%{ assert tcpi_state == TCPI_STATE }%` block asserts, or
/// `None` for any other Python.
pub(super) fn tcpi_state_assert(code: &str) -> Option<State> {
    code.trim()
        .strip_prefix("assert tcpi_state ==")
        .map(str::trim)
        .and_then(|w| w.strip_prefix("TCPI_"))
        .and_then(State::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suites_sockstat_pipelines_are_read() {
        let q = parse_sockstat("sockstat -4 -P tcp -p 8080 -s | grep -c SYN_RCVD | grep 0");
        assert_eq!(
            q,
            Some(Sockstat {
                port: Some(8080),
                owned: false,
                state: "SYN_RCVD",
                want: "0"
            })
        );
        let q =
            parse_sockstat("sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1")
                .expect("read");
        assert!(q.owned && q.port.is_none() && q.state == "TIME_WAIT");
        assert_eq!(
            parse_sockstat("sockstat -6 -P tcp -s | grep -c X | grep 1"),
            None
        );
        assert_eq!(
            parse_sockstat("sockstat -4 -P udp -s | grep -c X | grep 1"),
            None
        );
        assert_eq!(parse_sockstat("netstat -an | grep -c X | grep 1"), None);
    }
}
