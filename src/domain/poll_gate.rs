//! The in-process gate in front of device-code polls (RFC 8628 §3.5).
//!
//! A client that ignores the polling interval must not cost a database write per poll.
//! For each pending request this process has polled, the gate remembers the last poll,
//! the interval in force and the client. A poll that comes before the interval has passed
//! is answered `slow_down` from memory (its interval raised by 5 s, as the RFC asks); the
//! raises are written with the next poll that reaches the database. Every other poll (the
//! first, one after the interval, another client's, another instance's) goes to the
//! database, which applies the same rule itself, so several instances stay correct: each
//! one only answers from memory what the database would have answered.
use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::{DevicePoll, SLOW_DOWN_STEP};

/// Most requests remembered (beyond it, polls simply go to the database).
const MAX_SLOTS: usize = 100_000;

#[derive(Debug, Clone)]
struct Slot {
    client_id: String,
    last_poll: i64,
    interval: i64,
    /// raises answered from memory and not yet written
    unsaved: i64,
    expires_at: i64,
}

/// What the gate says about a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Too early: answer `slow_down` with this interval; nothing else to do.
    SlowDown(i64),
    /// Ask the database, adding these seconds of raises answered from memory.
    Ask {
        /// Seconds to add to the stored interval.
        unsaved: i64,
    },
}

/// Remembers the pending requests this process polled.
#[derive(Debug, Default)]
pub struct PollGate {
    slots: Mutex<HashMap<Vec<u8>, Slot>>,
}

impl PollGate {
    /// An empty gate.
    pub fn new() -> PollGate {
        PollGate::default()
    }

    /// Decides a poll of `client_id` for the device code hashed `hash` at `now`.
    pub fn check(&self, hash: &[u8], client_id: &str, now: i64) -> Gate {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let Some(slot) = slots.get_mut(hash) else {
            return Gate::Ask { unsaved: 0 };
        };
        if slot.client_id != client_id || slot.expires_at <= now {
            return Gate::Ask { unsaved: 0 };
        }
        if now.saturating_sub(slot.last_poll) < slot.interval {
            slot.interval = slot.interval.saturating_add(SLOW_DOWN_STEP);
            slot.unsaved = slot.unsaved.saturating_add(SLOW_DOWN_STEP);
            slot.last_poll = now;
            return Gate::SlowDown(slot.interval);
        }
        Gate::Ask {
            unsaved: std::mem::take(&mut slot.unsaved),
        }
    }

    /// Records what the database answered to a poll at `now`: a pending request is
    /// remembered, anything else forgotten.
    pub fn record(&self, hash: &[u8], poll: &DevicePoll, now: i64) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if poll.status != "pending" || poll.expires_at <= now {
            slots.remove(hash);
            return;
        }
        if let Some(slot) = slots.get_mut(hash) {
            if slot.client_id == poll.client_id {
                slot.last_poll = slot.last_poll.max(now);
                slot.interval = slot.interval.max(poll.poll_interval);
            }
            return;
        }
        if slots.len() >= MAX_SLOTS {
            slots.retain(|_, s| s.expires_at > now);
            if slots.len() >= MAX_SLOTS {
                return;
            }
        }
        slots.insert(
            hash.to_vec(),
            Slot {
                client_id: poll.client_id.clone(),
                last_poll: now,
                interval: poll.poll_interval,
                unsaved: 0,
                expires_at: poll.expires_at,
            },
        );
    }

    /// Forgets expired requests.
    pub fn purge(&self, now: i64) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.retain(|_, s| s.expires_at > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(interval: i64) -> DevicePoll {
        DevicePoll {
            client_id: "c".into(),
            status: "pending".into(),
            poll_interval: interval,
            too_fast: false,
            expires_at: 1600,
        }
    }

    #[test]
    fn early_polls_of_a_known_pending_request_are_slowed_down_from_memory() {
        let gate = PollGate::new();
        assert_eq!(gate.check(b"h", "c", 1000), Gate::Ask { unsaved: 0 });
        gate.record(b"h", &pending(5), 1000);
        assert_eq!(gate.check(b"h", "c", 1001), Gate::SlowDown(10));
        assert_eq!(gate.check(b"h", "c", 1002), Gate::SlowDown(15));
        // another client, or an expired request, goes to the database
        assert_eq!(gate.check(b"h", "other", 1002), Gate::Ask { unsaved: 0 });
        assert_eq!(gate.check(b"h", "c", 1600), Gate::Ask { unsaved: 0 });
        // after the raised interval: to the database, with the raises to write
        assert_eq!(gate.check(b"h", "c", 1017), Gate::Ask { unsaved: 10 });
        gate.record(b"h", &pending(15), 1017);
        assert_eq!(gate.check(b"h", "c", 1032), Gate::Ask { unsaved: 0 });
    }

    #[test]
    fn a_decided_request_is_forgotten() {
        let gate = PollGate::new();
        gate.record(b"h", &pending(5), 1000);
        let mut approved = pending(5);
        approved.status = "approved".into();
        gate.record(b"h", &approved, 1005);
        assert_eq!(gate.check(b"h", "c", 1006), Gate::Ask { unsaved: 0 });
        gate.record(b"h", &pending(5), 1000);
        gate.purge(1600);
        assert_eq!(gate.check(b"h", "c", 1001), Gate::Ask { unsaved: 0 });
    }
}
