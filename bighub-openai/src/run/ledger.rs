//! The approvals one agent has asked for and acted on.
//!
//! Every decision that asks for a review is entered with the call it covers (tool name and
//! arguments digest). Before an approved call runs, the ledger checks that the approval is
//! for exactly that call and was not acted on yet, and marks it. This holds for every engine;
//! an engine that keeps approvals (the local store) checks the same binding again, across
//! processes. The ledger is bounded: past [`CAPACITY`] entries the oldest are forgotten,
//! after which only the engine's own record can refuse a second use of them.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};

use crate::Error;

/// How many approvals an agent remembers.
pub(crate) const CAPACITY: usize = 65_536;

#[derive(Debug)]
struct Entry {
    tool: String,
    digest: String,
    acted_on: bool,
    /// Entered by a decision of this agent, not first seen when acted on.
    asked_here: bool,
}

/// Where an approval acted on was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asked {
    /// By a decision of this agent: the ledger bound it to its call.
    Here,
    /// Elsewhere (another process, or forgotten past [`CAPACITY`]): only the engine can
    /// bind it.
    Elsewhere,
}

#[derive(Debug, Default)]
struct Entries {
    by_id: HashMap<String, Entry>,
    order: VecDeque<String>,
}

#[derive(Debug, Default)]
pub(crate) struct ApprovalLedger {
    entries: Mutex<Entries>,
}

impl ApprovalLedger {
    /// Enters a decision that asks for approval of `tool` with arguments of `digest`.
    pub(crate) fn asked(&self, request_id: &str, tool: &str, digest: &str) {
        let mut entries = self.lock();
        if entries.by_id.contains_key(request_id) {
            return;
        }
        entries.insert(
            request_id,
            Entry {
                tool: tool.to_owned(),
                digest: digest.to_owned(),
                acted_on: false,
                asked_here: true,
            },
        );
    }

    /// Marks `request_id` acted on for `tool` with arguments of `digest`; refuses another
    /// call than the one it was asked for, and a second use. An approval asked for elsewhere
    /// (another process) is entered as acted on for this call. Answers whether this agent
    /// asked for it ([`Asked::Here`]): only then does the ledger's binding mean anything.
    pub(crate) fn act_on(
        &self,
        request_id: &str,
        tool: &str,
        digest: &str,
    ) -> Result<Asked, Error> {
        let mut entries = self.lock();
        match entries.by_id.get_mut(request_id) {
            Some(entry) => {
                if entry.tool != tool {
                    let refusal = ApprovalRefusal::ToolChanged {
                        approved: entry.tool.clone(),
                        requested: tool.to_owned(),
                    };
                    return Err(ApprovalRefused::new(request_id, refusal).into());
                }
                if entry.digest != digest {
                    let refusal = ApprovalRefusal::ArgumentsChanged;
                    return Err(ApprovalRefused::new(request_id, refusal).into());
                }
                if entry.acted_on {
                    let refusal = ApprovalRefusal::AlreadyUsed;
                    return Err(ApprovalRefused::new(request_id, refusal).into());
                }
                entry.acted_on = true;
                Ok(if entry.asked_here {
                    Asked::Here
                } else {
                    Asked::Elsewhere
                })
            }
            None => {
                entries.insert(
                    request_id,
                    Entry {
                        tool: tool.to_owned(),
                        digest: digest.to_owned(),
                        acted_on: true,
                        asked_here: false,
                    },
                );
                Ok(Asked::Elsewhere)
            }
        }
    }

    /// Undoes [`act_on`](Self::act_on) when nothing ran, so a later attempt may try again.
    pub(crate) fn release(&self, request_id: &str) {
        if let Some(entry) = self.lock().by_id.get_mut(request_id) {
            entry.acted_on = false;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Entries {
    fn insert(&mut self, request_id: &str, entry: Entry) {
        while self.order.len() >= CAPACITY {
            if let Some(oldest) = self.order.pop_front() {
                self.by_id.remove(&oldest);
            }
        }
        self.order.push_back(request_id.to_owned());
        self.by_id.insert(request_id.to_owned(), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_covers_one_tool_one_digest_once() {
        let ledger = ApprovalLedger::default();
        ledger.asked("r1", "grant_access", "d1");
        assert!(matches!(
            ledger.act_on("r1", "delete_user", "d1"),
            Err(Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::ToolChanged { .. },
                ..
            }))
        ));
        assert!(matches!(
            ledger.act_on("r1", "grant_access", "d2"),
            Err(Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::ArgumentsChanged,
                ..
            }))
        ));
        assert_eq!(
            ledger.act_on("r1", "grant_access", "d1").unwrap(),
            Asked::Here
        );
        assert!(matches!(
            ledger.act_on("r1", "grant_access", "d1"),
            Err(Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::AlreadyUsed,
                ..
            }))
        ));
        ledger.release("r1");
        ledger.act_on("r1", "grant_access", "d1").unwrap();
    }

    #[test]
    fn an_approval_asked_elsewhere_is_bound_at_first_use() {
        let ledger = ApprovalLedger::default();
        assert_eq!(
            ledger.act_on("r9", "grant_access", "d1").unwrap(),
            Asked::Elsewhere
        );
        assert!(matches!(
            ledger.act_on("r9", "grant_access", "d1"),
            Err(Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::AlreadyUsed,
                ..
            }))
        ));
        ledger.release("r9");
        assert!(matches!(
            ledger.act_on("r9", "terraform_apply", "d1"),
            Err(Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::ToolChanged { .. },
                ..
            }))
        ));
    }

    #[test]
    fn the_ledger_is_bounded() {
        let ledger = ApprovalLedger::default();
        for i in 0..CAPACITY + 10 {
            ledger.asked(&format!("r{i}"), "t", "d");
        }
        let entries = ledger.lock();
        assert_eq!(entries.by_id.len(), CAPACITY);
        assert!(!entries.by_id.contains_key("r0"));
        assert!(entries.by_id.contains_key(&format!("r{}", CAPACITY + 9)));
    }
}
