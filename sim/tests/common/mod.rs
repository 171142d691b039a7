//! Shared by the integration tests: a client/server world builder and a run
//! that prints its seed, ladder and verdict if the test fails.

#![allow(dead_code)]

use model::{Dest, Event, Instant, Personality, RstCause};
use sim::{report, Action, Entry, SpecBuilder, Verdict, What, World, WorldSpec};
use std::sync::Arc;

pub const CLIENT: u16 = 0;
pub const SERVER: u16 = 1;
pub const PORT: u16 = 80;

pub fn linux() -> Personality {
    Personality::builtin("linux").expect("linux")
}

/// A client and a server host (both Linux), slots `l` (listener), `s` (the
/// server's connection) and `c` (the client's).
pub struct World2 {
    pub b: SpecBuilder,
    pub l: u16,
    pub s: u16,
    pub c: u16,
}

impl World2 {
    pub fn new(seed: u64) -> World2 {
        World2::with(seed, linux(), linux())
    }

    pub fn with(seed: u64, client: Personality, server: Personality) -> World2 {
        let mut b = SpecBuilder::new(seed);
        b.host("client", client);
        b.host("server", server);
        let (l, s, c) = (b.slot("l"), b.slot("s"), b.slot("c"));
        World2 { b, l, s, c }
    }

    /// The server listens on port 80 at t = 0 and accepts one connection.
    pub fn listen_accept(&mut self) {
        let (l, s) = (self.l, self.s);
        self.b.at(
            0,
            "server",
            Action::Listen {
                sock: l,
                port: Some(PORT),
                backlog: 16,
            },
        );
        self.b.then("server", Action::Accept { sock: l, new: s });
    }

    /// The client connects at t = 1 ms.
    pub fn connect(&mut self) {
        let c = self.c;
        self.b.at(
            1,
            "client",
            Action::Connect {
                sock: c,
                to: Dest {
                    host: SERVER,
                    port: PORT,
                },
            },
        );
    }

    pub fn run(&self) -> Run {
        Run::new(self.b.build())
    }
}

/// A finished run; on a failing test it prints what reproduces it.
pub struct Run {
    pub spec: Arc<WorldSpec>,
    pub world: World,
    pub verdict: Verdict,
}

impl Run {
    pub fn new(spec: WorldSpec) -> Run {
        let spec = Arc::new(spec);
        let mut world = World::new(Arc::clone(&spec), true);
        let verdict = world.run();
        Run {
            spec,
            world,
            verdict,
        }
    }

    pub fn trace(&self) -> &[Entry] {
        self.world.trace()
    }

    pub fn ladder(&self) -> String {
        report::ladder(&self.spec, self.trace())
    }

    /// The RSTs sent: (sending host, cause).
    pub fn rsts(&self) -> Vec<(u16, RstCause)> {
        self.verdict
            .resets
            .iter()
            .filter_map(|r| Some((r.from.host, r.cause.known()?)))
            .collect()
    }

    /// Model events of one host, with their times.
    pub fn events(&self, host: u16) -> Vec<(Instant, Event)> {
        self.trace()
            .iter()
            .filter(|e| e.host == host)
            .filter_map(|e| match e.what {
                What::Model { event } => Some((e.t_ns, event)),
                _ => None,
            })
            .collect()
    }

    /// Segments sent by `host` with all of `flags`, with their send times.
    pub fn sent(&self, host: u16, flags: model::Flags) -> Vec<(Instant, model::Segment)> {
        self.trace()
            .iter()
            .filter_map(|e| match e.what {
                What::Send { seg } if e.host == host && seg.flags.has(flags) => Some((e.t_ns, seg)),
                _ => None,
            })
            .collect()
    }

    /// Asserts every step got the result it expected.
    pub fn assert_expectations(&self) {
        assert!(
            self.verdict.step_mismatches.is_empty(),
            "steps differ: {:?}",
            self.verdict.step_mismatches
        );
        assert!(
            self.verdict.stuck.is_empty(),
            "stuck: {:?}",
            self.verdict.stuck
        );
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "seed {}\n{}\n{}",
                self.spec.seed,
                self.ladder(),
                report::verdict_text(&self.spec, &self.verdict)
            );
        }
    }
}
