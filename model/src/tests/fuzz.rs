//! Any segment, in any state: seeded random segments (any flag combination,
//! sequence and acknowledgment numbers near and far from the expected ones,
//! payload or not), socket calls and timer runs, thrown at every fixture. The
//! model must neither panic (its own assertions included) nor break the TCB's
//! ordering; the seed of a failure is in its message.

use super::*;
use crate::host::splitmix64;

/// Random draws from a seed (SplitMix64 steps; the model has no RNG of its own).
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = splitmix64(self.0);
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

const FIXTURES: &[Scenario] = &[
    ("LISTEN", listen),
    ("SYN-SENT", syn_sent),
    ("SYN-RECEIVED", syn_received),
    ("ESTABLISHED", established),
    ("ESTABLISHED (passive)", established_passive),
    ("FIN-WAIT-1", fin_wait_1),
    ("FIN-WAIT-1 (half)", fin_wait_1_half),
    ("FIN-WAIT-2", fin_wait_2),
    ("CLOSING", closing),
    ("TIME-WAIT", time_wait),
    ("CLOSE-WAIT", close_wait),
    ("LAST-ACK", last_ack),
];

/// A relative number near the interesting ones (0, 1, 2, a few hundred) or anywhere.
fn near(d: &mut Draw) -> u32 {
    match d.below(4) {
        0 => d.below(4) as u32,
        1 => d.below(3000) as u32,
        2 => (d.below(200) as u32).wrapping_sub(100),
        _ => d.next() as u32,
    }
}

fn random_segment(h: &H, d: &mut Draw) -> Segment {
    let flags = Flags(d.below(32) as u8);
    let mut seg = h.peer(flags, near(d), near(d));
    seg.ack = Seq(h.our_iss.wrapping_add(near(d)));
    seg.len = if d.chance(1, 3) {
        d.below(3000) as u32
    } else {
        0
    };
    seg.wnd = if d.chance(1, 5) {
        0
    } else {
        d.below(200_000) as u32
    };
    if d.chance(1, 20) {
        seg.src.port = 1 + d.below(3) as u16; // another connection entirely
    }
    seg
}

fn random_call(h: &mut H, d: &mut Draw) {
    let fd = h.fd;
    let call = match d.below(8) {
        0 => Call::Write {
            sock: fd,
            bytes: d.below(5000),
            more: false,
            timeout: None,
        },
        1 => Call::Read {
            sock: fd,
            len: ReadLen::Bytes(d.below(5000)),
            timeout: None,
        },
        2 => Call::Shutdown {
            sock: fd,
            how: [How::Rd, How::Wr, How::RdWr][d.below(3) as usize],
        },
        3 => Call::Close { sock: fd },
        4 => Call::Linger {
            sock: fd,
            linger: [None, Some(0), Some(1)][d.below(3) as usize],
        },
        5 => Call::Accept { sock: fd, new: () },
        6 => Call::Connect {
            sock: fd,
            to: h.remote.into(),
        },
        _ => Call::RcvBuf {
            sock: fd,
            bytes: d.below(10_000) as u32,
        },
    };
    // Only a process that is not blocked may call; the harness's process is
    // non-blocking, but a linger close blocks it.
    if h.host.procs[h.pid as usize].blocked.is_none() {
        h.call(call);
    }
}

/// Forty random actions on `h`, checking the send sequence after each.
fn shake(mut h: H, d: &mut Draw, label: &str) {
    for step in 0..40 {
        match d.below(10) {
            0..=6 => {
                let seg = random_segment(&h, d);
                h.inject(seg);
            }
            7 => random_call(&mut h, d),
            _ => h.advance_ms(d.below(70_000)),
        }
        h.flush();
        for (_, s) in h.host.sockets() {
            let t = &s.tcb;
            assert!(
                t.snd_una <= t.snd_nxt,
                "{label} step {step}: snd_una > snd_nxt: {t:?}"
            );
            assert!(
                t.snd_nxt <= t.snd_max,
                "{label} step {step}: snd_nxt > snd_max: {t:?}"
            );
        }
    }
}

