import { describe, expect, it } from 'vitest'
import { DEFAULT_FILTERS, apiFilters, compareBy, fromQuery, passes, toQuery } from './listQuery'
import type { Conversation } from './types'

const conv = (id: string, over: Partial<Conversation> = {}): Conversation => ({
  id,
  workspace_id: 'w',
  inbox_id: 'i1',
  contact_id: 'k',
  status: 'open',
  assignee_id: null,
  last_seq: 1,
  last_activity_at: 100,
  created_at: 10,
  updated_at: 10,
  priority: 'normal',
  tags: [],
  ...over,
})

describe('filters in the URL', () => {
  it('round-trip, with defaults left out', () => {
    const f = { ...DEFAULT_FILTERS, status: 'pending', label: 'vip', priority: 'high' as const, sort: 'waiting' as const }
    const q = toQuery('unassigned', f)
    expect(q.toString()).toBe('view=unassigned&status=pending&label=vip&priority=high&sort=waiting')
    expect(fromQuery(q)).toEqual({ view: 'unassigned', filters: f })
  })
  it('ignore what they do not know', () => {
    expect(fromQuery(new URLSearchParams('view=nope&sort=loudest&priority=max'))).toEqual({ view: null, filters: DEFAULT_FILTERS })
  })
  it('ask the API with its names', () => {
    const f = { ...DEFAULT_FILTERS, inbox: 'i1', group: 'billing', label: 'vip', sort: 'created' as const }
    expect(apiFilters(f, ['open', 'queued']).toString()).toBe('status=open%2Cqueued&inbox_id=i1&group=billing&label=vip&sort=created')
  })
})

describe('live rows', () => {
  it('sort like the server: waiting longest first, nobody waiting last, ties by id', () => {
    const rows = [conv('a', { waiting_since: null }), conv('b', { waiting_since: 50 }), conv('c', { waiting_since: 20 }), conv('d', { waiting_since: null })]
    expect(rows.sort(compareBy('waiting')).map((c) => c.id)).toEqual(['c', 'b', 'd', 'a'])
  })
  it('sort by priority, then activity', () => {
    const rows = [conv('a', { priority: 'low', last_activity_at: 900 }), conv('b', { priority: 'urgent', last_activity_at: 1 }), conv('c', { last_activity_at: 5 }), conv('d', { last_activity_at: 7 })]
    expect(rows.sort(compareBy('priority')).map((c) => c.id)).toEqual(['b', 'd', 'c', 'a'])
  })
  it('pass the filters the console can check', () => {
    const f = { ...DEFAULT_FILTERS, label: 'vip', priority: 'high' as const }
    expect(passes(conv('a', { tags: ['vip'], priority: 'high' }), f, new Set())).toBe(true)
    expect(passes(conv('a', { tags: ['vip2'], priority: 'high' }), f, new Set())).toBe(false)
    expect(passes(conv('a'), { ...DEFAULT_FILTERS, group: 'g' }, new Set(['a']))).toBe(true)
    expect(passes(conv('b'), { ...DEFAULT_FILTERS, group: 'g' }, new Set(['a']))).toBe(false)
    expect(passes(conv('b', { assignee_id: 'u2' }), { ...DEFAULT_FILTERS, agent: 'u1' }, new Set())).toBe(false)
  })
})
