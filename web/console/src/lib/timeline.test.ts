import { describe, expect, it } from 'vitest'
import { Outbox, byActivity, cannedQuery, firstGap, inView, mergeBySeq, statusesFor } from './timeline'
import type { Conversation, Message } from './types'

const msg = (seq: number, content = `m${seq}`): Message => ({
  id: `id${seq}`,
  conversation_id: 'c1',
  seq,
  client_msg_id: null,
  sender: { kind: 'visitor', id: 'v' },
  kind: 'text',
  content,
  attachment: null,
  created_at: seq,
})

describe('mergeBySeq', () => {
  it('appends the live message and keeps the same array when nothing is new', () => {
    const held = [msg(1), msg(2)]
    expect(mergeBySeq(held, [msg(3)]).map((m) => m.seq)).toEqual([1, 2, 3])
    expect(mergeBySeq(held, [msg(2, 'other')])).toBe(held)
    expect(mergeBySeq(held, [])).toBe(held)
  })
  it('fills gaps and older pages in seq order, first copy wins', () => {
    const held = [msg(4), msg(7)]
    const merged = mergeBySeq(held, [msg(7, 'dup'), msg(5), msg(1), msg(6)])
    expect(merged.map((m) => m.seq)).toEqual([1, 4, 5, 6, 7])
    expect(merged.find((m) => m.seq === 7)?.content).toBe('m7')
  })
})

describe('firstGap', () => {
  it('finds holes and a missing tail', () => {
    expect(firstGap([], 0)).toBeNull()
    expect(firstGap([], 3)).toBe(1)
    expect(firstGap([msg(1), msg(2), msg(4)], 4)).toBe(3)
    expect(firstGap([msg(1), msg(2)], 5)).toBe(3)
    expect(firstGap([msg(1), msg(2)], 2)).toBeNull()
  })
})

describe('Outbox', () => {
  const pending = (id: string) => ({
    client_msg_id: id,
    conversation_id: 'c1',
    kind: 'text' as const,
    content: id,
    state: 'sending' as const,
    created_at: 0,
  })
  it('resends unacked sends in order, drops acked, keeps failed for a retry', () => {
    const o = new Outbox()
    o.add(pending('a'))
    o.add(pending('b'))
    o.add(pending('c'))
    expect(o.ack('a')?.content).toBe('a')
    o.error('b', 'rate_limited', 'slow down')
    o.error('c', 'conversation_closed', 'closed')
    expect(o.toSend().map((p) => p.client_msg_id)).toEqual(['b'])
    expect(o.of('c1').find((p) => p.client_msg_id === 'c')?.state).toBe('failed')
    // The code is kept so the console can word the error in the agent's language.
    expect(o.of('c1').find((p) => p.client_msg_id === 'c')?.errorCode).toBe('conversation_closed')
    o.retry('c')
    expect(o.of('c1').find((p) => p.client_msg_id === 'c')?.errorCode).toBeUndefined()
    expect(o.toSend().map((p) => p.client_msg_id)).toEqual(['b', 'c'])
    o.discard('b')
    expect(o.items.map((p) => p.client_msg_id)).toEqual(['c'])
    expect(o.ack('unknown')).toBeUndefined()
  })
})

describe('views', () => {
  const conv = (id: string, at: number, assignee: string | null, status = 'open'): Conversation =>
    ({ id, last_activity_at: at, assignee_id: assignee, status }) as Conversation
  it('filters by view and status, sorts by activity', () => {
    const cs = [conv('a', 1, 'me'), conv('b', 3, null), conv('c', 2, 'other', 'resolved')]
    expect(cs.filter((c) => inView(c, 'mine', 'any', 'me')).map((c) => c.id)).toEqual(['a'])
    expect(cs.filter((c) => inView(c, 'unassigned', 'open', 'me')).map((c) => c.id)).toEqual(['b'])
    expect(cs.filter((c) => inView(c, 'all', 'resolved', 'me')).map((c) => c.id)).toEqual(['c'])
    expect([...cs].sort(byActivity).map((c) => c.id)).toEqual(['b', 'c', 'a'])
  })
  it('shows the conversations waiting in a line under "open", except in "mine"', () => {
    const cs = [conv('a', 1, 'me'), conv('q', 2, null, 'queued'), conv('b', 3, null, 'bot'), conv('o', 4, null)]
    const ids = (view: 'mine' | 'unassigned' | 'all', status: string) => cs.filter((c) => inView(c, view, status, 'me')).map((c) => c.id)
    expect(ids('unassigned', 'open')).toEqual(['q', 'o'])
    expect(ids('all', 'open')).toEqual(['a', 'q', 'o'])
    expect(ids('all', 'queued')).toEqual(['q'])
    expect(ids('all', 'bot')).toEqual(['b'])
    expect(ids('mine', 'open')).toEqual(['a'])
    expect(statusesFor('open', 'unassigned')).toEqual(['open', 'queued'])
    expect(statusesFor('open', 'mine')).toEqual(['open'])
    expect(statusesFor('any', 'all')).toBe('any')
  })
  it('reads a canned-reply shortcut being typed', () => {
    expect(cannedQuery('/ref')).toBe('ref')
    expect(cannedQuery('/')).toBe('')
    expect(cannedQuery('/退款')).toBe('退款')
    expect(cannedQuery('hello /ref')).toBeNull()
    expect(cannedQuery('/ref und')).toBeNull()
  })
})
