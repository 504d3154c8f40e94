//! Choosing an agent among a group's members. Pure: the server loads the
//! candidates and makes the choice stick atomically (a conditional update
//! that re-checks capacity), so two decisions never overfill an agent.

/// The strategies are domain words shared with the store and the API.
pub use kefu_core::Strategy;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    /// Online and not away.
    pub online: bool,
    pub capacity: u32,
    /// Conversations assigned now (open or pending).
    pub active: u32,
    /// When this agent last got a conversation (epoch ms; 0 = never).
    pub last_assigned_ms: i64,
}

impl Candidate {
    pub fn eligible(&self) -> bool {
        self.online && self.active < self.capacity
    }
}

/// The agent to assign, or `None` (the conversation waits in the queue).
/// `sticky`: the visitor's previous agent, preferred when eligible.
/// `cursor`: the last agent round-robin gave a conversation to.
/// For `Grab`, this is who the offer goes to first; see [`grab_offer`].
pub fn pick<'a>(
    candidates: &'a [Candidate],
    strategy: Strategy,
    sticky: Option<&str>,
    cursor: Option<&str>,
) -> Option<&'a Candidate> {
    if let Some(s) = sticky
        && let Some(c) = candidates.iter().find(|c| c.id == s && c.eligible())
    {
        return Some(c);
    }
    let eligible = candidates.iter().filter(|c| c.eligible());
    match strategy {
        Strategy::LeastLoaded | Strategy::Grab => eligible.min_by(|a, b| {
            (a.active, a.last_assigned_ms, &a.id).cmp(&(b.active, b.last_assigned_ms, &b.id))
        }),
        Strategy::RoundRobin => {
            let mut sorted: Vec<&Candidate> = eligible.collect();
            sorted.sort_by(|a, b| a.id.cmp(&b.id));
            let after = cursor.and_then(|cur| sorted.iter().find(|c| c.id.as_str() > cur).copied());
            after.or_else(|| sorted.first().copied())
        }
    }
}

/// Everyone a grab-mode conversation is offered to: every eligible member.
pub fn grab_offer(candidates: &[Candidate]) -> Vec<&Candidate> {
    candidates.iter().filter(|c| c.eligible()).collect()
}
