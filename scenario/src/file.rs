//! A scenario file as written: serde structs with spans, no interpretation.
//! `resolve.rs` turns this into a world; `write` turns it back into TOML, so a
//! generated scenario (the fuzzer's) round-trips.
//!
//! Every value an error can be about carries its span (`Spanned`), and every
//! table keyed by name is a [`Keyed`], which keeps where each key is written:
//! errors are located by the parser's positions, never by searching the text.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::ops::{Deref, DerefMut, Range};
use toml::Spanned;

/// A table keyed by name (`[hosts.NAME]`, `lost = { "a->b" = 1 }`), with the
/// span of each key as written. Reads as the `IndexMap` it wraps; a key
/// inserted in code has no span.
#[derive(Clone, Debug)]
pub struct Keyed<T> {
    map: IndexMap<String, T>,
    spans: IndexMap<String, Range<usize>>,
}

impl<T> Keyed<T> {
    /// Where `key` is written, if it was read from a file.
    pub fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.spans.get(key).cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<T> Default for Keyed<T> {
    fn default() -> Self {
        Keyed {
            map: IndexMap::new(),
            spans: IndexMap::new(),
        }
    }
}

impl<T> Deref for Keyed<T> {
    type Target = IndexMap<String, T>;
    fn deref(&self) -> &IndexMap<String, T> {
        &self.map
    }
}

impl<T> DerefMut for Keyed<T> {
    fn deref_mut(&mut self) -> &mut IndexMap<String, T> {
        &mut self.map
    }
}

impl<'a, T> IntoIterator for &'a Keyed<T> {
    type Item = (&'a String, &'a T);
    type IntoIter = indexmap::map::Iter<'a, String, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

impl<T> FromIterator<(String, T)> for Keyed<T> {
    fn from_iter<I: IntoIterator<Item = (String, T)>>(iter: I) -> Self {
        Keyed {
            map: iter.into_iter().collect(),
            spans: IndexMap::new(),
        }
    }
}

/// Two tables are equal when their entries are; where they were written does not count.
impl<T: PartialEq> PartialEq for Keyed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl<T: Serialize> Serialize for Keyed<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Keyed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = IndexMap::<Spanned<String>, T>::deserialize(d)?;
        let mut keyed = Keyed {
            map: IndexMap::with_capacity(spanned.len()),
            spans: IndexMap::with_capacity(spanned.len()),
        };
        for (k, v) in spanned {
            let span = k.span();
            let k = k.into_inner();
            keyed.spans.insert(k.clone(), span);
            keyed.map.insert(k, v);
        }
        Ok(keyed)
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    #[serde(default)]
    pub scenario: Meta,
    pub hosts: Keyed<HostDef>,
    #[serde(default, skip_serializing_if = "NetworkDef::is_default")]
    pub network: NetworkDef,
    #[serde(default, skip_serializing_if = "Keyed::is_empty")]
    pub processes: Keyed<ProcDef>,
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
    pub max_events: Option<Spanned<i64>>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostDef {
    /// A built-in personality name, or a path to a personality file.
    pub personality: Spanned<String>,
    /// Knob overrides: `tcp_fin_timeout = 30`.
    #[serde(default, skip_serializing_if = "Keyed::is_empty")]
    pub set: Keyed<Spanned<toml::Value>>,
    /// In octets, within `limits::MTU_BYTES`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<Spanned<i64>>,
    /// Fixed initial sequence number (to test wrap-around).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isn: Option<u32>,
    /// A raw host's (`personality = "raw"`) port on a connection it opens (default 48000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Spanned<i64>>,
    /// A raw host's connection it opens: `HOST:PORT` (default: it waits for one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<Spanned<String>>,
    /// How far from its time a raw host's `expect` may be met (default 4ms, packetdrill's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<Spanned<String>>,
}

/// Declares a struct with the settings of one direction's link, then its
/// own fields: the link's settings are written once, for `[network]` (every
/// direction) and for each of `[network.links]`.
macro_rules! link_struct {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $fvis:vis $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        $vis struct $name {
            /// One-way delay (`50us`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub delay: Option<Spanned<String>>,
            /// Extra delay of 0..=jitter per segment.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub jitter: Option<Spanned<String>>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub loss: Option<Spanned<String>>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub duplicate: Option<Spanned<String>>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub reorder: Option<Spanned<String>>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub reorder_delay: Option<Spanned<String>>,
            $($(#[$fmeta])* $fvis $field: $ty,)*
        }
    };
}

link_struct! {
    /// One direction's link, every value with its span.
    #[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct LinkDef {}
}

/// `[network]`: the link of every direction, then per-direction links,
/// scripted drops and partitions. Read through [`NetworkToml`] (serde's
/// `flatten` would lose the spans of the link's values), written flat.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
#[serde(from = "NetworkToml")]
pub struct NetworkDef {
    /// A named network (`profile::PROFILES`): the hosts' MTU and the delay,
    /// unless `mtu` or `delay` say otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Spanned<String>>,
    #[serde(flatten)]
    pub link: LinkDef,
    /// Per-direction overrides, keyed `"client->server"`.
    #[serde(default, skip_serializing_if = "Keyed::is_empty")]
    pub links: Keyed<LinkDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<DropDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition: Vec<PartitionDef>,
    /// Scripted duplications and delays (`[[network.fault]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fault: Vec<FaultDef>,
}

link_struct! {
    /// `[network]` as read: the link's settings beside the other keys.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NetworkToml {
        #[serde(default)]
        profile: Option<Spanned<String>>,
        #[serde(default)]
        links: Keyed<LinkDef>,
        #[serde(default)]
        drop: Vec<DropDef>,
        #[serde(default)]
        partition: Vec<PartitionDef>,
        #[serde(default)]
        fault: Vec<FaultDef>,
    }
}

impl From<NetworkToml> for NetworkDef {
    fn from(n: NetworkToml) -> NetworkDef {
        NetworkDef {
            profile: n.profile,
            link: LinkDef {
                delay: n.delay,
                jitter: n.jitter,
                loss: n.loss,
                duplicate: n.duplicate,
                reorder: n.reorder,
                reorder_delay: n.reorder_delay,
            },
            links: n.links,
            drop: n.drop,
            partition: n.partition,
            fault: n.fault,
        }
    }
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
    pub nth: Spanned<i64>,
    /// How many matching segments to drop from the nth on.
    #[serde(default = "one")]
    pub count: Spanned<i64>,
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
    pub nth: Spanned<i64>,
    #[serde(default = "one")]
    pub count: Spanned<i64>,
    /// Deliver a second copy right behind the first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
    /// Extra delay on top of the link's, e.g. `"1ms"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Spanned<String>>,
}

fn one() -> Spanned<i64> {
    Spanned::new(0..0, 1)
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
    /// A thread of this process: starts with it, shares its descriptors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_of: Option<Spanned<String>>,
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
    #[serde(default, skip_serializing_if = "Keyed::is_empty")]
    pub lost: Keyed<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silent_loss: Option<bool>,
    /// Final state of each host's endpoint of the first connection.
    #[serde(default, skip_serializing_if = "Keyed::is_empty", rename = "final")]
    pub final_state: Keyed<Spanned<String>>,
    /// States each host's endpoint must pass through.
    #[serde(default, skip_serializing_if = "Keyed::is_empty")]
    pub reached: Keyed<Vec<Spanned<String>>>,
    /// Expectations for other personality pairs, keyed `"FIRST/SECOND"` (the
    /// personalities of the first two hosts; `*` matches any).
    #[serde(default, skip_serializing_if = "Keyed::is_empty")]
    pub pairs: Keyed<ExpectDef>,
}
