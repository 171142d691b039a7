//! Stack personalities: how one TCP stack behaves at teardown, as data.
//!
//! A personality is a name, the release it models, and a table of knobs. Each
//! knob holds a value and the source it comes from (kernel file and function,
//! vendor document, or observation on a real kernel, with a confidence tag as in
//! `shared/personalities.md`). The model reads knobs; it never asks "is this
//! Linux?".

mod knob;
mod linux;

pub use knob::*;

use std::borrow::Cow;

/// Declares every knob once: field, type, aliases (the real sysctl or registry
/// names, accepted by `--set` and personality files) and documentation.
macro_rules! knobs {
    ($( $(#[doc = $doc:literal])+ $name:ident : $ty:ty $([$($alias:literal),*])? ),+ $(,)?) => {
        /// Every behaviour and number a personality fixes.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct Knobs { $( $(#[doc = $doc])+ pub $name: Knob<$ty>, )+ }

        /// Static facts about one knob.
        #[derive(Clone, Copy, Debug)]
        pub struct KnobInfo {
            pub name: &'static str,
            pub aliases: &'static [&'static str],
            pub doc: &'static str,
            /// Valid values, for help and error messages.
            pub expected: fn() -> String,
            /// The variants and their meanings, for enum knobs.
            pub variants: fn() -> &'static [(&'static str, &'static str)],
        }

        impl Knobs {
            /// All knobs, in declaration order.
            pub const INFO: &'static [KnobInfo] = &[$(
                KnobInfo {
                    name: stringify!($name),
                    aliases: &[$($($alias),*)?],
                    doc: concat!($($doc),+),
                    expected: <$ty as KnobValue>::expected,
                    variants: <$ty as KnobValue>::variants,
                },
            )+];

            /// The value (as text) and source of a knob, by canonical name.
            pub fn get(&self, name: &str) -> Option<(String, &str)> {
                match name {
                    $( stringify!($name) => Some((self.$name.value.to_string(), &self.$name.source)), )+
                    _ => None,
                }
            }

            /// Overrides a knob by canonical name or alias.
            pub fn set(&mut self, name: &str, value: &str, source: Cow<'static, str>) -> Result<&'static str, KnobError> {
                let info = Self::lookup(name)?;
                match info.name {
                    $( stringify!($name) => {
                        let v = <$ty as KnobValue>::parse_knob(value.trim()).ok_or_else(|| KnobError::BadValue {
                            name: info.name,
                            value: value.to_string(),
                            expected: (info.expected)(),
                        })?;
                        self.$name = Knob { value: v, source };
                    } )+
                    _ => unreachable!("lookup returned a name the table does not have"),
                }
                Ok(info.name)
            }
        }
    };
}

knobs! {
    /// Initial retransmission timeout, before any RTT sample (RFC 6298 §2.1).
    rto_initial_ms: u32 ["tcp_initial_rto", "TcpInitialRTT"],
    /// Lower bound of the retransmission timeout.
    rto_min_ms: u32 ["tcp_rto_min", "net.inet.tcp.rexmit_min", "MinRtoMs"],
    /// Upper bound of the retransmission timeout (and of its backoff).
    rto_max_ms: u32 ["tcp_rto_max"],
    /// Floor of the variance term in RTO = SRTT + max(4·RTTVAR, floor) + slop.
    rto_rttvar_floor_ms: u32,
    /// Constant added to every computed RTO (BSD's `rexmit_slop`).
    rto_slop_ms: u32 ["net.inet.tcp.rexmit_slop"],
    /// Delayed-ACK timeout.
    delack_ms: u32 ["net.inet.tcp.delacktime", "DelayedAckTimeout"],
    /// SYN retransmissions before connect() fails ETIMEDOUT.
    syn_retries: u32 ["tcp_syn_retries", "TcpMaxConnectRetransmissions"],
    /// SYN-ACK retransmissions before a half-open child is dropped.
    synack_retries: u32 ["tcp_synack_retries"],
    /// Data retransmissions before the connection is aborted with ETIMEDOUT.
    data_retries: u32 ["tcp_retries2", "TcpMaxDataRetransmissions"],
    /// Retransmissions (and zero-window probes) before an orphaned connection is dropped.
    orphan_retries: u32 ["tcp_orphan_retries"],
    /// Whether reaching the retransmission limit sends an RST.
    rst_on_retransmit_limit: bool,
    /// FIN-WAIT-2 timeout in seconds.
    fin_wait_2_timeout_s: u32 ["tcp_fin_timeout", "net.inet.tcp.finwait2_timeout", "TcpFinWait2Delay"],
    /// When the FIN-WAIT-2 timer is armed.
    fin_wait_2_timer: FinWait2Timer,
    /// What the FIN-WAIT-2 timer does when it expires.
    fin_wait_2_expiry: FinWait2Expiry,
    /// TIME-WAIT length (2·MSL) in seconds.
    time_wait_s: u32 ["TcpTimedWaitDelay"],
    /// Receive buffer size in octets; the advertised window is its free space.
    rcv_buf_bytes: u32 ["tcp_rmem", "SO_RCVBUF"],
    /// Send buffer size in octets; write() blocks (or fails EAGAIN) when it is full.
    snd_buf_bytes: u32 ["tcp_wmem", "SO_SNDBUF"],
    /// Initial congestion window in segments (RFC 6928).
    initial_cwnd_segs: u32 ["initcwnd"],
    /// close() of the last descriptor with received data unread.
    close_unread: CloseUnread,
    /// Whether out-of-order data waiting for reassembly counts as unread at close().
    close_unread_counts_ooo: bool,
    /// New data arriving after close() (an orphan in FIN-WAIT-1/2).
    data_after_close: DataAfterClose,
    /// shutdown(SHUT_RD) with received data unread.
    shut_rd_unread: ShutRdUnread,
    /// New data arriving after shutdown(SHUT_RD) on a socket still open.
    data_after_shut_rd: DataAfterShutRd,
    /// read() after shutdown(SHUT_RD) once nothing is left.
    read_after_shut_rd: ReadAfterShutRd,
    /// Unit of SO_LINGER's l_linger.
    linger_unit: LingerUnit,
    /// A blocking close() whose linger time runs out.
    linger_expiry: LingerExpiry,
    /// close() with linger {1, N} on a non-blocking socket.
    nonblocking_linger_close: NonblockingLinger,
    /// Process exit with descriptors still open.
    process_exit: ExitMode,
    /// Whether process exit skips the SO_LINGER wait.
    exit_skips_linger: bool,
    /// Whether process exit also resets connections the process already closed that still have unsent data.
    exit_drops_closed_pending: bool,
    /// Whether a received RST discards data still unread in the receive buffer.
    rst_discards_unread: bool,
    /// What write() returns after an RST was received.
    write_after_rst: WriteAfterRst,
    /// A SYN arriving at a listener whose accept queue is full.
    listen_overflow: ListenOverflow,
    /// How many established connections the accept queue holds for listen(backlog).
    accept_queue_limit: AcceptQueueLimit,
    /// An acceptable RST in TIME-WAIT.
    rst_in_time_wait: RstInTimeWait,
    /// A SYN for a connection in TIME-WAIT.
    syn_in_time_wait: SynInTimeWait,
    /// An RST answering our SYN.
    rst_to_syn: RstToSyn,
    /// SYN retries after an RST when `rst_to_syn` is `retry-syn`.
    refused_syn_retries: u32,
    /// RFC 5961: an in-window RST not exactly at RCV.NXT, or a SYN in a synchronized state, gets a challenge ACK.
    challenge_ack: bool ["net.inet.tcp.insecure_rst"],
}

