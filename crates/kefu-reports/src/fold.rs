//! The metric definitions: a conversation's report state and the facts each
//! step adds. [`apply`] is the only place a metric is defined; the store
//! only sums what comes out (docs/reports.md says the same in words).

use crate::{Calendar, Metric, Step};
use kefu_core::ConversationStatus as S;
use serde::{Deserialize, Serialize};

/// What reports remember of one conversation between its events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConvState {
    pub inbox_id: String,
    /// When it was created (the resolution time's start).
    pub created_at: Option<i64>,
    pub status: Option<S>,
    pub assignee: Option<String>,
    /// The group it was last routed, queued, claimed or transferred through.
    pub group: Option<String>,
    /// Where the first response time runs from: the creation, or the bot's
    /// hand-off.
    pub clock_from: Option<i64>,
    /// A person has replied (the first response is taken).
    pub responded: bool,
    /// Since when the customer has waited for a person's reply.
    pub waiting_since: Option<i64>,
    /// The line it waits in, and since when.
    pub queued: Option<(String, i64)>,
    /// The bot has had it.
    pub bot: bool,
    /// The bot has given it to people.
    pub handed_off: bool,
}

/// One row of the reports' fact table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub metric: Metric,
    /// When it happened (epoch ms): the end of a duration. Reports put a
    /// fact in the day and hour it happened.
    pub at: i64,
    /// Milliseconds for durations (the rating for CSAT); `None` for counts.
    pub value: Option<i64>,
    /// The same duration counting only the inbox's business hours.
    pub value_bh: Option<i64>,
    pub agent: Option<String>,
    pub group: Option<String>,
    pub inbox: String,
}

fn resolved_like(s: S) -> bool {
    matches!(s, S::Resolved | S::Closed)
}

impl ConvState {
    fn count(&self, metric: Metric, at: i64, agent: Option<String>) -> Fact {
        Fact {
            metric,
            at,
            value: None,
            value_bh: None,
            agent,
            group: self.group.clone(),
            inbox: self.inbox_id.clone(),
        }
    }

    fn span(
        &self,
        metric: Metric,
        from: i64,
        at: i64,
        agent: Option<String>,
        cal: &dyn Calendar,
    ) -> Fact {
        let value = (at - from).max(0);
        Fact {
            value: Some(value),
            value_bh: Some(cal.open_ms(from, at).min(value)),
            ..self.count(metric, at, agent)
        }
    }

    fn enter_bot(&mut self, at: i64, out: &mut Vec<Fact>) {
        if !self.bot {
            self.bot = true;
            out.push(self.count(Metric::BotConversations, at, None));
        }
        // The bot answers now: nobody waits for a person.
        self.waiting_since = None;
    }

    /// The bot's hand-off (its event, or the status leaving `bot` for people;
    /// whichever comes first, once per conversation).
    fn hand_off(&mut self, at: i64, out: &mut Vec<Fact>) {
        if self.bot && !self.handed_off {
            self.handed_off = true;
            if !self.responded {
                self.clock_from = Some(at);
            }
            out.push(self.count(Metric::HandedOff, at, None));
        }
    }

    /// A wait in a line ends; `agent` when someone took it.
    fn leave_line(
        &mut self,
        at: i64,
        agent: Option<String>,
        cal: &dyn Calendar,
        out: &mut Vec<Fact>,
    ) {
        if let Some((group, since)) = self.queued.take() {
            let metric = if agent.is_some() {
                Metric::QueueWait
            } else {
                Metric::QueueAbandoned
            };
            let mut f = self.span(metric, since, at, agent, cal);
            f.group = Some(group);
            out.push(f);
        }
    }
}

