//! Network profiles a scenario (`[network] profile = "lan"`) or the command
//! line (`--profile lan`) can name: each sets the hosts' MTU and the one-way
//! delay of every direction, for the model and for `tcpsim real`, which runs
//! them on the matching network (docs/real-kernel.md, "The network").

/// One named network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    /// Every host's MTU.
    pub mtu_bytes: u32,
    /// Every direction's one-way delay.
    pub delay_ns: u64,
    /// The path is a loopback interface (`HostConfig::loopback`): the
    /// receive buffer's data share is the one measured there.
    pub loopback: bool,
    pub about: &'static str,
}

/// The profiles, by name.
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "loopback",
        mtu_bytes: 65_536,
        // `lo`'s own latency on this kind of host: a few to tens of µs; the
        // kernel run leaves it to loopback (< 1 ms).
        delay_ns: 10_000,
        loopback: true,
        about: "one host's loopback: MTU 65536, ~0 delay (10 µs)",
    },
    Profile {
        name: "lan",
        mtu_bytes: 1500,
        // Long enough that `tcpsim real` emulates it (delay line from 1 ms).
        delay_ns: 1_000_000,
        loopback: false,
        about: "an Ethernet LAN: MTU 1500, 1 ms one way",
    },
];

impl Profile {
    pub fn named(name: &str) -> Option<&'static Profile> {
        PROFILES.iter().find(|p| p.name == name)
    }

    /// `loopback, lan`.
    pub fn names() -> String {
        PROFILES
            .iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}
