// Pure logic of the contact panel's business events: held newest first,
// one per id, whether they came from the list or live (`contact_event`
// frames), in whatever order. No I/O; unit-tested.

import type { BusinessEvent } from './types'

/** Newest first: by when they happened, then by id (time-ordered, so the later recorded wins a tie). */
function newestFirst(a: BusinessEvent, b: BusinessEvent): number {
  return b.occurred_at - a.occurred_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
}

/** Merges `incoming` into `held`: one per id, newest first. */
export function mergeContactEvents(held: readonly BusinessEvent[], incoming: readonly BusinessEvent[]): BusinessEvent[] {
  if (!incoming.length) return held as BusinessEvent[]
  const byId = new Map(held.map((e) => [e.id, e]))
  for (const e of incoming) byId.set(e.id, e)
  return [...byId.values()].sort(newestFirst)
}

/** The event's data as indented JSON, for the folded part of the panel ('' when there is none). */
export function showData(data: Record<string, unknown> | null | undefined): string {
  if (!data || Object.keys(data).length === 0) return ''
  return JSON.stringify(data, null, 2)
}