/// Folds one step (at `at`, epoch ms) into `state`; returns the facts it
/// adds. `cal` is the inbox's business hours.
pub fn apply(state: &mut ConvState, at: i64, step: &Step, cal: &dyn Calendar) -> Vec<Fact> {
    let mut out = Vec::new();
    match step {
        Step::Created { inbox_id, status } => {
            if state.created_at.is_some() {
                return out;
            }
            state.inbox_id = inbox_id.clone();
            state.created_at = Some(at);
            state.clock_from = Some(at);
            state.status = Some(*status);
            out.push(state.count(Metric::ConversationsOpened, at, None));
            if *status == S::Bot {
                state.enter_bot(at, &mut out);
            }
        }
        Step::CustomerMessage => {
            let with_bot = state.status == Some(S::Bot);
            if state.waiting_since.is_none() && !with_bot {
                state.waiting_since = Some(at);
            }
        }
        Step::AgentReply { agent } => {
            if !state.responded {
                state.responded = true;
                let from = state.clock_from.or(state.created_at).unwrap_or(at);
                out.push(state.span(Metric::FirstResponse, from, at, Some(agent.clone()), cal));
            } else if let Some(since) = state.waiting_since {
                out.push(state.span(Metric::ReplyTime, since, at, Some(agent.clone()), cal));
            }
            state.waiting_since = None;
        }
        Step::StatusChanged { from, to } => {
            if *to == S::Bot {
                state.enter_bot(at, &mut out);
            }
            if *from == S::Bot && matches!(to, S::Queued | S::Open) {
                state.hand_off(at, &mut out);
            }
            if resolved_like(*from) && to.is_active() {
                out.push(state.count(Metric::ConversationsReopened, at, state.assignee.clone()));
            }
            let resolves = *to == S::Resolved || (*to == S::Closed && *from != S::Resolved);
            if resolves {
                state.leave_line(at, None, cal, &mut out);
                let start = state.created_at.unwrap_or(at);
                out.push(state.span(
                    Metric::ConversationsResolved,
                    start,
                    at,
                    state.assignee.clone(),
                    cal,
                ));
                if state.bot && !state.handed_off && !state.responded {
                    out.push(state.count(Metric::BotResolved, at, None));
                }
            }
            if matches!(to, S::Pending | S::Resolved | S::Closed) {
                // Parked or done: the customer is not waiting for a reply.
                state.waiting_since = None;
            }
            state.status = Some(*to);
        }
        Step::Assigned { to, group } => {
            if group.is_some() {
                state.group = group.clone();
            }
            state.assignee = Some(to.clone());
            state.leave_line(at, Some(to.clone()), cal, &mut out);
        }
        Step::Unassigned => state.assignee = None,
        Step::Transferred { to_group } => {
            out.push(state.count(Metric::Transfers, at, state.assignee.clone()));
            if to_group.is_some() {
                state.group = to_group.clone();
            }
        }
        Step::Queued { group } => {
            let same = matches!(&state.queued, Some((g, _)) if g == group);
            if !same {
                // Moved from one line to another: the first wait ends unserved.
                state.leave_line(at, None, cal, &mut out);
                state.queued = Some((group.clone(), at));
            }
            state.group = Some(group.clone());
        }
        Step::Offline => state.leave_line(at, None, cal, &mut out),
        Step::HandedOff => state.hand_off(at, &mut out),
        Step::Rated { rating } => {
            // The rating, not a duration: the same in business time.
            let r = i64::from(*rating);
            out.push(Fact {
                value: Some(r),
                value_bh: Some(r),
                ..state.count(Metric::Csat, at, state.assignee.clone())
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AlwaysOpen;
    use kefu_routing::clock::{BusinessHours, Period};

    const MIN: i64 = 60_000;

    /// Folds a timeline of (minute, step); returns every fact.
    fn run(steps: &[(i64, Step)], cal: &dyn Calendar) -> (ConvState, Vec<Fact>) {
        let mut st = ConvState::default();
        let mut facts = Vec::new();
        for (m, s) in steps {
            facts.extend(apply(&mut st, m * MIN, s, cal));
        }
        (st, facts)
    }

    fn of(facts: &[Fact], m: Metric) -> Vec<&Fact> {
        facts.iter().filter(|f| f.metric == m).collect()
    }

    fn created(status: S) -> Step {
        Step::Created {
            inbox_id: "web".into(),
            status,
        }
    }
    fn status(from: S, to: S) -> Step {
        Step::StatusChanged { from, to }
    }
    fn reply(a: &str) -> Step {
        Step::AgentReply { agent: a.into() }
    }
    fn assigned(a: &str, g: Option<&str>) -> Step {
        Step::Assigned {
            to: a.into(),
            group: g.map(Into::into),
        }
    }

    #[test]
    fn first_response_reply_time_and_resolution() {
        let (_, f) = run(
            &[
                (0, created(S::Open)),
                (0, Step::CustomerMessage),
                (1, assigned("ann", Some("sales"))),
                (4, reply("ann")),
                (10, Step::CustomerMessage),
                (11, Step::CustomerMessage),
                (13, reply("ann")),
                (14, reply("ann")), // nobody waited: no reply time
                (20, status(S::Open, S::Resolved)),
            ],
            &AlwaysOpen,
        );
        assert_eq!(of(&f, Metric::ConversationsOpened).len(), 1);
        let fr = of(&f, Metric::FirstResponse);
        assert_eq!(fr.len(), 1);
        assert_eq!(fr[0].value, Some(4 * MIN));
        assert_eq!(fr[0].agent.as_deref(), Some("ann"));
        assert_eq!(fr[0].group.as_deref(), Some("sales"));
        let rt = of(&f, Metric::ReplyTime);
        assert_eq!(rt.len(), 1);
        assert_eq!(
            rt[0].value,
            Some(3 * MIN),
            "from the first unanswered message"
        );
        let res = of(&f, Metric::ConversationsResolved);
        assert_eq!(res[0].value, Some(20 * MIN));
        assert_eq!(res[0].agent.as_deref(), Some("ann"));
        assert!(of(&f, Metric::BotResolved).is_empty());
    }

    #[test]
    fn after_a_bot_hand_off_the_first_response_runs_from_the_hand_off() {
        let (st, f) = run(
            &[
                (0, created(S::Bot)),
                (0, Step::CustomerMessage),
                (2, Step::CustomerMessage),
                (5, Step::HandedOff),
                (5, status(S::Bot, S::Queued)),
                (
                    5,
                    Step::Queued {
                        group: "support".into(),
                    },
                ),
                (9, assigned("bob", Some("support"))),
                (12, reply("bob")),
            ],
            &AlwaysOpen,
        );
        assert_eq!(of(&f, Metric::BotConversations).len(), 1);
        assert_eq!(
            of(&f, Metric::HandedOff).len(),
            1,
            "once, event and status alike"
        );
        assert_eq!(of(&f, Metric::FirstResponse)[0].value, Some(7 * MIN));
        let q = of(&f, Metric::QueueWait);
        assert_eq!(q[0].value, Some(4 * MIN));
        assert_eq!(q[0].group.as_deref(), Some("support"));
        assert_eq!(q[0].agent.as_deref(), Some("bob"));
        assert!(of(&f, Metric::ReplyTime).is_empty());
        assert!(st.handed_off);
    }

    #[test]
    fn a_conversation_the_bot_resolves_alone_counts_as_bot_resolved() {
        let (_, f) = run(
            &[
                (0, created(S::Open)),
                (0, status(S::Open, S::Bot)),
                (0, Step::CustomerMessage),
                (3, status(S::Bot, S::Resolved)),
            ],
            &AlwaysOpen,
        );
        assert_eq!(of(&f, Metric::BotConversations).len(), 1);
        assert_eq!(of(&f, Metric::BotResolved).len(), 1);
        assert_eq!(of(&f, Metric::ConversationsResolved).len(), 1);
        assert!(of(&f, Metric::HandedOff).is_empty());
    }

    #[test]
    fn a_reopen_counts_and_resolves_again_from_the_creation() {
        let (_, f) = run(
            &[
                (0, created(S::Open)),
                (0, Step::CustomerMessage),
                (1, assigned("ann", None)),
                (2, reply("ann")),
                (5, status(S::Open, S::Resolved)),
                (30, status(S::Resolved, S::Open)),
                (30, Step::CustomerMessage),
                (33, reply("ann")),
                (40, status(S::Open, S::Resolved)),
            ],
            &AlwaysOpen,
        );
        assert_eq!(of(&f, Metric::ConversationsOpened).len(), 1);
        assert_eq!(of(&f, Metric::ConversationsReopened).len(), 1);
        let res = of(&f, Metric::ConversationsResolved);
        assert_eq!(
            res.iter().map(|r| r.value).collect::<Vec<_>>(),
            vec![Some(5 * MIN), Some(40 * MIN)]
        );
        // The reply after the reopen is a reply time, not a second first response.
        assert_eq!(of(&f, Metric::FirstResponse).len(), 1);
        assert_eq!(of(&f, Metric::ReplyTime)[0].value, Some(3 * MIN));
    }

    #[test]
    fn a_transfer_moves_the_group_and_the_line_wait_ends_unserved() {
        let (_, f) = run(
            &[
                (0, created(S::Open)),
                (0, Step::CustomerMessage),
                (
                    0,
                    Step::Queued {
                        group: "sales".into(),
                    },
                ),
                (
                    6,
                    Step::Transferred {
                        to_group: Some("billing".into()),
                    },
                ),
                (
                    6,
                    Step::Queued {
                        group: "billing".into(),
                    },
                ),
                (8, assigned("cid", Some("billing"))),
                (9, reply("cid")),
                (10, status(S::Open, S::Resolved)),
            ],
            &AlwaysOpen,
        );
        assert_eq!(of(&f, Metric::Transfers).len(), 1);
        let ab = of(&f, Metric::QueueAbandoned);
        assert_eq!(ab.len(), 1);
        assert_eq!(
            (ab[0].group.as_deref(), ab[0].value),
            (Some("sales"), Some(6 * MIN))
        );
        let q = of(&f, Metric::QueueWait);
        assert_eq!(
            (q[0].group.as_deref(), q[0].value),
            (Some("billing"), Some(2 * MIN))
        );
        let fr = of(&f, Metric::FirstResponse);
        assert_eq!(
            (fr[0].agent.as_deref(), fr[0].group.as_deref()),
            (Some("cid"), Some("billing"))
        );
        assert_eq!(
            of(&f, Metric::ConversationsResolved)[0].group.as_deref(),
            Some("billing")
        );
    }

    #[test]
    fn notes_and_pending_do_not_count_as_replies_or_waiting() {
        // A note is not a step at all (Step::of drops it); parking clears the wait.
        let (_, f) = run(
            &[
                (0, created(S::Open)),
                (0, Step::CustomerMessage),
                (1, reply("ann")),
                (2, Step::CustomerMessage),
                (3, status(S::Open, S::Pending)),
                (50, reply("ann")),
            ],
            &AlwaysOpen,
        );
        assert!(of(&f, Metric::ReplyTime).is_empty());
    }

    #[test]
    fn a_rating_counts_for_the_agent_who_had_the_conversation() {
        let (_, f) = run(
            &[
                (0, created(S::Open)),
                (1, assigned("ann", Some("sales"))),
                (2, reply("ann")),
                (3, status(S::Open, S::Resolved)),
                (4, Step::Rated { rating: 4 }),
            ],
            &AlwaysOpen,
        );
        let c = of(&f, Metric::Csat);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].value, c[0].value_bh), (Some(4), Some(4)));
        assert_eq!(
            (c[0].agent.as_deref(), c[0].group.as_deref()),
            (Some("ann"), Some("sales"))
        );
    }

    #[test]
    fn the_same_timeline_folds_to_the_same_facts() {
        let steps = [
            (0, created(S::Bot)),
            (0, Step::CustomerMessage),
            (3, status(S::Bot, S::Open)),
            (4, reply("x")),
        ];
        assert_eq!(run(&steps, &AlwaysOpen), run(&steps, &AlwaysOpen));
        // A second Created (an event seen twice) changes nothing.
        let (mut st, _) = run(&steps, &AlwaysOpen);
        assert!(apply(&mut st, 9 * MIN, &steps[0].1, &AlwaysOpen).is_empty());
    }

    #[test]
    fn business_hours_across_midnight_and_a_holiday() {
        // Shanghai: Monday 22:00-02:00 overnight, Tuesday 09:00-18:00;
        // Wednesday 2026-12-02 is a holiday, Thursday 09:00-18:00.
        let bh = BusinessHours {
            timezone: "Asia/Shanghai".into(),
            periods: vec![
                Period {
                    day: 1,
                    open: "22:00".into(),
                    close: "02:00".into(),
                },
                Period {
                    day: 2,
                    open: "09:00".into(),
                    close: "18:00".into(),
                },
                Period {
                    day: 3,
                    open: "09:00".into(),
                    close: "18:00".into(),
                },
                Period {
                    day: 4,
                    open: "09:00".into(),
                    close: "18:00".into(),
                },
            ],
            holidays: vec!["2026-12-02".into()],
        };
        let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        let mut st = ConvState::default();
        // Created Monday 23:00 local (15:00Z); first reply Tuesday 09:30 local (01:30Z):
        // 10.5 h on the clock, 3 h open (23:00-02:00) + 0.5 h (09:00-09:30).
        apply(&mut st, t("2026-11-30T15:00:00Z"), &created(S::Open), &bh);
        apply(
            &mut st,
            t("2026-11-30T15:00:00Z"),
            &Step::CustomerMessage,
            &bh,
        );
        let fr = apply(&mut st, t("2026-12-01T01:30:00Z"), &reply("ann"), &bh);
        assert_eq!(fr[0].value, Some(630 * MIN));
        assert_eq!(fr[0].value_bh, Some(210 * MIN));
        // The customer writes Tuesday 17:00 local; the answer comes Thursday 10:00:
        // Tuesday 1 h, the holiday none, Thursday 1 h.
        apply(
            &mut st,
            t("2026-12-01T09:00:00Z"),
            &Step::CustomerMessage,
            &bh,
        );
        let rt = apply(&mut st, t("2026-12-03T02:00:00Z"), &reply("ann"), &bh);
        assert_eq!(rt[0].metric, Metric::ReplyTime);
        assert_eq!(rt[0].value, Some(41 * 60 * MIN));
        assert_eq!(rt[0].value_bh, Some(120 * MIN));
    }
}
