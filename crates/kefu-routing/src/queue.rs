//! A group's waiting line: by priority (highest first), then arrival.

use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

/// Priorities, lowest to highest, as rules name them (an unknown name
/// ranks as `normal`).
pub fn priority_rank(name: &str) -> u8 {
    name.parse::<kefu_core::Priority>()
        .unwrap_or_default()
        .rank()
}

#[derive(Debug, Clone, Default)]
pub struct Queue {
    order: BTreeSet<(Reverse<u8>, u64, String)>,
    by_id: HashMap<String, (u8, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting {
    pub conversation_id: String,
    pub priority: u8,
    pub arrival: u64,
}

impl Queue {
    /// Adds (or re-prioritises) a conversation; `arrival` orders equal priorities.
    pub fn push(&mut self, id: &str, priority: u8, arrival: u64) {
        self.remove(id);
        self.order
            .insert((Reverse(priority), arrival, id.to_string()));
        self.by_id.insert(id.to_string(), (priority, arrival));
    }

    pub fn remove(&mut self, id: &str) -> bool {
        match self.by_id.remove(id) {
            Some((p, a)) => self.order.remove(&(Reverse(p), a, id.to_string())),
            None => false,
        }
    }

    /// The head of the line, taken out.
    pub fn pop(&mut self) -> Option<Waiting> {
        let (Reverse(priority), arrival, id) = self.order.pop_first()?;
        self.by_id.remove(&id);
        Some(Waiting {
            conversation_id: id,
            priority,
            arrival,
        })
    }

    pub fn peek(&self) -> Option<&str> {
        self.order.first().map(|(_, _, id)| id.as_str())
    }

    /// 1-based place in line (what the visitor sees).
    pub fn position(&self, id: &str) -> Option<usize> {
        let &(p, a) = self.by_id.get(id)?;
        Some(self.order.range(..(Reverse(p), a, id.to_string())).count() + 1)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(|(_, _, id)| id.as_str())
    }
}

/// Expected wait for place `position`: recent handling times (ms) spread over
/// the agents serving the queue. `None` without history or agents.
pub fn estimate_wait_ms(
    position: usize,
    recent_handle_ms: &[u64],
    serving_agents: u32,
) -> Option<u64> {
    if recent_handle_ms.is_empty() || serving_agents == 0 {
        return None;
    }
    let avg = recent_handle_ms.iter().sum::<u64>() / recent_handle_ms.len() as u64;
    Some(avg.saturating_mul(position as u64) / u64::from(serving_agents))
}
