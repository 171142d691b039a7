//! A generated case as a scenario file: the client/server skeleton, each
//! side's tail of calls renamed from the generator's names to the scenario's
//! words, forked children, the network section.

use super::*;
use crate::scenario::file::{
    HostDef, Keyed, LinkDef, NetworkDef, PartitionDef, ProcDef, ScenarioFile,
};
use crate::scenario::steps::{AfterRef, Op, StepDef, Text, Tok};
use crate::units::format_duration;
use model::{Dest, Duration, Instant, ReadLen, Rename};
use sim::spec::At;
use toml::Spanned;

fn sp(s: impl Into<String>) -> Spanned<String> {
    Spanned::new(0..0, s.into())
}

fn tok(s: &str) -> Tok {
    Tok {
        text: s.to_string(),
        at: 0..0,
    }
}

fn at(w: Wait) -> At {
    match w {
        Wait::Now => At::Next,
        Wait::Ms(ms) => At::After(Duration::from_ms(ms as u64)),
    }
}

fn ms(v: u32) -> String {
    format_duration(Duration::from_ms(v as u64))
}

fn permille(v: u32) -> String {
    if v.is_multiple_of(10) {
        format!("{}%", v / 10)
    } else {
        format!("{}.{}%", v / 10, v % 10)
    }
}

struct Emit {
    lines: Vec<Spanned<String>>,
    /// The same steps, parsed: the fuzzer resolves these instead of parsing
    /// `lines` back (each line is the step's canonical `Display`).
    steps: Vec<StepDef>,
}

impl Emit {
    fn push(&mut self, at: At, proc: &str, op: Op) {
        self.push_step(at, None, None, proc, op);
    }

    /// A step with `after` and `label` as given.
    fn push_step(&mut self, at: At, after: Option<&str>, label: Option<&str>, proc: &str, op: Op) {
        let after = after.map(|t| AfterRef {
            target: tok(t),
            plus: Duration::ZERO,
            word: tok(t),
        });
        let s = StepDef {
            at,
            after,
            label: label.map(tok),
            proc: tok(proc),
            op,
            expect: None,
            blocked: None,
            segment: None,
        };
        // The line's text is made only when the file is written
        // (`Compiled::text_file`): an empty String costs no allocation.
        self.lines.push(sp(String::new()));
        self.steps.push(s);
    }

    /// An explicit `socket` with the side's buffer options, when it sets
    /// any (otherwise `listen` or `connect` creates the socket). True if
    /// it emitted the socket.
    fn socket_with_buffers(&mut self, at: At, proc: &str, sock: &str, side: &Side) -> bool {
        if side.rcvbuf.is_none() && side.sndbuf.is_none() {
            return false;
        }
        self.push(at, proc, Op::Socket { new: tok(sock) });
        if let Some(b) = side.rcvbuf {
            let op = Op::RcvBuf {
                sock: tok(sock),
                bytes: b,
            };
            self.push(At::Next, proc, op);
        }
        if let Some(b) = side.sndbuf {
            let op = Op::SndBuf {
                sock: tok(sock),
                bytes: b,
            };
            self.push(At::Next, proc, op);
        }
        true
    }

    /// The server's skeleton at 0: buffer options on the listener
    /// (accepted sockets inherit them), `listen`, `accept`.
    fn server_skeleton(&mut self, s: &Side) {
        let explicit = self.socket_with_buffers(At::Abs(Instant::ZERO), SERVER, "l", s);
        let listen = Op::Listen {
            sock: tok("l"),
            port: Some(80),
            backlog: 128,
        };
        self.push(
            if explicit {
                At::Next
            } else {
                At::Abs(Instant::ZERO)
            },
            SERVER,
            listen,
        );
        let accept = Op::Accept {
            sock: tok("l"),
            new: tok("s"),
        };
        let label = s.reader.then_some(READY_LABEL[1]);
        self.push_step(At::Next, None, label, SERVER, accept);
    }

