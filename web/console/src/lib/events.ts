// Pure logic of the conversation timeline's audit lines: what each event of
// GET /api/v1/conversations/{id}/events says, in the agent's language, and
// where it goes among the messages. No I/O; unit-tested.

import { fill, type Dict } from './strings'
import { tagChanges } from './labels'
import type { ConvEvent, Message } from './types'

/** An agent's display name from an id (unknown ids get a generic word). */
export type NameOf = (id: string) => string

// Kinds are the event types of the events backbone (`conversation_assigned`,
// …); rows stored before it carry the short names (`assigned`, …), which
// are still read.

/** Kinds whose line carries what a status change at the same moment would repeat. */
const COVERS_STATUS = new Set([
  'assigned', 'transferred', 'offline',
  'conversation_assigned', 'conversation_transferred', 'conversation_offline', 'conversation_queued',
  'conversation_handed_off',
])
/** Kinds a transfer's line at the same moment already says (unassigned, queued, assigned). */
const COVERED_BY_TRANSFER = new Set(['conversation_unassigned', 'conversation_queued', 'conversation_assigned'])

/**
 * The events worth a line: not the creation (the first message says it),
 * and not what another line of the same write says already: a status
 * change next to an assignment, transfer, queueing or offline follow-up;
 * the parts of a transfer; the `offline` tag of an offline follow-up.
 */
export function visibleEvents(events: readonly ConvEvent[]): ConvEvent[] {
  const at = (kinds: Set<string>) => new Set(events.filter((e) => kinds.has(e.kind)).map((e) => e.created_at))
  const covered = at(COVERS_STATUS)
  const transfers = at(new Set(['conversation_transferred']))
  const offline = at(new Set(['conversation_offline']))
  return events.filter((e) => {
    if (e.kind === 'created' || e.kind === 'conversation_created') return false
    if ((e.kind === 'status_changed' || e.kind === 'conversation_status_changed') && covered.has(e.created_at)) return false
    if (COVERED_BY_TRANSFER.has(e.kind) && transfers.has(e.created_at)) return false
    if (e.kind === 'conversation_labels_changed' && offline.has(e.created_at)) return false
    return true
  })
}

const STATUSES = ['bot', 'queued', 'open', 'pending', 'resolved', 'closed'] as const

function statusName(d: Dict, s: unknown): string {
  return (STATUSES as readonly unknown[]).includes(s) ? d[s as (typeof STATUSES)[number]] : String(s)
}

function priorityName(d: Dict, p: unknown): string {
  const k = String(p) as keyof Dict['priorities']
  return d.priorities[k] ?? String(p)
}

function offlineWhy(d: Dict, reason: unknown, group: unknown): string {
  const g = typeof group === 'string' && group ? group : null
  if (reason === 'rule') return d.evOfflineRule
  if (reason === 'closed') return g ? fill(d.evOfflineClosedGroup, { group: g }) : d.evOfflineClosed
  if (reason === 'queue_timeout') return g ? fill(d.evOfflineTimeoutGroup, { group: g }) : d.evOfflineTimeout
  return ''
}

