//! What the reader records while it reads a stream: the globals it names (one entry per
//! distinct global, with how often and how it was reached) and its other findings
//! (aggregated by rule and subject, so that a pickle calling the same unknown object a
//! million times gives one finding with a count, not a million).

use std::collections::HashMap;
use std::rc::Rc;

use super::value::Named;
use super::{GlobalUse, NamedBy};
use crate::core::scan::{Finding, Location, Policy, Severity, Verdict};

/// Distinct findings kept per rule; the rest are counted in one more finding.
pub(crate) const MAX_NOTES_PER_RULE: usize = 100;

pub(crate) struct Global {
    pub(crate) module: Rc<str>,
    pub(crate) name: Rc<str>,
    pub(crate) offset: u64,
    pub(crate) how: NamedBy,
    /// The opcode that first named it (or the callable that computed it).
    pub(crate) opcode: &'static str,
    pub(crate) count: u64,
    pub(crate) called_by: Vec<&'static str>,
    pub(crate) state_set: bool,
    pub(crate) verdict: Verdict,
}

struct Note {
    rule: &'static str,
    severity: Severity,
    offset: u64,
    global: Option<String>,
    message: String,
    count: u64,
}

/// A point to roll back to (see `Records::rollback`).
#[derive(Clone, Copy)]
pub(crate) struct Checkpoint {
    globals: usize,
    notes: usize,
    events: u64,
}

#[derive(Default)]
pub(crate) struct Records {
    pub(crate) globals: Vec<Global>,
    index: HashMap<String, usize>,
    notes: Vec<Note>,
    note_index: HashMap<(&'static str, String), usize>,
    per_rule: HashMap<&'static str, usize>,
    /// Distinct notes past `MAX_NOTES_PER_RULE`, per rule: (count, worst severity, first offset).
    dropped: HashMap<&'static str, (u64, Severity, u64)>,
    /// Globals named and findings above `Info` so far.
    events: u64,
    /// A joblib array wrapper was built in a stream not read as joblib's.
    pub(crate) joblib_wrapper: bool,
    key: String,
}

impl Records {
    /// The global `name` of `module` named (or computed) at `offset`.
    pub(crate) fn name(
        &mut self,
        policy: &Policy,
        module: &str,
        name: &str,
        how: impl FnOnce() -> NamedBy,
        opcode: &'static str,
        offset: u64,
    ) -> Named {
        self.events += 1;
        self.key.clear();
        self.key.push_str(module);
        self.key.push('\0');
        self.key.push_str(name);
        let id = match self.index.get(self.key.as_str()) {
            Some(&id) => {
                self.globals[id].count += 1;
                id
            }
            None => {
                let verdict = if name.is_empty() {
                    policy.classify_path(module)
                } else {
                    policy.classify(module, name)
                };
                let id = self.globals.len();
                self.globals.push(Global {
                    module: module.into(),
                    name: name.into(),
                    offset,
                    how: how(),
                    opcode,
                    count: 1,
                    called_by: Vec::new(),
                    state_set: false,
                    verdict,
                });
                self.index.insert(self.key.clone(), id);
                id
            }
        };
        let g = &self.globals[id];
        Named {
            id,
            module: g.module.clone(),
            qual: g.name.clone(),
        }
    }

    /// The global of extension code `code`.
    pub(crate) fn ext(&mut self, code: i64, opcode: &'static str, offset: u64) -> usize {
        self.events += 1;
        let key = format!("\u{1}{code}");
        if let Some(&id) = self.index.get(&key) {
            self.globals[id].count += 1;
            return id;
        }
        let id = self.globals.len();
        self.globals.push(Global {
            module: "".into(),
            name: "".into(),
            offset,
            how: NamedBy::Ext(code),
            opcode,
            count: 1,
            called_by: Vec::new(),
            state_set: false,
            verdict: Verdict::Unknown,
        });
        self.index.insert(key, id);
        id
    }

    pub(crate) fn called(&mut self, id: usize, opcode: &'static str) {
        let g = &mut self.globals[id];
        if !g.called_by.contains(&opcode) {
            g.called_by.push(opcode);
        }
    }

    pub(crate) fn state_set(&mut self, id: usize) {
        self.globals[id].state_set = true;
    }

    pub(crate) fn verdict(&self, id: usize) -> &Verdict {
        &self.globals[id].verdict
    }

