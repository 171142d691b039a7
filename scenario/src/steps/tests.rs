use super::*;
use model::call::{Dest, SockOpt};
use model::{Errno, How, Instant};

fn ok(s: &str) -> StepDef {
    parse_step(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
}

#[test]
fn parses_the_documented_examples() {
    let s = ok("0ms server listen l 80 backlog=1");
    assert_eq!(s.at, At::Abs(Instant::ZERO));
    assert!(matches!(
        s.op,
        Op::Listen {
            port: Some(80),
            backlog: 1,
            ..
        }
    ));
    let s = ok("+0 client read c eof = ECONNRESET");
    assert_eq!(s.at, At::After(Duration::ZERO));
    assert_eq!(s.expect, Some(Expect::Error(Errno::ECONNRESET)));
    let s = ok("- client write c 64KiB = 65536");
    assert_eq!(s.at, At::Next);
    assert!(matches!(s.op, Op::Write { bytes: 65536, .. }));
    let s = ok("1ms client connect c server:80");
    match s.op {
        Op::Connect {
            to: Dest { host, port },
            ..
        } => {
            assert_eq!((host.text.as_str(), port), ("server", 80));
            assert_eq!(host.at, 21..27);
        }
        _ => panic!(),
    }
    assert!(matches!(ok("0 w closesocket s").op, Op::Close { .. }));
    assert!(matches!(ok("0 w WSACleanup").op, Op::Exit {}));
    assert!(matches!(
        ok("0 w shutdown s SD_BOTH").op,
        Op::Shutdown { how: How::RdWr, .. }
    ));
    assert_eq!(
        ok("0 w read s 10 = WSAECONNRESET").expect,
        Some(Expect::Error(Errno::ECONNRESET))
    );
}

#[test]
fn a_poll_over_several_sockets_parses_and_prints_back() {
    let line = "0 w poll l,s,t POLLIN timeout=10ms = 0,POLLIN|POLLHUP,POLLNVAL";
    let s = ok(line);
    let Op::Poll { sock, also, .. } = &s.op else {
        panic!("{:?}", s.op)
    };
    let names: Vec<&str> = also.iter().map(|t| t.text.as_str()).collect();
    assert_eq!((sock.text.as_str(), names), ("l", vec!["s", "t"]));
    assert_eq!(
        also.iter().map(|t| t.at.clone()).collect::<Vec<_>>(),
        [11..12, 13..14]
    );
    let lanes = 0x11 << 16 | 0x20 << 32;
    assert_eq!(s.expect, Some(Expect::ReventsEach(lanes, 3)));
    assert!(
        s.to_string().contains("poll l,s,t POLLIN timeout=10ms"),
        "{s}"
    );
    assert!(s.to_string().contains("= 0,POLLIN|POLLHUP,POLLNVAL"), "{s}");
    assert_eq!(ok("0 w poll l,s POLLIN = 0").expect, Some(Expect::Value(0)));
    let e = parse_step("0 w poll l,s POLLIN = POLLIN").unwrap_err();
    assert!(e.message.contains("watches 2 sockets"), "{e:?}");
    let e = parse_step("0 w poll l,s POLLIN = POLLIN,0,0").unwrap_err();
    assert!(e.message.contains("name 3"), "{e:?}");
    let s = ok("0 w select l,s readfds|writefds timeout=0 = 0,readfds|writefds");
    assert_eq!(s.expect, Some(Expect::SetsEach(0x3 << 16, 2)));
    assert!(
        s.to_string()
            .contains("select l,s readfds|writefds timeout=0"),
        "{s}"
    );
    assert!(s.to_string().contains("= 0,readfds|writefds"), "{s}");
    let e = parse_step("0 w select l,s readfds = POLLIN,0").unwrap_err();
    assert!(e.message.contains("result is sets"), "{e:?}");
    assert_eq!(
        ok("0 w poll l,s POLLIN = EINTR").expect,
        Some(Expect::Error(Errno::EINTR))
    );
    let e = parse_step("0 w poll l, POLLIN").unwrap_err();
    assert_eq!(e.at, 11..12);
}

#[test]
fn new_calls_and_expectations_parse() {
    let s = ok("0 w poll s POLLIN|POLLRDHUP timeout=300ms = POLLIN|POLLHUP blocked=1s±10ms");
    assert!(matches!(
        s.op,
        Op::Poll {
            events: 0x2001,
            timeout: Some(_),
            ..
        }
    ));
    assert_eq!(s.expect, Some(Expect::Revents(0x11)));
    let w = s.blocked.unwrap();
    assert_eq!((w.ns.as_ms(), w.tolerance_ns.as_ms()), (1000, 10));
    let s = ok("0 w read s eof = 500+ECONNRESET");
    assert_eq!(
        s.expect,
        Some(Expect::ReadThenError(500, Errno::ECONNRESET))
    );
    assert!(matches!(
        ok("0 w ioctl s SIOCINQ").op,
        Op::Getsockopt {
            opt: SockOpt::InQ,
            ..
        }
    ));
    let e = parse_step("0 w poll s POLLIN|POLLWHAT").unwrap_err();
    assert_eq!(e.at, 11..26);
    let e = parse_step("0 w getsockopt s SO_WHAT").unwrap_err();
    assert!(e.help.unwrap().contains("FIONREAD"));
    let e = parse_step("0 w read s eof = 5 blocked=1s").unwrap_err();
    assert!(e.message.contains("no tolerance"), "{e:?}");
    let e = parse_step("0 w read s 10 timeout=soon").unwrap_err();
    assert_eq!(e.at, 22..26);
}

#[test]
fn errors_point_at_the_word_and_help() {
    let e = parse_step("0ms client conect c server:80").unwrap_err();
    assert_eq!(e.at, 11..17);
    assert!(e.help.unwrap().contains("did you mean `connect`"));
    let e = parse_step("10 client close c").unwrap_err();
    assert_eq!(e.at, 0..2);
    let e = parse_step("0ms client write c").unwrap_err();
    assert!(e.message.contains("needs a size"), "{e:?}");
    let e = parse_step("0ms client close c d").unwrap_err();
    assert_eq!(e.at, 19..20);
    let e = parse_step("0ms client read c 10 = EWHAT").unwrap_err();
    assert_eq!(e.at, 23..28);
}

#[test]
fn inject_reads_a_packet_line_with_its_expectation() {
    let s = ok("0 peer inject a P. 1:101(100) ack 1 <nop,TS val 5 ecr 6> = ok");
    let Op::Inject { sock, seg } = s.op else {
        panic!("{:?}", s.op)
    };
    assert_eq!(sock.text, "a");
    assert_eq!(
        (seg.seq, seg.len, seg.ack, seg.win),
        (1, 100, Some(1), None)
    );
    assert!(seg.ts && seg.flags.has(model::Flags::PSH) && seg.flags.ack());
    assert_eq!(s.expect, Some(Expect::Ok));
    // An error points into the packet, with the packetdrill spelling as the hint.
    let e = parse_step("0 peer inject a P. 1:101 ack 1").unwrap_err();
    assert_eq!(&"0 peer inject a P. 1:101 ack 1"[e.at.clone()], "ack");
    assert!(e.message.contains("`(len)`"), "{e:?}");
    assert!(e.help.unwrap().contains("packetdrill"));
    for (bad, why) in [
        ("0 p inject a S. ...(0)", "any"),
        ("0 p inject a S 0:0(0) <wscale 7>", "window scaling"),
        ("0 p inject a P. 1:5(10) ack 1", "end - start"),
        ("0 p inject a .E 1:1(0)", "ECN"),
        ("0 p inject a . 1:1(0) <...>", "`<...>`"),
        ("0 p inject a", "needs a packet line"),
    ] {
        let e = parse_step(bad).unwrap_err();
        assert!(e.message.contains(why), "{bad}: {e:?}");
    }
}

#[test]
fn display_round_trips() {
    for s in [
        "0 server listen l 80 backlog=1",
        "+10ms client connect c server:80",
        "- client write c 1000 = 1000",
        "+0 client read c eof = ECONNRESET",
        "1s server shutdown s rdwr",
        "+0 server linger s 0",
        "+0 server linger s off",
        "+0 server nonblocking s off",
        "+0 server dup s as t",
        "+0 server fork child = ok",
        "+0 server exit",
        "+0 server sleep 5s",
        "+0 server rcvbuf s 4096",
        "+0 server poll s POLLIN|POLLRDHUP timeout=300ms = POLLIN|POLLHUP",
        "+0 server poll s POLLIN = 0 blocked=1s±10ms",
        "+0 server read s eof timeout=300ms = 500+ECONNRESET blocked=300ms±1ms",
        "+0 server write s 1000 timeout=1s",
        "+0 server getsockopt s SO_ERROR = ECONNRESET",
        "+0 server ioctl s FIONREAD = 500",
        "+0 server rcvtimeo s 200ms",
        "+0 server sndtimeo s 1s",
        "after drained server close s",
        "after server#3+5ms client read c eof label=got = 500",
        "after 2 client close c",
        "+0 server inject s S 0:0(0) win 65535 <mss 1460>",
        "+0 server inject s P. 1:101(100) ack 1 win 1000 <mss 536,TS val 0 ecr 0> = ok",
        "+0 server inject s R 1001:1001(0)",
        "+0 server inject s F. 1:1(0) ack 1",
    ] {
        let a = ok(s);
        let b = ok(&a.to_string());
        assert_eq!(a.to_string(), b.to_string(), "{s}");
        assert_eq!(
            format!("{:?}", a.op).replace(char::is_numeric, ""),
            format!("{:?}", b.op).replace(char::is_numeric, "")
        );
    }
}
