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
    /// Every direction's rate in bits per second (0: none), so a transfer
    /// is decided by the same bottleneck in the model and on the kernel's
    /// delay line.
    pub rate_bps: u64,
    /// The path is a loopback interface (`HostConfig::loopback`): the
    /// receive buffer's data share is the one measured there.
    pub loopback: bool,
    /// Every host's wake-up latency (`HostConfig::wake_latency`): from a
    /// segment's arrival to the process it unblocks running.
    pub wake_latency_ns: u64,
    pub about: &'static str,
}

/// The `lan` profile's link rate.
pub const LAN_RATE_BPS: u64 = 1_000_000_000;

/// The `lan` profile's wake-up latency of a blocked process.
pub const LAN_WAKE_LATENCY_NS: u64 = 130_000;

/// The profiles, by name.
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "loopback",
        mtu_bytes: 65_536,
        // `lo`'s own latency on this kind of host: a few to tens of µs; the
        // kernel run leaves it to loopback (< 1 ms).
        delay_ns: 10_000,
        rate_bps: 0,
        loopback: true,
        // Not measured for this path (its pass agrees without one).
        wake_latency_ns: 0,
        about: "one host's loopback: MTU 65536, ~0 delay (10 µs)",
    },
    Profile {
        name: "lan",
        mtu_bytes: 1500,
        // Long enough that `tcpsim real` emulates it (delay line from 1 ms).
        delay_ns: 1_000_000,
        // What the delay line sustains beside builds on a 2-CPU host with
        // room to spare (it carried 1.2 Gbit/s on average unlimited, in
        // slow start); 1 Gbit/s Ethernet's rate.
        rate_bps: LAN_RATE_BPS,
        loopback: false,
        // Measured on this path (Linux 6.18, 2 CPUs; docs/real-kernel.md,
        // "The wake-up latency"): from the delay line's release of the first
        // segment of a burst to the blocked read it woke returning, 132 µs
        // in kernel/cork-burst-read and in kernel/transfer-1m's first
        // flight; on loopback without the delay line a SCHED_FIFO reader
        // runs 35-40 µs after the segment's receive timestamp
        // (scripts/wake-latency.c), the floor.
        wake_latency_ns: LAN_WAKE_LATENCY_NS,
        about: "an Ethernet LAN: MTU 1500, 1 ms one way, 1 Gbit/s",
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
