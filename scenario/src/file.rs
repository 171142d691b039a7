//! A scenario file as written: serde structs with spans, no interpretation.
//! `resolve.rs` turns this into a world; `write` turns it back into TOML, so a
//! generated scenario (the fuzzer's) round-trips.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use toml::Spanned;

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    #[serde(default)]
    pub scenario: Meta,
    pub hosts: IndexMap<String, HostDef>,
    #[serde(default, skip_serializing_if = "NetworkDef::is_default")]
    pub network: NetworkDef,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub processes: IndexMap<String, ProcDef>,
    pub script: Script,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<ExpectDef>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The real-world story the scenario reproduces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Virtual-time limit (default 1h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostDef {
    /// A built-in personality name, or a path to a personality file.
    pub personality: Spanned<String>,
    /// Knob overrides: `tcp_fin_timeout = 30`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub set: IndexMap<String, Spanned<toml::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Fixed initial sequence number (to test wrap-around).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isn: Option<u32>,
}

/// One direction's link. Plain strings (no spans): `[network]` flattens this
/// struct, and serde's flatten cannot carry spans; errors locate the value by text.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LinkDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_delay: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NetworkDef {
    #[serde(flatten)]
    pub link: LinkDef,
    /// Per-direction overrides, keyed `"client->server"`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub links: IndexMap<String, LinkDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<DropDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition: Vec<PartitionDef>,
    /// Scripted duplications and delays (`[[network.fault]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fault: Vec<FaultDef>,
}

impl NetworkDef {
    fn is_default(&self) -> bool {
        *self == NetworkDef::default()
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DropDef {
    /// Only segments sent by this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Spanned<String>>,
    /// Flags the segment must carry (`S`, `F`, `R`, `P`, `.`), or `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Spanned<String>>,
    /// Which matching segment to drop (1 = the first).
    #[serde(default = "one")]
    pub nth: u32,
    /// How many matching segments to drop from the nth on.
    #[serde(default = "one")]
    pub count: u32,
}

/// A scripted duplication or delay: the segments it matches, counted as a
/// drop's, are delivered twice, later, or both.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Spanned<String>>,
    #[serde(default = "one")]
    pub nth: u32,
    #[serde(default = "one")]
    pub count: u32,
    /// Deliver a second copy right behind the first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
    /// Extra delay on top of the link's, e.g. `"1ms"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Spanned<String>>,
}

fn one() -> u32 {
    1
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionDef {
    pub from: Spanned<String>,
    pub until: Spanned<String>,
    /// `"server->client"` to cut one direction only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Spanned<String>>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProcDef {
    pub host: Spanned<String>,
    /// Started by `fork NAME` in this process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<Spanned<String>>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub steps: Vec<Spanned<String>>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExpectDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Spanned<String>>,
    /// RSTs in order, as `"host: cause"`; `[]` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rst: Option<Vec<Spanned<String>>>,
    /// Lost bytes per direction, keyed `"client->server"`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub lost: IndexMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silent_loss: Option<bool>,
    /// Final state of each host's endpoint of the first connection.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty", rename = "final")]
    pub final_state: IndexMap<String, Spanned<String>>,
    /// States each host's endpoint must pass through.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub reached: IndexMap<String, Vec<Spanned<String>>>,
    /// Expectations for other personality pairs, keyed `"FIRST/SECOND"` (the
    /// personalities of the first two hosts; `*` matches any).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub pairs: IndexMap<String, ExpectDef>,
}
