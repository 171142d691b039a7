//! A host's wake-up latency (`HostConfig::wake_latency`): a process blocked
//! in a call runs that long after the arrival that unblocked it, and reads
//! what arrived in the meantime too, as the kernel's reader does once the
//! scheduler runs it (scenarios/close-with-unread.toml under `--profile
//! lan`: two segments 8 µs apart, one read that takes both).

use super::*;

/// A blocked read, then two 1000-octet segments 8 µs apart; what the read
/// returns, and when (ns after the first segment).
fn read_two_segments(wake_latency_ns: u64) -> (Vec<CallResult>, u64) {
    let mut h = established();
    h.host.cfg.wake_latency = Duration::from_ns(wake_latency_ns);
    h.nonblocking(false);
    assert_eq!(h.read(100_000), None, "nothing to read yet: blocks");
    let first = h.now;
    h.send_data(1, 1, 1000);
    let mut got = h.woken();
    if got.is_empty() {
        h.now = first + Duration::from_ns(8_000);
        h.send_data(1001, 1, 1000);
        got = h.woken();
    }
    while got.is_empty() {
        let at = h.host.poll_at().expect("a wake-up is due");
        h.now = h.now.max(at);
        h.host.on_timers(h.now, &mut h.out);
        got = h.woken();
    }
    (got, h.now.saturating_since(first).as_ns())
}

#[test]
fn test_a_woken_reader_runs_after_the_wake_latency_and_takes_what_came_meanwhile() {
    assert_eq!(
        read_two_segments(36_000),
        (vec![Ok(2000)], 36_000),
        "woken 36 µs after the first segment, the read finds both"
    );
}

#[test]
fn test_without_a_wake_latency_the_reader_runs_at_the_first_arrival() {
    assert_eq!(read_two_segments(0), (vec![Ok(1000)], 0));
}

/// A blocking write of 100000 into the fixed 16384-octet buffer, then ACKs
/// of `acked` octets one after another: after each, the octets the writer
/// queued (the writer asleep on the full buffer).
fn writer_after_acks(p: Personality, acked: &[u32]) -> Vec<u64> {
    let mut h = established_with(p);
    h.nonblocking(false);
    assert_eq!(h.write(100_000), None, "the buffer fills: blocks");
    let written = |h: &H| h.sock().expect("connected").tcb.written;
    let mut before = written(&h);
    let mut una = 1;
    let mut took = Vec::new();
    for &n in acked {
        una += n;
        h.send(ACK, 1, una);
        let now = written(&h);
        took.push(now - before);
        before = now;
    }
    took
}

#[test]
fn test_write_wake_min_wspace_wakes_a_writer_once_a_third_of_the_buffer_is_free() {
    // 16384 queued: 2920 free (13464 queued) is less than half of it, 5840
    // free (10544 queued) is more (sk_stream_write_space's
    // __sk_stream_is_writeable: wspace ≥ wmem_queued / 2).
    let third = linux_with(&[
        ("snd_buf_tuning", "fixed"),
        ("snd_buf_whole_segments", "false"),
        ("write_wake_min_wspace", "true"),
    ]);
    assert_eq!(
        writer_after_acks(third, &[2920, 2920]),
        [0, 5840],
        "asleep at 2920 free, takes all 5840 once writable"
    );
    // Off (Linux's value for now: docs/real-kernel.md), any room wakes it.
    assert_eq!(
        writer_after_acks(fixed_snd_buf(), &[2920, 2920]),
        [2920, 2920]
    );
}