impl Knobs {
    /// Finds a knob by canonical name or alias.
    pub fn lookup(name: &str) -> Result<&'static KnobInfo, KnobError> {
        let name = name.trim();
        Self::INFO
            .iter()
            .find(|i| i.name == name || i.aliases.contains(&name))
            .ok_or_else(|| KnobError::UnknownKnob {
                name: name.to_string(),
                suggestion: closest(
                    name,
                    Self::INFO
                        .iter()
                        .flat_map(|i| std::iter::once(i.name).chain(i.aliases.iter().copied())),
                ),
            })
    }
}

/// A TCP stack's teardown behaviour: a name, the release it models, and its knobs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Personality {
    /// Short name used on the command line and in scenario files (`linux`).
    pub name: Cow<'static, str>,
    /// The release modelled, e.g. "Linux 6.18".
    pub release: Cow<'static, str>,
    pub knobs: Knobs,
}

impl Personality {
    /// The built-in personality with this name.
    pub fn builtin(name: &str) -> Option<Personality> {
        match name {
            "linux" => Some(linux::linux()),
            _ => None,
        }
    }

    /// Names of the built-in personalities.
    pub const BUILTIN: &'static [&'static str] = &["linux"];

    /// Applies one override, recording where it came from.
    pub fn set(
        &mut self,
        name: &str,
        value: &str,
        origin: &str,
    ) -> Result<&'static str, KnobError> {
        self.knobs
            .set(name, value, Cow::Owned(format!("override: {origin}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_knob_has_a_source_and_doc() {
        let p = Personality::builtin("linux").unwrap();
        for info in Knobs::INFO {
            let (value, source) = p.knobs.get(info.name).expect(info.name);
            assert!(!value.is_empty(), "{}", info.name);
            assert!(source.len() > 10, "knob {} cites no source", info.name);
            assert!(!info.doc.is_empty());
        }
    }

    #[test]
    fn override_by_alias_and_errors_name_the_valid_values() {
        let mut p = Personality::builtin("linux").unwrap();
        assert_eq!(
            p.set("tcp_fin_timeout", "30", "test").unwrap(),
            "fin_wait_2_timeout_s"
        );
        assert_eq!(p.knobs.fin_wait_2_timeout_s.value, 30);
        assert!(p.knobs.fin_wait_2_timeout_s.source.contains("override"));
        p.set("listen_overflow", "rst-syn", "test").unwrap();
        assert_eq!(p.knobs.listen_overflow.value, ListenOverflow::RstSyn);

        let err = p.set("tcp_fin_timout", "30", "test").unwrap_err();
        assert_eq!(
            err,
            KnobError::UnknownKnob {
                name: "tcp_fin_timout".into(),
                suggestion: Some("tcp_fin_timeout")
            }
        );
        let err = p.set("listen_overflow", "explode", "test").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("drop-syn") && text.contains("handshake-then-rst"),
            "{text}"
        );
        let err = p.set("time_wait_s", "-1", "test").unwrap_err();
        assert!(err.to_string().contains("non-negative integer"));
    }
}
