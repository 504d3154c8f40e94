// The conversation lifecycle as the console shows it: how long a customer
// has waited, and when a snooze ends. Pure, so it is unit-tested.

import type { Message } from './types'

/**
 * `waiting_since` after message `m` (the server keeps the same rule, see
 * kefu_core::Waiting): a visitor's message starts the wait if it was not
 * running; a visible answer by an agent or an integration ends it; notes and
 * system lines leave it.
 */
export function waitingAfter(prev: number | null, m: Pick<Message, 'kind' | 'created_at' | 'sender'>): number | null {
  if (m.sender.kind === 'visitor') return prev ?? m.created_at
  const answer = (m.sender.kind === 'agent' || m.sender.kind === 'api') && ['text', 'image', 'file'].includes(m.kind)
  return answer ? null : prev
}

/** The snooze choices of the conversation header. */
export type SnoozeChoice = 'hour' | 'tomorrow' | 'nextWeek'

/**
 * When a snooze chosen at `now` ends, in the agent's local time: an hour
 * later; tomorrow at 9:00; next Monday at 9:00.
 */
export function snoozeUntil(choice: SnoozeChoice, now: Date): number {
  if (choice === 'hour') return now.getTime() + 3_600_000
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate(), 9, 0, 0, 0)
  if (choice === 'tomorrow') d.setDate(d.getDate() + 1)
  else d.setDate(d.getDate() + (((8 - d.getDay()) % 7) || 7))
  return d.getTime()
}

/** A wait as a short duration: `45s`, `12m`, `3h 5m`, `2d 4h` (units from the UI strings). */
export function waitLabel(ms: number, u: { s: string; m: string; h: string; d: string }): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s}${u.s}`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}${u.m}`
  const h = Math.floor(m / 60)
  if (h < 24) return m % 60 ? `${h}${u.h} ${m % 60}${u.m}` : `${h}${u.h}`
  const d = Math.floor(h / 24)
  return h % 24 ? `${d}${u.d} ${h % 24}${u.h}` : `${d}${u.d}`
}