    /// The client's skeleton: buffer options at 0, `connect` at 1 ms.
    fn client_skeleton(&mut self, c: &Side) {
        self.socket_with_buffers(At::Abs(Instant::ZERO), CLIENT, "c", c);
        let connect = Op::Connect {
            sock: tok("c"),
            to: Dest {
                host: tok(SERVER),
                port: 80,
            },
        };
        let label = c.reader.then_some(READY_LABEL[0]);
        let at = At::Abs(Instant::ZERO + Duration::from_ms(1));
        self.push_step(at, None, label, CLIENT, connect);
    }

    /// The reader thread's one step: `read eof` once the connection is set up.
    fn reader(&mut self, thread: &str, ready: &str, sock: &str) {
        let op = Op::Read {
            sock: tok(sock),
            len: ReadLen::Eof,
            timeout: None,
        };
        self.push_step(At::Next, Some(ready), None, thread, op);
    }

    /// A tail of calls on socket `c` (and `c2`) of process `proc`.
    /// `owner` is (process name, process id); `children` collects forks.
    fn tail(
        &mut self,
        owner: (&str, u16),
        child: &str,
        sock: &str,
        steps: &[Step],
        eof: &mut Vec<(u16, u32)>,
        children: &mut Vec<(String, Vec<Step>)>,
    ) {
        let (proc, proc_id) = owner;
        let mut names = GenText {
            sock,
            dup: format!("{sock}2"),
            child,
            children,
        };
        for s in steps {
            if let Call::Read {
                len: ReadLen::Eof, ..
            } = s.call
            {
                eof.push((proc_id, self.lines.len() as u32));
            }
            let op = s.call.rename(&mut names);
            self.push(at(s.wait), proc, op);
        }
    }
}

/// A side's generated names as the scenario's words; a fork's steps are
/// collected to become the child's.
struct GenText<'a> {
    sock: &'a str,
    dup: String,
    child: &'a str,
    children: &'a mut Vec<(String, Vec<Step>)>,
}

impl Rename<Gen, Text> for GenText<'_> {
    fn sock(&mut self, s: &Sock) -> Tok {
        match s {
            Sock::Main => tok(self.sock),
            Sock::Dup => tok(&self.dup),
            Sock::Listener => tok("l"),
        }
    }
    fn new_sock(&mut self, s: &Sock) -> Tok {
        self.sock(s)
    }
    fn host(&mut self, _: &()) -> Tok {
        tok(SERVER)
    }
    fn proc(&mut self, steps: &Vec<Step>) -> Tok {
        self.children.push((self.child.to_string(), steps.clone()));
        tok(self.child)
    }
}

/// The scenario file of a case, where its steps are, and the steps already
/// parsed (the fuzzer resolves those instead of reading the lines back).
pub fn to_file(case: &Case) -> (ScenarioFile, Layout, Vec<StepDef>) {
    let mut f = ScenarioFile::default();
    for (name, side) in [(CLIENT, &case.client), (SERVER, &case.server)] {
        f.hosts.insert(
            name.to_string(),
            HostDef {
                personality: sp(side.personality.clone()),
                set: Keyed::default(),
                mtu: None,
                isn: None,
                port: None,
                connect: None,
                tolerance: None,
            },
        );
    }
    f.scenario.seed = Some(case.seed);
    f.network = network_def(&case.net);
    let child_ids = fork_children(case, &mut f.processes);
    // Room for every step at once (the skeleton's are at most 11): no copy
    // of the steps as the vectors grow.
    let n = case.steps() + 11;
    let mut e = Emit {
        lines: Vec::with_capacity(n),
        steps: Vec::with_capacity(n),
    };
    let mut layout = Layout::default();
    e.server_skeleton(&case.server);
    e.client_skeleton(&case.client);
    let mut children = Vec::new();
    let [ce, se] = &mut layout.read_eof;
    e.tail(
        (CLIENT, 0),
        CLIENT_CHILD,
        "c",
        &case.client.steps,
        ce,
        &mut children,
    );
    e.tail(
        (SERVER, 1),
        SERVER_CHILD,
        "s",
        &case.server.steps,
        se,
        &mut children,
    );
    for (child, steps) in children {
        let (side, sock, id) = if child == CLIENT_CHILD {
            (0, "c", child_ids[0])
        } else {
            (1, "s", child_ids[1])
        };
        let mut nested = Vec::new();
        let eof = &mut layout.read_eof[side];
        e.tail((&child, id), "", sock, &steps, eof, &mut nested);
    }
    reader_threads(case, &mut f.processes, &mut e);
    f.script.steps = e.lines;
    (f, layout, e.steps)
}

