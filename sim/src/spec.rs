//! A world described as plain data: hosts, network, processes and their
//! scripted steps, limits. Scenario files (in the CLI crate) resolve into this;
//! Rust tests build it directly with [`SpecBuilder`].

use crate::net::{DropRule, FaultRule, Link, Partition};
use model::{Call, Errno, Naming, Personality};
use model::{Duration, Instant};
use serde::Serialize;
use std::sync::Arc;

/// Index of a process in the spec.
pub type ProcId = u16;
/// Index of a named socket slot (per process; forked children inherit them).
pub type Slot = u16;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostSpec {
    pub name: String,
    pub personality: Arc<Personality>,
    /// MTU of the host's interface; MSS = MTU − 40.
    pub mtu: u32,
    pub isn: Option<u32>,
    /// No TCP stack: a scripted raw peer (its personality is not used).
    pub raw: Option<crate::raw::RawSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProcSpec {
    pub name: String,
    pub host: u16,
    /// A process created by `fork` in this parent (it starts at the fork).
    pub forked_from: Option<ProcId>,
    /// A thread of this process: it starts with it and shares its
    /// descriptor table (and socket names), blocking on its own.
    pub thread_of: Option<ProcId>,
}

/// When a step starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub enum At {
    /// As soon as the previous step of the process has finished.
    Next,
    /// At this absolute time (or when the previous step finishes, if later).
    Abs(Instant),
    /// This long after the previous step of the process finished.
    After(Duration),
    /// `plus` after step `step` (an index into the spec's steps, of any
    /// process) returned, or when the previous step finishes, if later.
    Once { step: u32, plus: Duration },
}

/// A world spec's names: sockets are slots of the process's table (forked
/// children inherit them), hosts and processes are indices into the spec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, schemars::JsonSchema)]
pub struct Slots;

impl Naming for Slots {
    type Sock = Slot;
    type New = Slot;
    type Host = u16;
    type Proc = ProcId;
    fn created(sock: &Slot) -> Slot {
        *sock
    }
}

/// What a step does: a call of the one vocabulary ([`model::call`]), its
/// sockets named by slot. Compound steps expand per [`model::Expansion`].
pub type Action = Call<Slots>;

/// What a step expects its call to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    Value(u64),
    Error(Errno),
    /// Any non-error result.
    Ok,
    /// poll() revents (`POLLIN|POLLHUP`): the value, written as bit names.
    Revents(u64),
    /// A read to EOF that read this many bytes, then failed (`500+ECONNRESET`).
    ReadThenError(u64, Errno),
    /// A poll step's revents over this many sockets (`POLLIN,0`), packed one
    /// lane each as [`model::call::poll_bits::lane`] reads them.
    ReventsEach(u64, u8),
    /// A select step's sets per socket (`readfds,0`), packed as
    /// [`Expect::ReventsEach`] is, over this many sockets.
    SetsEach(u64, u8),
    /// A TCP state (`getsockopt S TCP_INFO.tcpi_state = FIN-WAIT-2`): the
    /// result is its [`model::State::code`].
    State(model::State),
}

impl Expect {
    /// Whether a step that ended with `result` (an error by its name) after
    /// reading `partial` bytes meets this; `same` says whether an error name
    /// is the expected errno (on a Winsock stack, by its Winsock name).
    pub fn holds(
        &self,
        result: Result<u64, &str>,
        partial: u64,
        same: impl Fn(Errno, &str) -> bool,
    ) -> bool {
        match (*self, result) {
            (
                Expect::Value(v)
                | Expect::Revents(v)
                | Expect::ReventsEach(v, _)
                | Expect::SetsEach(v, _),
                Ok(n),
            ) => n == v,
            (Expect::State(s), Ok(n)) => n == s.code(),
            (Expect::Ok, Ok(_)) => true,
            (Expect::Error(e), Err(name)) => same(e, name),
            (Expect::ReadThenError(n, e), Err(name)) => partial == n && same(e, name),
            _ => false,
        }
    }

    /// How a step's actual outcome reads beside this expectation.
    pub fn actual_text(&self, result: Result<u64, &str>, partial: u64) -> String {
        match (*self, result) {
            (Expect::Revents(_), Ok(n)) => model::call::poll_bits::text(n),
            (Expect::ReventsEach(_, socks), Ok(n)) => {
                model::call::poll_bits::text_each(n, usize::from(socks))
            }
            (Expect::SetsEach(_, socks), Ok(n)) => {
                model::call::select_sets::text_each(n, usize::from(socks))
            }
            (Expect::ReadThenError(..), Err(e)) => format!("{partial}+{e}"),
            (Expect::State(_), Ok(n)) => model::State::code_text(n),
            (_, Ok(n)) => n.to_string(),
            (_, Err(e)) => e.to_string(),
        }
    }
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Value(v) => write!(f, "{v}"),
            Expect::Error(e) => write!(f, "{e}"),
            Expect::Ok => f.write_str("ok"),
            Expect::Revents(v) => f.write_str(&model::call::poll_bits::text(*v)),
            Expect::ReventsEach(v, socks) => {
                f.write_str(&model::call::poll_bits::text_each(*v, usize::from(*socks)))
            }
            Expect::SetsEach(v, socks) => f.write_str(&model::call::select_sets::text_each(
                *v,
                usize::from(*socks),
            )),
            Expect::ReadThenError(n, e) => write!(f, "{n}+{e}"),
            Expect::State(s) => f.write_str(s.name()),
        }
    }
}

/// How long a step is expected to block: `blocked=1s±10ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub struct Within {
    pub ns: Duration,
    pub tolerance_ns: Duration,
}