#[test]
fn test_any_state_survives_random_segments_calls_and_timers() {
    for seed in 0..300u64 {
        for (name, fixture) in FIXTURES {
            let mut d = Draw(seed.wrapping_mul(0x9e37_79b9) ^ name.len() as u64);
            shake(fixture(), &mut d, &format!("{name} seed {seed}"));
        }
    }
}

/// ESTABLISHED after 5 GiB each way (`wrap::past_2_pow_32`), every position
/// past 2^32: the harness counts its relative numbers from the edges, so the
/// draws land around RCV.NXT and SND.UNA, where a wrong mapping would show.
#[test]
fn test_past_2_pow_32_survives_random_segments_calls_and_timers() {
    let mut long = super::wrap::past_2_pow_32();
    let t = &long.s().tcb;
    let (ours, peers) = (t.snd_seq(t.snd_una - 1), t.rcv_seq(t.rcv_nxt - 1));
    (long.our_iss, long.peer_iss) = (ours.0, peers.0);
    for seed in 0..300u64 {
        let h = long.clone();
        let mut d = Draw(seed ^ 0x5eed_0002_0000_0000);
        shake(h, &mut d, &format!("past 2^32 seed {seed}"));
    }
}

/// The fixtures again, under every built-in personality (other knob values take
/// other paths: challenge ACKs off, data after close discarded, SYN retries…).
fn fixtures_for(p: &Personality) -> Vec<(&'static str, H)> {
    let p = || p.clone();
    vec![
        ("LISTEN", listen_with(p(), 2)),
        ("SYN-SENT", syn_sent_from(closed_with(p()))),
        ("SYN-RECEIVED", syn_received_from(listen_with(p(), 2))),
        ("ESTABLISHED", established_with(p())),
        ("ESTABLISHED (passive)", established_passive_with(p())),
        ("FIN-WAIT-1", fin_wait_1_from(established_with(p()))),
        (
            "FIN-WAIT-2",
            fin_wait_2_from(fin_wait_1_from(established_with(p()))),
        ),
        ("CLOSE-WAIT", close_wait_from(established_with(p()))),
    ]
}

#[test]
fn test_any_state_survives_random_input_in_every_personality() {
    for name in Personality::BUILTIN {
        let p = Personality::builtin(name).expect("builtin");
        for seed in 0..60u64 {
            for (state, h) in fixtures_for(&p) {
                let mut d = Draw(seed ^ (state.len() as u64) << 32 ^ name.len() as u64);
                shake(h, &mut d, &format!("{name} {state} seed {seed}"));
            }
        }
    }
}

/// Fuzz target `endpoint` (docs/limits.md#fuzzing): data queued out of order
/// beyond a FIN that then arrives in order stayed queued past the end of the
/// stream, in CLOSE-WAIT. Linux drops it with the FIN (tcp_input.c tcp_fin).
#[test]
fn test_out_of_order_data_past_an_in_order_fin_is_dropped() {
    let mut h = established();
    h.send_data(101, 1, 10);
    assert_eq!(h.s().tcb.ooo.len(), 1, "queued out of order");
    h.send(FIN | ACK, 1, 1);
    assert_eq!(h.state(), State::CloseWait);
    assert!(h.s().tcb.ooo.is_empty() && h.s().tcb.ooo_fin.is_none());
    assert_eq!(h.host.invariant_violation(), None);
}

/// Fuzz target `endpoint`: in CLOSE-WAIT, a second FIN beyond the first was
/// kept as an out-of-order FIN past the end of the stream. It is ignored
/// (re-ACKed), as Linux ignores anything at or after RCV.NXT there.
#[test]
fn test_a_second_fin_beyond_the_first_is_ignored() {
    let mut h = established();
    h.send(FIN | ACK, 1, 1);
    assert_eq!(h.state(), State::CloseWait);
    h.flush();
    h.send(FIN | ACK, 50, 1);
    assert_eq!(h.state(), State::CloseWait);
    assert!(h.s().tcb.ooo_fin.is_none());
    assert_eq!(h.host.invariant_violation(), None);
}
