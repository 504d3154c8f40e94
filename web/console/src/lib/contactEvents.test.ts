import { describe, expect, it } from 'vitest'
import { mergeContactEvents, showData } from './contactEvents'
import type { BusinessEvent } from './types'

const ev = (id: string, occurred_at: number, title = id): BusinessEvent => ({
  id,
  contact_id: 'k1',
  event_type: 'order.refunded',
  title,
  data: {},
  occurred_at,
  source: 'signed',
})

describe('contact events', () => {
  it('holds them newest first, one per id, whatever order they come in', () => {
    const listed = [ev('b', 200), ev('a', 100)]
    // A live frame for a new event, and one for an event the list already had.
    const merged = mergeContactEvents(listed, [ev('c', 300), ev('a', 100, 'again')])
    expect(merged.map((e) => e.id)).toEqual(['c', 'b', 'a'])
    expect(merged[2].title).toBe('again')
    // An event that happened earlier but arrives later goes in its place.
    expect(mergeContactEvents(merged, [ev('old', 50)]).map((e) => e.id)).toEqual(['c', 'b', 'a', 'old'])
    // Same time: the later id (recorded later) first.
    expect(mergeContactEvents([ev('x1', 5)], [ev('x2', 5)]).map((e) => e.id)).toEqual(['x2', 'x1'])
    expect(mergeContactEvents(listed, [])).toBe(listed)
  })

  it('shows data as JSON, nothing when empty', () => {
    expect(showData({})).toBe('')
    expect(showData(null)).toBe('')
    expect(showData({ order_id: '6610' })).toBe('{\n  "order_id": "6610"\n}')
  })
})