impl Within {
    pub fn holds(&self, blocked: Duration) -> bool {
        blocked.abs_diff(self.ns) <= self.tolerance_ns
    }

    /// How an actual time blocked reads beside the expectation.
    pub fn text(blocked: Duration) -> String {
        format!("blocked={}", blocked.text())
    }
}

impl std::fmt::Display for Within {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "blocked={}±{}", self.ns.text(), self.tolerance_ns.text())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StepSpec {
    pub proc: ProcId,
    pub at: At,
    pub action: Action,
    pub expect: Option<Expect>,
    /// How long the step should take from its start to its end.
    pub blocked: Option<Within>,
    /// Where the step came from (scenario line), for messages.
    pub origin: Option<String>,
}

/// Limits that end a run cleanly with a verdict (the scenario's `max_events`
/// and `duration`); a verdict reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub struct Limits {
    pub max_events: u64,
    pub max_time_ns: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_events: 2_000_000,
            max_time_ns: Duration::from_secs(3_600),
        }
    }
}

/// Everything needed to build a world.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WorldSpec {
    pub seed: u64,
    pub hosts: Vec<HostSpec>,
    /// Default link for every direction.
    pub link: Link,
    /// Per-direction overrides: (src, dst, link).
    pub links: Vec<(u16, u16, Link)>,
    pub drops: Vec<DropRule>,
    /// Scripted duplications and delays.
    pub faults: Vec<FaultRule>,
    pub partitions: Vec<Partition>,
    pub procs: Vec<ProcSpec>,
    pub slot_names: Vec<String>,
    pub steps: Vec<StepSpec>,
    /// Raw hosts' `expect` steps, in file order (checked after the run).
    pub seg_expects: Vec<crate::raw::SegExpect>,
    pub limits: Limits,
    /// The network is one loopback interface (the `loopback` profile): each
    /// host's `HostConfig::loopback`.
    pub loopback: bool,
    /// Every host's `HostConfig::wake_latency` (the network profile's).
    pub wake_latency: Duration,
}

/// Builds a [`WorldSpec`] in Rust (tests, benchmarks, the fuzzer).
#[derive(Clone, Debug)]
pub struct SpecBuilder {
    pub spec: WorldSpec,
}

impl SpecBuilder {
    pub fn new(seed: u64) -> SpecBuilder {
        SpecBuilder {
            spec: WorldSpec {
                seed,
                hosts: Vec::new(),
                link: Link::default(),
                links: Vec::new(),
                drops: Vec::new(),
                faults: Vec::new(),
                partitions: Vec::new(),
                procs: Vec::new(),
                slot_names: Vec::new(),
                steps: Vec::new(),
                seg_expects: Vec::new(),
                limits: Limits::default(),
                loopback: false,
                wake_latency: Duration::ZERO,
            },
        }
    }

    /// Adds a host with one process of the same name; returns the host index.
    pub fn host(&mut self, name: &str, personality: Personality) -> u16 {
        let id = self.spec.hosts.len() as u16;
        self.spec.hosts.push(HostSpec {
            name: name.to_string(),
            personality: Arc::new(personality),
            mtu: 1500,
            isn: None,
            raw: None,
        });
        self.spec.procs.push(ProcSpec {
            name: name.to_string(),
            host: id,
            forked_from: None,
            thread_of: None,
        });
        id
    }

    /// The process id of a name.
    pub fn proc(&self, name: &str) -> ProcId {
        self.spec
            .procs
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_else(|| panic!("no process {name}")) as ProcId
    }

    /// Declares a process forked from `parent`.
    pub fn forked(&mut self, name: &str, parent: &str) -> ProcId {
        let parent = self.proc(parent);
        let host = self.spec.procs[parent as usize].host;
        self.spec.procs.push(ProcSpec {
            name: name.to_string(),
            host,
            forked_from: Some(parent),
            thread_of: None,
        });
        (self.spec.procs.len() - 1) as ProcId
    }

    /// Declares a thread of `owner` (sharing its descriptor table).
    pub fn thread(&mut self, name: &str, owner: &str) -> ProcId {
        let owner = self.proc(owner);
        let host = self.spec.procs[owner as usize].host;
        self.spec.procs.push(ProcSpec {
            name: name.to_string(),
            host,
            forked_from: None,
            thread_of: Some(owner),
        });
        (self.spec.procs.len() - 1) as ProcId
    }

    /// The slot of a socket name, creating it.
    pub fn slot(&mut self, name: &str) -> Slot {
        if let Some(i) = self.spec.slot_names.iter().position(|n| n == name) {
            return i as Slot;
        }
        self.spec.slot_names.push(name.to_string());
        (self.spec.slot_names.len() - 1) as Slot
    }

    /// Adds a step at absolute time `at_ms` (milliseconds).
    pub fn at(&mut self, at_ms: u64, proc: &str, action: Action) -> &mut StepSpec {
        self.step(
            At::Abs(Instant::ZERO + Duration::from_ms(at_ms)),
            proc,
            action,
        )
    }

    /// Adds a step that starts when the previous one of the process ends.
    pub fn then(&mut self, proc: &str, action: Action) -> &mut StepSpec {
        self.step(At::Next, proc, action)
    }

    pub fn step(&mut self, at: At, proc: &str, action: Action) -> &mut StepSpec {
        let proc = self.proc(proc);
        self.spec.steps.push(StepSpec {
            proc,
            at,
            action,
            expect: None,
            blocked: None,
            origin: None,
        });
        self.spec.steps.last_mut().expect("just pushed")
    }

    pub fn build(&self) -> WorldSpec {
        self.spec.clone()
    }
}

impl StepSpec {
    pub fn expect(&mut self, e: Expect) -> &mut Self {
        self.expect = Some(e);
        self
    }
}
