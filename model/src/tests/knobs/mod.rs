//! One test per personality knob: the same scenario with the knob flipped (via
//! `Personality::set`, as `--set` does) behaves differently, in the way the
//! knob's documentation says. `test_every_knob_has_a_flip_test` fails when a
//! knob is added without one.

use super::*;
use crate::call::SockOpt;
use crate::event::{Buffer, DiscardCause, RstCause};
use crate::personality::Knobs;
use crate::Errno;

// One file a group of knobs.
mod buffers;
mod close;
mod freebsd_suite;
mod handshake;
mod listen_time_wait;
mod timers;
mod waits;

const NO_SEGMENTS: [&str; 0] = [];

/// The knobs tested here; `error_names` only renames errnos in reports and is
/// tested where they are rendered (sim/tests/linux.rs).
pub(super) const TESTED: &[&str] = &[
    "rto_initial_ms",
    "rto_min_ms",
    "rto_max_ms",
    "rto_rttvar_floor_ms",
    "rto_slop_ms",
    "tail_loss_probe",
    "delack_ms",
    "quickack_segs",
    "ack_pingpong",
    "ack_resends_fin",
    "old_segment_acks",
    "old_data_ack_snd_check",
    "syn_retries",
    "syn_linear_timeouts",
    "connect_timeout_s",
    "synack_retries",
    "data_retries",
    "orphan_retries",
    "persist_timer",
    "rst_on_retransmit_limit",
    "rst_window_zero",
    "abort_rst_after_fin",
    "fin_wait_2_timeout_s",
    "fin_wait_2_timer",
    "fin_wait_2_expiry",
    "time_wait_s",
    "rcv_buf_bytes",
    "rcvbuf_setsockopt_factor",
    "rcv_wnd_initial_pct",
    "rcv_wnd_pct",
    "rcv_wnd_rounding",
    "rcv_wnd_update",
    "tcp_window_scaling",
    "tcp_rmem_max_bytes",
    "rcv_ssthresh_growth",
    "tcp_moderate_rcvbuf",
    "scaling_ratio_loopback",
    "ack_needs_window_advance",
    "snd_wnd_full_segment",
    "syncache_wnd_clip",
    "buf_mss_roundup",
    "tcp_timestamps",
    "snd_buf_bytes",
    "snd_buf_tuning",
    "snd_buf_max_bytes",
    "tcp_check_space_nospace",
    "snd_buf_whole_segments",
    "write_wake_min_wspace",
    "sndbuf_setsockopt_factor",
    "setsockopt_buf_min_bytes",
    "gso",
    "loopback_delivers_in_call", // sim/tests/loopback.rs: the world delivers
    "slow_start_counts_acked",
    "initial_cwnd_segs",
    "nagle",
    "psh_ends_burst",
    "cork_option",
    "close_unread",
    "close_unread_counts_ooo",
    "data_after_close",
    "shut_rd_unread",
    "data_after_shut_rd",
    "read_after_shut_rd",
    "linger_unit",
    "linger_storage",
    "linger_expiry",
    "nonblocking_linger_close",
    "process_exit",
    "exit_skips_linger",
    "exit_drops_closed_pending",
    "rst_discards_unread",
    "rst_error_after_fin",
    "write_after_rst",
    "read_after_rst",
    "listen_overflow",
    "accept_queue_limit",
    "listener_rsts_synack",
    "drop_synfin",
    "syn_sent_keeps_syn_data",
    "rst_in_time_wait",
    "rst_after_reset",
    "syn_in_time_wait",
    "time_wait_needs_ack",
    "reuseaddr_bind",
    "rst_to_syn",
    "refused_syn_retries",
    "refused_syn_retry_ms",
    "challenge_ack",
    "syn_challenge_ack",
    "rst_seq_match",
    "keepalive_idle_s",
    "keepalive_intvl_s",
    "keepalive_probes",
    "keepalive_rst",
    "poll_style",
    "select_style",
    "query_style",
    "timeo_error",
    "accept_timeo",
    "close_while_blocked",
    "error_names",
];

#[test]
fn test_every_knob_has_a_flip_test() {
    let all: Vec<&str> = Knobs::INFO.iter().map(|i| i.name).collect();
    assert_eq!(all, TESTED, "add a test_knob_<name> for each new knob");
}

fn set(knob: &str, value: &str) -> Personality {
    linux_with(&[(knob, value)])
}

fn linger(h: &mut H, secs: u32) {
    let fd = h.fd;
    assert_eq!(
        h.call(Call::Linger {
            sock: fd,
            linger: Some(secs)
        }),
        Some(Ok(0))
    );
}
