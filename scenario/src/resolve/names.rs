//! The names a scenario declares: its hosts (each with a process of its own
//! name) and its other processes. A name must be one word of the step
//! language, and the counts stay within their limits.

use super::Ctx;
use crate::diag::Class;
use crate::file::ScenarioFile;
use crate::limits::{HOSTS_MAX, PROCESSES_MAX};
use indexmap::IndexSet;
use model::personality::closest;
use sim::spec::ProcSpec;
use std::ops::Range;
use toml::Spanned;

/// Names of hosts and processes, in declaration order (hosts' own processes
/// first), looked up by hash.
pub struct Names {
    pub hosts: IndexSet<String>,
    pub procs: IndexSet<String>,
    /// Every name can be written in a step.
    pub valid: bool,
}

/// Whether a step can write `name` as one word: letters, digits, `-`, `_`, `.`.
pub fn is_word(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Names {
    /// The file's names, each checked; `None` if it has no hosts.
    pub fn declare(cx: &mut Ctx, f: &ScenarioFile) -> Option<Names> {
        if f.hosts.is_empty() {
            cx.error(
                Class::Structure,
                Some(0..0),
                "no hosts",
                "a scenario needs at least one host",
                Some("add `[hosts.client]` with `personality = \"linux\"`".into()),
            );
            return None;
        }
        let mut names = Names {
            hosts: f.hosts.keys().cloned().collect(),
            procs: f.hosts.keys().chain(f.processes.keys()).cloned().collect(),
            valid: true,
        };
        for name in f.hosts.keys() {
            names.valid &= check_word(cx, "host", name, f.hosts.key_span(name));
        }
        for name in f.processes.keys() {
            names.valid &= check_word(cx, "process", name, f.processes.key_span(name));
        }
        let hosts_over = f.hosts.get_index(HOSTS_MAX).map(|(k, _)| k);
        let procs_over = names.procs.get_index(PROCESSES_MAX);
        for (plural, max, key, span) in [
            (
                "hosts",
                HOSTS_MAX,
                hosts_over,
                hosts_over.and_then(|k| f.hosts.key_span(k)),
            ),
            (
                "processes",
                PROCESSES_MAX,
                procs_over,
                procs_over.and_then(|k| f.processes.key_span(k)),
            ),
        ] {
            let Some(key) = key else { continue };
            names.valid = false;
            cx.error(
                Class::Range,
                span,
                format!("too many {plural}: `{key}` is one past {max}"),
                "one too many",
                Some(format!(
                    "a scenario has at most {max} {plural} (docs/limits.md)"
                )),
            );
        }
        Some(names)
    }

    /// The index of host `name`, or an error at `span` with a guess.
    pub fn host(&self, cx: &mut Ctx, name: &str, span: Option<Range<usize>>) -> Option<u16> {
        if let Some(i) = self.hosts.get_index_of(name) {
            return Some(i as u16);
        }
        let list = self.host_list();
        let help = match closest(name, self.hosts.iter().map(String::as_str)) {
            Some(g) => format!("did you mean `{g}`? hosts: {list}"),
            None => format!("hosts: {list}"),
        };
        cx.error(
            Class::Unknown,
            span,
            format!("unknown host `{name}`"),
            "not a host of this scenario",
            Some(help),
        );
        None
    }

    pub fn host_list(&self) -> String {
        let v: Vec<&str> = self.hosts.iter().map(String::as_str).collect();
        v.join(", ")
    }

    pub fn proc_list(&self) -> String {
        let v: Vec<&str> = self.procs.iter().map(String::as_str).collect();
        v.join(", ")
    }

    /// `"a->b"` as two host ids, the error at `span`.
    pub fn direction(
        &self,
        cx: &mut Ctx,
        key: &str,
        span: Option<Range<usize>>,
    ) -> Option<(u16, u16)> {
        let Some((a, b)) = key.split_once("->") else {
            cx.error(
                Class::Value,
                span,
                format!("bad direction `{key}`"),
                "expected `HOST->HOST`",
                Some("e.g. \"client->server\"".into()),
            );
            return None;
        };
        let a = self.host(cx, a.trim(), span.clone());
        let b = self.host(cx, b.trim(), span);
        Some((a?, b?))
    }

    /// The processes: each host's own first, in host order, then the file's.
    pub fn procs(&self, cx: &mut Ctx, f: &ScenarioFile) -> Vec<ProcSpec> {
        let mut procs: Vec<ProcSpec> = (0..self.hosts.len())
            .map(|i| ProcSpec {
                name: self.hosts[i].clone(),
                host: i as u16,
                forked_from: None,
                thread_of: None,
            })
            .collect();
        for (name, p) in &f.processes {
            if self.hosts.contains(name) {
                cx.error(
                    Class::Name,
                    f.processes.key_span(name),
                    format!("process `{name}` has a host's name"),
                    "already the host's own process",
                    Some("each host has a process of its own name; call this one otherwise".into()),
                );
            }
            let host = self
                .host(cx, p.host.get_ref(), Some(p.host.span()))
                .unwrap_or(0);
            let forked_from = p
                .forked_from
                .as_ref()
                .and_then(|parent| self.proc_id(cx, parent.get_ref(), Some(parent.span())));
            let thread_of = p
                .thread_of
                .as_ref()
                .and_then(|owner| self.proc_id(cx, owner.get_ref(), Some(owner.span())));
            procs.push(ProcSpec {
                name: name.clone(),
                host,
                forked_from,
                thread_of,
            });
        }
        for (name, p) in &f.processes {
            if let Some(owner) = &p.thread_of {
                check_thread(cx, &procs, name, p, owner);
            }
        }
        procs
    }

    /// The index of a named process, or an error at `span` with a guess.
    pub fn proc_id(&self, cx: &mut Ctx, name: &str, span: Option<Range<usize>>) -> Option<u16> {
        if let Some(i) = self.procs.get_index_of(name) {
            return Some(i as u16);
        }
        let help = match closest(name, self.procs.iter().map(String::as_str)) {
            Some(g) => format!("did you mean `{g}`? processes: {}", self.proc_list()),
            None => format!(
                "processes: {} (each host has a process of its own name; declare more under [processes])",
                self.proc_list()
            ),
        };
        cx.error(
            Class::Unknown,
            span,
            format!("unknown process `{name}`"),
            "not a process",
            Some(help),
        );
        None
    }
}

/// A thread belongs to a process that is neither forked nor a thread, on its
/// own host, and is not forked itself.
fn check_thread(
    cx: &mut Ctx,
    procs: &[ProcSpec],
    name: &str,
    p: &crate::file::ProcDef,
    owner: &Spanned<String>,
) {
    let Some(o) = procs.iter().find(|q| q.name == *owner.get_ref()) else {
        return; // unknown: reported already
    };
    let me = procs.iter().find(|q| q.name == name).expect("declared");
    let problem = if p.forked_from.is_some() {
        Some("a process is either forked or a thread, not both")
    } else if o.thread_of.is_some() {
        Some("a thread belongs to a process, not to another thread")
    } else if o.forked_from.is_some() {
        Some("a thread of a forked process is not supported: give the thread to a process that is not forked")
    } else if o.host != me.host {
        Some("a thread runs on its process's host: give it the same `host`")
    } else {
        None
    };
    if let Some(help) = problem {
        cx.error(
            Class::Value,
            Some(owner.span()),
            format!(
                "process `{name}` cannot be a thread of `{}`",
                owner.get_ref()
            ),
            "not a process this thread can belong to",
            Some(help.into()),
        );
    }
}

/// Checks that a host's or process's name is one word; true if it is.
fn check_word(cx: &mut Ctx, kind: &str, name: &str, span: Option<Range<usize>>) -> bool {
    if is_word(name) {
        return true;
    }
    let suggestion: String = name
        .chars()
        .map(|c| if is_word(&c.to_string()) { c } else { '-' })
        .collect();
    let suggestion = match suggestion.trim_matches('-') {
        "" => "client".to_string(),
        s => s.to_string(),
    };
    cx.error(
        Class::Name,
        span,
        format!("{kind} name `{name}` cannot be written in a step"),
        "not one word",
        Some(format!(
            "steps name a {kind} by one word of letters, digits, `-`, `_` and `.`: e.g. `{suggestion}`"
        )),
    );
    false
}
