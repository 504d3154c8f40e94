// Pure logic of the conversation view: merging messages by seq, and the
// console's outbox of sends awaiting their ack. No I/O; unit-tested.

import type { Conversation, Message } from './types'

/**
 * Merges `incoming` into `held` (both ordered by seq): one entry per seq, the
 * stored copy wins, order by seq. Returns a new array only when something changed.
 */
export function mergeBySeq(held: Message[], incoming: Message[]): Message[] {
  if (incoming.length === 0) return held
  const last = held.length ? held[held.length - 1].seq : 0
  // The live case: one new message after everything held.
  if (incoming.length === 1 && incoming[0].seq > last) return [...held, incoming[0]]
  const bySeq = new Map<number, Message>()
  for (const m of held) bySeq.set(m.seq, m)
  let changed = false
  for (const m of incoming) {
    if (!bySeq.has(m.seq)) {
      bySeq.set(m.seq, m)
      changed = true
    }
  }
  if (!changed) return held
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq)
}

/** The first seq missing between the oldest held message and `upto`, if any (a gap to fetch). */
export function firstGap(held: Message[], upto: number): number | null {
  if (held.length === 0) return upto > 0 ? 1 : null
  for (let i = 1; i < held.length; i++) {
    if (held[i].seq !== held[i - 1].seq + 1) return held[i - 1].seq + 1
  }
  const last = held[held.length - 1].seq
  return last < upto ? last + 1 : null
}

/** A send awaiting its ack. */
export interface Pending {
  client_msg_id: string
  conversation_id: string
  kind: 'text' | 'note' | 'image' | 'file'
  content: string
  attachment_id?: string
  attachment_name?: string
  state: 'sending' | 'failed'
  /** The server's English detail of a failed send (limit numbers are read from it). */
  error?: string
  /** The server's error code of a failed send: the console words the error from it (errors.ts). */
  errorCode?: string
  created_at: number
}

/** Error codes after which a send may succeed when retried as is (docs/protocol.md). */
export function retryable(code: string): boolean {
  return code === 'rate_limited' || code === 'unavailable' || code === 'internal' || code === 'busy'
}

/** Outbox: sends in the order typed; acked ones leave, failed ones stay for a manual retry. */
export class Outbox {
  items: Pending[] = []

  add(p: Pending) {
    this.items.push(p)
  }

  ack(client_msg_id: string): Pending | undefined {
    const i = this.items.findIndex((p) => p.client_msg_id === client_msg_id)
    if (i < 0) return undefined
    return this.items.splice(i, 1)[0]
  }

  /** An error for a send: retryable ones stay `sending` (sent again on reconnect), the rest fail. */
  error(client_msg_id: string, code: string, message: string) {
    const p = this.items.find((x) => x.client_msg_id === client_msg_id)
    if (!p) return
    if (!retryable(code)) {
      p.state = 'failed'
      p.error = message
      p.errorCode = code
    }
  }

  /** What to (re)send after a (re)connect: everything not failed, oldest first. */
  toSend(): Pending[] {
    return this.items.filter((p) => p.state === 'sending')
  }

  retry(client_msg_id: string): Pending | undefined {
    const p = this.items.find((x) => x.client_msg_id === client_msg_id)
    if (p) {
      p.state = 'sending'
      p.error = undefined
      p.errorCode = undefined
    }
    return p
  }

  discard(client_msg_id: string) {
    this.items = this.items.filter((p) => p.client_msg_id !== client_msg_id)
  }

  of(conversation_id: string): Pending[] {
    return this.items.filter((p) => p.conversation_id === conversation_id)
  }
}

export type View = 'mine' | 'unassigned' | 'all'

/**
 * The statuses a status filter shows: "open" also shows the conversations
 * waiting in a routing line (queued), except in "mine" (a queued one has no
 * agent); every other filter shows its own status.
 */
export function statusesFor(status: string, view: View): string[] | 'any' {
  if (status === 'any') return 'any'
  if (status === 'open' && view !== 'mine') return ['open', 'queued']
  return [status]
}

/** Whether a conversation belongs in a list view (status filter included). */
export function inView(c: Conversation, view: View, status: string, me: string): boolean {
  const statuses = statusesFor(status, view)
  if (statuses !== 'any' && !statuses.includes(c.status)) return false
  if (view === 'mine') return c.assignee_id === me
  if (view === 'unassigned') return c.assignee_id === null
  return true
}

/** Conversations newest activity first (ties by id, as the API pages them). */
export function byActivity(a: Conversation, b: Conversation): number {
  return b.last_activity_at - a.last_activity_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
}

/** `/short` at the start of the composer: the canned-reply query, or null. */
export function cannedQuery(text: string): string | null {
  const m = /^\/([\p{L}\p{N}_-]{0,32})$/u.exec(text)
  return m ? m[1].toLowerCase() : null
}