/// Labels of the steps after which each side's connection exists (client, server).
const READY_LABEL: [&str; 2] = ["connected", "accepted"];

/// Declares each side's reader thread (after the forked children, so their
/// process ids stay as `fork_children` gave them) and emits its step.
fn reader_threads(case: &Case, processes: &mut Keyed<ProcDef>, e: &mut Emit) {
    let sides = [(&case.client, CLIENT, "c"), (&case.server, SERVER, "s")];
    for (i, (side, owner, sock)) in sides.into_iter().enumerate() {
        if !side.reader {
            continue;
        }
        let thread = format!("{owner}-reader");
        let def = ProcDef {
            host: sp(owner),
            forked_from: None,
            thread_of: Some(sp(owner)),
        };
        processes.insert(thread.clone(), def);
        e.reader(&thread, READY_LABEL[i], sock);
    }
}

/// The `[network]` section of a case's network conditions.
fn network_def(n: &Net) -> NetworkDef {
    NetworkDef {
        profile: None,
        link: LinkDef {
            delay: n
                .delay_us
                .map(|v| sp(format_duration(Duration::from_ns(v * 1000)))),
            jitter: n
                .jitter_us
                .map(|v| sp(format_duration(Duration::from_ns(v * 1000)))),
            loss: n.loss.map(|v| sp(permille(v))),
            duplicate: n.duplicate.map(|v| sp(permille(v))),
            reorder: n.reorder.map(|v| sp(permille(v))),
            reorder_delay: None,
        },
        links: Default::default(),
        drop: Vec::new(),
        partition: n.partition.iter().map(partition_def).collect(),
        fault: Vec::new(),
    }
}

/// A generated partition as a `[[network.partition]]` entry (times in ms).
fn partition_def(p: &PartitionGen) -> PartitionDef {
    PartitionDef {
        from: sp(ms(p.from_ms)),
        until: sp(ms(p.from_ms + p.len_ms.max(1))),
        direction: match p.dir {
            1 => Some(sp("client->server")),
            2 => Some(sp("server->client")),
            _ => None,
        },
    }
}

/// Declares a child process for each side that forks, and returns the
/// children's process ids (client 0, server 1, then children in
/// declaration order; 0 for a side that does not fork).
fn fork_children(case: &Case, processes: &mut Keyed<ProcDef>) -> [u16; 2] {
    let forks = |s: &Side| {
        s.steps
            .iter()
            .any(|s| matches!(s.call, Call::Fork { child: _ }))
    };
    let mut next_id = 2u16;
    let mut child_ids = [0u16; 2];
    for (i, (side, child, parent)) in [
        (&case.client, CLIENT_CHILD, CLIENT),
        (&case.server, SERVER_CHILD, SERVER),
    ]
    .into_iter()
    .enumerate()
    {
        if forks(side) {
            processes.insert(
                child.to_string(),
                ProcDef {
                    host: sp(parent),
                    forked_from: Some(sp(parent)),
                    thread_of: None,
                },
            );
            child_ids[i] = next_id;
            next_id += 1;
        }
    }
    child_ids
}
