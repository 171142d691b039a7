//! The end of a run: its verdict, what was left hanging, and the
//! expectations of steps that never ran.

use super::World;
use crate::app::{AppState, AppStatus};
use crate::verdict::{EndReason, StepMismatch, Stuck, Verdict};
use model::Instant;

impl World {
    /// The verdict as of now (call after `run`, or to inspect a run in progress).
    pub fn verdict(&self) -> Verdict {
        let mut stuck = Vec::new();
        for (p, a) in self.apps.iter().enumerate() {
            let steps = &self.proc_steps[p];
            let step = steps.get(a.pc as usize).copied().unwrap_or(u32::MAX);
            let what = match a.status {
                AppStatus::Blocked => format!(
                    "blocked in {}",
                    a.blocked
                        .map(|b| crate::report::call_text(&b.sys, &self.spec))
                        .unwrap_or_default()
                ),
                AppStatus::Ready if a.waits_for.is_some() => self.waiting_text(a),
                AppStatus::Ready if (a.pc as usize) < steps.len() => {
                    "steps left when the run ended".to_string()
                }
                AppStatus::NotStarted if !steps.is_empty() => {
                    "never started (never forked)".to_string()
                }
                _ => continue,
            };
            let blocked_in = match a.status {
                AppStatus::Blocked => a.blocked.map(|b| b.sys.name()),
                // Waiting for a step that will never return is hanging too.
                AppStatus::Ready if a.waits_for.is_some() => Some("after"),
                _ => None,
            };
            stuck.push(Stuck {
                proc: p as u16,
                step,
                what,
                blocked_in,
            });
        }
        let end = self.ended.unwrap_or(EndReason::Quiescent);
        let limits = self.spec.limits;
        // Stopped by the time limit, the world was watched up to the limit
        // (nothing happened between the last event and it): report the limit.
        let end_ns = match end {
            EndReason::TimeLimit => Instant::ZERO + limits.max_time_ns,
            EndReason::Quiescent | EndReason::EventBudget => self.now,
        };
        let mut v = self
            .observer
            .finish(end, end_ns, self.events, limits, stuck);
        v.step_mismatches.extend(self.unrun_expectations(end));
        let raw = crate::raw::mismatches(&self.spec, &self.raw, &self.raw_sent);
        v.step_mismatches.extend(raw);
        v
    }

    /// "waiting for step 3 (server), which never returned".
    fn waiting_text(&self, a: &AppState) -> String {
        let step = a.waits_for.map_or(0, |w| w.0);
        let proc = self.spec.steps[step as usize].proc;
        format!(
            "waiting (after) for step {} of `{}`, which never returned",
            step + 1,
            self.spec.procs[proc as usize].name
        )
    }

    /// Steps with an expected result that never produced one: after `exit`,
    /// behind a call that never returned, in a child never forked, or cut off
    /// by a limit. Each is a failed expectation saying why it never ran.
    fn unrun_expectations(&self, end: EndReason) -> Vec<StepMismatch> {
        let mut out = Vec::new();
        for (p, a) in self.apps.iter().enumerate() {
            let steps = &self.proc_steps[p];
            let first = a.pc as usize;
            for (k, &step) in steps.iter().enumerate().skip(first) {
                let spec = &self.spec.steps[step as usize];
                let Some(expect) = spec.expect else {
                    continue;
                };
                let actual = match (a.status, k == first) {
                    (AppStatus::Blocked, true) => format!(
                        "never returned: blocked in {} when the run ended",
                        a.blocked
                            .map(|b| crate::report::call_text(&b.sys, &self.spec))
                            .unwrap_or_default()
                    ),
                    (AppStatus::Blocked, false) => {
                        "never ran: an earlier step never returned".to_string()
                    }
                    (AppStatus::Exited, _) => "never ran: the process had exited".to_string(),
                    (AppStatus::NotStarted, _) => {
                        "never ran: the process was never forked".to_string()
                    }
                    (AppStatus::Ready, _) if a.waits_for.is_some() => {
                        format!("never ran: {}", self.waiting_text(a))
                    }
                    (AppStatus::Ready | AppStatus::Done, _) => {
                        format!("never ran: the run ended first ({})", end.key())
                    }
                };
                out.push(StepMismatch {
                    step,
                    proc: p as u16,
                    expected: expect.to_string(),
                    actual,
                    origin: spec.origin.clone(),
                });
            }
        }
        out
    }
}
