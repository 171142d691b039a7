//! Threads of one process and steps ordered `after` others, per personality:
//! what a call blocked in one thread returns when another thread closes or
//! shuts down its socket (`close_while_blocked`), and when the connection
//! really closes. Linux's answers are checked against the kernel by
//! tests/real.rs (scenarios/thread-*.toml); the others follow the sources
//! cited in the knob.

use std::path::Path;
use std::sync::Arc;

/// A reader thread blocks in read at 5 ms (SO_RCVTIMEO 100 ms); the main
/// thread closes the descriptor at 20 ms. `reader` and `client` are the
/// expectations of the reader's read and of the client's read to EOF.
fn close_while_reading(personality: &str, reader: &str, client: &str) -> String {
    format!(
        r#"
[hosts.client]
personality = "linux"

[hosts.server]
personality = "{personality}"

[processes.reader]
host = "server"
thread_of = "server"

[script]
steps = [
  "0      server listen l 80",
  "-      server accept l as s",
  "-      server rcvtimeo s 100ms",
  "5ms    reader read s 1000  = {reader}",
  "20ms   server close s      = 0",
  "1ms    client connect c server:80",
  "-      client read c eof   = {client}",
]
"#
    )
}

/// The failed expectations of a scenario's run, as "expected → actual".
fn mismatches(text: &str) -> Vec<String> {
    let s = tcpsim::scenario::from_text("threads.toml", text, Path::new("."), &Default::default())
        .unwrap_or_else(|d| panic!("loads: {d:?}"));
    let v = sim::World::new(Arc::clone(&s.spec), false).run();
    tcpsim::scenario::step_mismatches(&s.spec, &v)
        .iter()
        .map(|m| format!("{m:?}"))
        .collect()
}

#[test]
fn a_close_from_another_thread_leaves_a_blocked_read_alone_on_linux_and_freebsd() {
    for p in ["linux", "freebsd"] {
        // The read runs to its SO_RCVTIMEO; the FIN leaves only when it returns.
        let text = close_while_reading(p, "EAGAIN blocked=100ms±1ms", "0 blocked=104ms±1ms");
        assert_eq!(mismatches(&text), Vec::<String>::new(), "{p}");
    }
}

#[test]
fn a_close_from_another_thread_fails_a_blocked_read_on_macos_and_winsock() {
    for (p, e) in [
        ("macos", "EBADF"),
        ("windows", "WSAEINTR"),
        ("winsock-xp", "WSAEINTR"),
    ] {
        // The read fails at the close (20 ms), which closes the connection then.
        let reader = format!("{e} blocked=15ms±1ms");
        let text = close_while_reading(p, &reader, "0 blocked=19ms±1ms");
        assert_eq!(mismatches(&text), Vec::<String>::new(), "{p}");
    }
}

#[test]
fn the_linux_answer_is_not_the_macos_one() {
    // The expectations above can fail: Linux's on macOS fails the reader's
    // result and time, and the client's time.
    let text = close_while_reading("macos", "EAGAIN blocked=100ms±1ms", "0 blocked=104ms±1ms");
    assert_eq!(mismatches(&text).len(), 3, "{:?}", mismatches(&text));
}

#[test]
fn a_thread_uses_sockets_its_sibling_accepted_and_exit_ends_it() {
    // The reader is blocked in read when the process exits: exit closes the
    // socket (the read's reference goes with the thread), the client reads EOF.
    let text = r#"
[hosts.client]
personality = "linux"

[hosts.server]
personality = "linux"

[processes.reader]
host = "server"
thread_of = "server"

[script]
steps = [
  "0      server listen l 80",
  "-      server accept l as s",
  "5ms    reader read s 1000",
  "-      reader write s 10",
  "20ms   server exit",
  "1ms    client connect c server:80",
  "-      client read c eof   = 0 blocked=19ms±1ms",
]
"#;
    assert_eq!(mismatches(text), Vec::<String>::new());
}

#[test]
fn after_starts_a_step_when_another_process_s_step_returns() {
    // The client's write waits for the server's third step (its read of the
    // first request), which returns at ~1.15 ms + the 10 ms the client
    // waits before writing: `after` follows it, not a guessed time.
    let text = r#"
[hosts.client]
personality = "linux"

[hosts.server]
personality = "linux"

[script]
steps = [
  "0              server listen l 80",
  "-              server accept l as s",
  "-              server read s 100 = 100",
  "-              server read s 100 = 50",
  "1ms            client connect c server:80",
  "+10ms          client write c 100 = 100",
  "after server#3 client sleep 2ms label=slept",
  "after slept+1ms client write c 50 = 50 blocked=0±1us",
  "after 4        client close c",
]
"#;
    assert_eq!(mismatches(text), Vec::<String>::new());
    // The second write goes 3 ms after the first read returned (11.15 ms):
    // the server's second read blocks from then until 14.2 ms.
    let timed = text.replace(
        "server read s 100 = 50\"",
        "server read s 100 = 50 blocked=3.05ms±10us\"",
    );
    assert_eq!(mismatches(&timed), Vec::<String>::new());
    let wrong = text.replace("after slept+1ms", "after slept+5ms").replace(
        "server read s 100 = 50\"",
        "server read s 100 = 50 blocked=3.05ms±10us\"",
    );
    assert_eq!(
        mismatches(&wrong).len(),
        1,
        "the delay after the label counts"
    );
}
