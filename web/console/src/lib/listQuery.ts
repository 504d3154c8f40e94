// The inbox list's filters and order: how they read from and write to the
// URL, how the API is asked, and how the console keeps live rows in the same
// order and scope as the server does. Pure, so it is unit-tested.

import type { Conversation, Priority } from './types'
import type { View } from './timeline'

export type Sort = 'activity' | 'created' | 'priority' | 'waiting'
export const SORTS: Sort[] = ['activity', 'waiting', 'created', 'priority']

/** Everything that narrows the list besides the view tab. */
export interface Filters {
  status: string
  inbox: string
  group: string
  agent: string
  label: string
  priority: '' | Priority
  sort: Sort
}

export const DEFAULT_FILTERS: Filters = { status: 'open', inbox: '', group: '', agent: '', label: '', priority: '', sort: 'activity' }

const VIEWS: View[] = ['mine', 'unassigned', 'all']
const PRIORITIES = ['low', 'normal', 'high', 'urgent']

/** The view and filters a URL query holds (unknown values fall back to the defaults). */
export function fromQuery(q: URLSearchParams): { view: View | null; filters: Filters } {
  const f = { ...DEFAULT_FILTERS }
  const view = q.get('view')
  for (const k of ['status', 'inbox', 'group', 'agent', 'label'] as const) {
    const v = q.get(k)
    if (v !== null) f[k] = v
  }
  const p = q.get('priority')
  if (p && PRIORITIES.includes(p)) f.priority = p as Priority
  const s = q.get('sort')
  if (s && (SORTS as string[]).includes(s)) f.sort = s as Sort
  return { view: view && (VIEWS as string[]).includes(view) ? (view as View) : null, filters: f }
}

/**
 * The URL query of a view and filters, defaults left out: a plain list keeps
 * a plain URL (and going back to it is a hash change, not a new page load).
 */
export function toQuery(view: View, f: Filters): URLSearchParams {
  const q = new URLSearchParams()
  if (view !== 'all') q.set('view', view)
  for (const k of Object.keys(DEFAULT_FILTERS) as (keyof Filters)[]) {
    if (f[k] !== DEFAULT_FILTERS[k]) q.set(k, f[k])
  }
  return q
}

/** The API's query parameters for the filters (the view and paging are added by the caller). */
export function apiFilters(f: Filters, statuses: string[] | 'any'): URLSearchParams {
  const q = new URLSearchParams()
  if (statuses !== 'any') q.set('status', statuses.join(','))
  if (f.inbox) q.set('inbox_id', f.inbox)
  if (f.group) q.set('group', f.group)
  if (f.label) q.set('label', f.label)
  if (f.priority) q.set('priority', f.priority)
  if (f.sort !== 'activity') q.set('sort', f.sort)
  return q
}

const RANK: Record<string, number> = { low: 0, normal: 1, high: 2, urgent: 3 }
const NOT_WAITING = 9_000_000_000_000_000
const RANK_STEP = 10_000_000_000_000

/** The key the server sorts by, descending (kefu_store::ListSort::key). */
export function sortKey(c: Conversation, sort: Sort): number {
  switch (sort) {
    case 'created':
      return c.created_at
    case 'priority':
      return (RANK[c.priority] ?? 1) * RANK_STEP + c.last_activity_at
    case 'waiting':
      return -(c.waiting_since ?? NOT_WAITING)
    default:
      return c.last_activity_at
  }
}

/** Rows in the server's order: key descending, then id descending. */
export function compareBy(sort: Sort): (a: Conversation, b: Conversation) => number {
  return (a, b) => sortKey(b, sort) - sortKey(a, sort) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
}

/**
 * Whether a conversation passes the filters the console can check itself
 * (the group it went through is the server's to know: `listed` holds the ids
 * the server returned for a group filter).
 */
export function passes(c: Conversation, f: Filters, listed: Set<string>): boolean {
  if (f.inbox && c.inbox_id !== f.inbox) return false
  if (f.agent && c.assignee_id !== f.agent) return false
  if (f.label && !(c.tags ?? []).includes(f.label)) return false
  if (f.priority && c.priority !== f.priority) return false
  if (f.group && !listed.has(c.id)) return false
  return true
}