/** What an event says, or null for kinds the console does not show. */
export function describeEvent(e: ConvEvent, d: Dict, name: NameOf): string | null {
  const x = e.data ?? {}
  switch (e.kind) {
    case 'status_changed':
    case 'conversation_status_changed':
      if (x.to === 'queued') return x.group ? fill(d.evQueued, { group: x.group }) : d.evQueuedNoGroup
      return fill(d.evStatus, { from: statusName(d, x.from), to: statusName(d, x.to) })
    case 'conversation_queued':
      return fill(d.evQueued, { group: x.group })
    case 'conversation_unassigned':
      return d.evUnassigned
    case 'assigned':
    case 'conversation_assigned':
      if (!x.to) return d.evUnassigned
      if (x.by === 'claim') return fill(d.evClaimed, { agent: name(x.to) })
      if (x.by === 'routing' && x.group) return fill(d.evAssignedByRouting, { agent: name(x.to), group: x.group })
      return fill(d.evAssigned, { agent: name(x.to) })
    case 'conversation_transferred':
      if (x.reason === 'queue_timeout') return fill(d.evQueueTimeoutMove, { from: x.from_group, group: x.to_group })
      if (x.reason === 'group_deleted') return fill(d.evGroupDeleted, { group: x.from_group })
      if (x.to_agent) return x.from_agent && x.from_agent !== x.to_agent ? fill(d.evTransferredFromTo, { from: name(x.from_agent), agent: name(x.to_agent) }) : fill(d.evTransferredTo, { agent: name(x.to_agent) })
      if (x.to_group) return fill(d.evTransferredToGroup, { group: x.to_group })
      return null
    case 'transferred':
      if (x.from_group && x.group) return fill(d.evQueueTimeoutMove, { from: x.from_group, group: x.group })
      if (x.to) return x.from && x.from !== x.to ? fill(d.evTransferredFromTo, { from: name(x.from), agent: name(x.to) }) : fill(d.evTransferredTo, { agent: name(x.to) })
      if (x.group) return fill(d.evTransferredToGroup, { group: x.group })
      return null
    case 'conversation_snoozed':
      return typeof x.until === 'number' ? fill(d.evSnoozed, { time: new Date(x.until).toLocaleString() }) : null
    case 'conversation_priority_changed':
      return fill(d.evPriority, { from: priorityName(d, x.from), to: priorityName(d, x.to) })
    case 'conversation_labels_changed': {
      const changes = [...(x.added ?? []).map((t: string) => `+${t}`), ...(x.removed ?? []).map((t: string) => `−${t}`)].join(' ')
      return changes ? fill(d.evTags, { changes }) : null
    }
    case 'labels_changed': {
      const parts: string[] = []
      if (x.priority) parts.push(fill(d.evPriority, { from: priorityName(d, x.priority.from), to: priorityName(d, x.priority.to) }))
      if (x.tags) {
        const { added, removed } = tagChanges(x.tags.from ?? [], x.tags.to ?? [])
        const changes = [...added.map((t) => `+${t}`), ...removed.map((t) => `−${t}`)].join(' ')
        if (changes) parts.push(fill(d.evTags, { changes }))
      }
      return parts.length ? parts.join(' · ') : null
    }
    case 'conversation_handed_off':
      return fill(d.evHandedOff, { why: d.evHandOffWhy[String(x.reason)] ?? '' })
    case 'conversation_rated': {
      const n = Math.max(0, Math.min(5, Math.round(Number(x.rating) || 0)))
      const comment = typeof x.comment === 'string' && x.comment ? `: “${x.comment}”` : ''
      return fill(d.evRated, { stars: '★'.repeat(n) + '☆'.repeat(5 - n), n, comment })
    }
    case 'offline':
    case 'conversation_offline': {
      const why = offlineWhy(d, x.reason, x.group)
      return why ? fill(d.evOfflineWhy, { why }) : d.evOffline
    }
    default:
      return null
  }
}

/** Who caused an event: an agent's name, "Routing", "System", "Visitor" or "API". */
export function actorName(e: ConvEvent, d: Dict, name: NameOf): string {
  if (e.actor_kind === 'agent') return name(e.actor_id)
  if (e.actor_kind === 'system') return e.actor_id === 'routing' ? d.routingActor : d.system
  if (e.actor_kind === 'visitor') return d.visitor
  if (e.actor_kind === 'bot') return d.botActor
  return e.actor_kind === 'api' ? 'API' : e.actor_kind
}

/** Merges `incoming` events into `held`: one per id, in the order they happened. */
export function mergeEvents(held: readonly ConvEvent[], incoming: readonly ConvEvent[]): ConvEvent[] {
  if (!incoming.length) return held as ConvEvent[]
  const byId = new Map(held.map((e) => [e.id, e]))
  for (const e of incoming) byId.set(e.id, e)
  // Ids are time-ordered (UUIDv7): the tie-break within a millisecond.
  return [...byId.values()].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

export type TimelineItem = { kind: 'message'; message: Message } | { kind: 'event'; event: ConvEvent }

/**
 * Messages (by seq) with the events between them, by time: an event goes
 * after every message sent at or before it. While older messages are not
 * loaded (`hasOlder`), events from before the first held message wait too.
 */
export function interleave(messages: readonly Message[], events: readonly ConvEvent[], hasOlder: boolean): TimelineItem[] {
  const from = hasOlder && messages.length ? messages[0].created_at : -Infinity
  const evs = events.filter((e) => e.created_at >= from)
  const out: TimelineItem[] = []
  let i = 0
  for (const m of messages) {
    while (i < evs.length && evs[i].created_at < m.created_at) out.push({ kind: 'event', event: evs[i++] })
    out.push({ kind: 'message', message: m })
  }
  while (i < evs.length) out.push({ kind: 'event', event: evs[i++] })
  return out
}