    /// A finding of `rule` about `subject` (notes with the same rule and subject are one
    /// finding with a count; the first one's offset and message stand).
    pub(crate) fn note(
        &mut self,
        rule: &'static str,
        severity: Severity,
        offset: u64,
        subject: &str,
        global: Option<&str>,
        message: impl FnOnce() -> String,
    ) {
        if severity > Severity::Info {
            self.events += 1;
        }
        if let Some(&i) = self.note_index.get(&(rule, subject.to_string())) {
            self.notes[i].count += 1;
            return;
        }
        let distinct = self.per_rule.entry(rule).or_insert(0);
        if *distinct >= MAX_NOTES_PER_RULE {
            let d = self.dropped.entry(rule).or_insert((0, severity, offset));
            d.0 += 1;
            d.1 = d.1.max(severity);
            return;
        }
        *distinct += 1;
        self.note_index
            .insert((rule, subject.to_string()), self.notes.len());
        self.notes.push(Note {
            rule,
            severity,
            offset,
            global: global.map(str::to_string),
            message: message(),
            count: 1,
        });
    }

    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            globals: self.globals.len(),
            notes: self.notes.len(),
            events: self.events,
        }
    }

    /// Whether anything that matters happened since `c`: a global named, or a finding
    /// above `Info`.
    pub(crate) fn eventful_since(&self, c: Checkpoint) -> bool {
        self.events > c.events
    }

    /// Forgets the notes added since `c` (only called when nothing eventful happened, so
    /// no global was named; counts added to older notes stay).
    pub(crate) fn rollback(&mut self, c: Checkpoint) {
        debug_assert_eq!(self.globals.len(), c.globals);
        for n in self.notes.drain(c.notes..) {
            if let Some(k) = self.per_rule.get_mut(n.rule) {
                *k -= 1;
            }
        }
        self.note_index.retain(|_, i| *i < c.notes);
    }

    /// The globals, in the order first met.
    pub(crate) fn global_uses(&self) -> Vec<GlobalUse> {
        self.globals
            .iter()
            .map(|g| GlobalUse {
                module: g.module.to_string(),
                name: g.name.to_string(),
                offset: g.offset,
                how: g.how.clone(),
                count: g.count,
                called_by: g.called_by.clone(),
                state_set: g.state_set,
                verdict: g.verdict.clone(),
            })
            .collect()
    }

    /// Every finding, by offset.
    pub(crate) fn findings(&self, location: &Location) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        let mut dropped = self.dropped.clone();
        let mut listed: HashMap<&'static str, usize> = HashMap::new();
        for g in &self.globals {
            let Some(f) = global_finding(g, location) else {
                continue;
            };
            let n = listed.entry(f.rule).or_insert(0);
            if *n < MAX_NOTES_PER_RULE {
                *n += 1;
                out.push(f);
            } else {
                let d = dropped.entry(f.rule).or_insert((0, f.severity, g.offset));
                d.0 += 1;
                d.1 = d.1.max(f.severity);
            }
        }
        for n in &self.notes {
            let mut message = n.message.clone();
            if n.count > 1 {
                message.push_str(&format!(" ({} times)", n.count));
            }
            out.push(Finding {
                location: at(location, n.offset),
                global: n.global.clone(),
                severity: n.severity,
                rule: n.rule,
                message,
            });
        }
        let mut dropped: Vec<_> = dropped.into_iter().collect();
        dropped.sort_by_key(|(rule, _)| *rule);
        for (rule, (count, severity, offset)) in dropped {
            out.push(Finding {
                location: at(location, offset),
                global: None,
                severity,
                rule,
                message: format!("{count} more findings of rule {rule} in this stream, not listed"),
            });
        }
        out.sort_by_key(|f| f.location.offset);
        out
    }
}

fn at(location: &Location, offset: u64) -> Location {
    Location {
        offset: Some(offset),
        ..location.clone()
    }
}

fn global_finding(g: &Global, location: &Location) -> Option<Finding> {
    let path = if g.name.is_empty() {
        g.module.to_string()
    } else {
        format!("{}.{}", g.module, g.name)
    };
    let times = if g.count > 1 {
        format!(" ({} times)", g.count)
    } else {
        String::new()
    };
    let calls = if g.called_by.is_empty() {
        String::new()
    } else {
        format!(", called by {}", g.called_by.join("/"))
    };
    let (rule, severity, message) = match (&g.how, &g.verdict) {
        (_, Verdict::Allowed) => return None,
        (NamedBy::Ext(code), _) => (
            "pickle.extension-code",
            Severity::Unknown,
            format!(
                "{} {code} names whatever global the loading process registered under extension code {code} (copyreg): it cannot be known from the file{calls}{times}",
                g.opcode
            ),
        ),
        (NamedBy::Call(by), Verdict::Dangerous(why)) => (
            "pickle.dynamic-global",
            Severity::Dangerous,
            format!("{by} computes {path} while loading: {why}{calls}{times}"),
        ),
        (NamedBy::Call(by), Verdict::Unknown) => (
            "pickle.unknown-global",
            Severity::Unknown,
            format!(
                "{by} computes {path} while loading, which the policy does not know{calls}{times}"
            ),
        ),
        (_, Verdict::Dangerous(why)) => (
            "pickle.dangerous-global",
            Severity::Dangerous,
            format!("{} imports {path}: {why}{calls}{times}", g.opcode),
        ),
        (_, Verdict::Unknown) => (
            "pickle.unknown-global",
            Severity::Unknown,
            format!(
                "{} imports {path}, which the policy does not know: loading runs its code{calls}{times}",
                g.opcode
            ),
        ),
    };
    Some(Finding {
        location: at(location, g.offset),
        global: (!path.is_empty()).then_some(path),
        severity,
        rule,
        message,
    })
}
