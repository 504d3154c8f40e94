import { describe, expect, it } from 'vitest'
import { acked, backoff, isFatalClose, memoryKV, onSendError, Outbox, Timeline, unread, view, type OutboxEntry } from './state'
import type { WireMessage } from './types'

function msg(conv: string, seq: number, over: Partial<WireMessage> = {}): WireMessage {
  return {
    id: `${conv}-${seq}`,
    conversation_id: conv,
    seq,
    client_msg_id: null,
    sender: { kind: 'agent', id: 'a1' },
    kind: 'text',
    content: `m${seq}`,
    attachment: null,
    created_at: 1000 + seq,
    ...over,
  }
}

function entry(id: string, over: Partial<OutboxEntry> = {}): OutboxEntry {
  return { client_msg_id: id, kind: 'text', content: id, created_at: 5000, ...over }
}

describe('Timeline: merge by seq', () => {
  it('drops a message it already holds (live frame repeated by sync)', () => {
    const t = new Timeline()
    expect(t.add(msg('c', 1))).toBe(true)
    expect(t.add(msg('c', 2))).toBe(true)
    expect(t.add(msg('c', 2))).toBe(false)
    expect(t.messages().map((m) => m.seq)).toEqual([1, 2])
  })

  it('orders out-of-order arrivals and keeps gaps (notes the visitor never sees)', () => {
    const t = new Timeline()
    for (const s of [5, 1, 3, 2]) t.add(msg('c', s))
    expect(t.messages().map((m) => m.seq)).toEqual([1, 2, 3, 5])
    expect(t.highest('c')).toBe(5)
  })

  it('interleaves conversations by time', () => {
    const t = new Timeline()
    t.add(msg('old', 1, { created_at: 10 }))
    t.add(msg('new', 1, { created_at: 30 }))
    t.add(msg('old', 2, { created_at: 20 }))
    expect(t.messages().map((m) => `${m.conversation_id}${m.seq}`)).toEqual(['old1', 'old2', 'new1'])
  })

  it('resumes from the highest seq held, and from 0 for conversations only named by hello', () => {
    const t = new Timeline()
    t.add(msg('a', 1))
    t.add(msg('a', 4))
    expect(t.positions(['a', 'b'])).toEqual([
      { conversation_id: 'a', after_seq: 4 },
      { conversation_id: 'b', after_seq: 0 },
    ])
    expect(t.positions()).toEqual([{ conversation_id: 'a', after_seq: 4 }])
  })
})

describe('Outbox', () => {
  it('persists before sending and survives a new instance (a reload)', () => {
    const kv = memoryKV()
    new Outbox(kv, 'k').add(entry('x'))
    const again = new Outbox(kv, 'k')
    expect(again.pending().map((e) => e.client_msg_id)).toEqual(['x'])
  })

  it('keeps order, never holds the same id twice, and empties the key when done', () => {
    const kv = memoryKV()
    const o = new Outbox(kv, 'k')
    o.add(entry('a'))
    o.add(entry('b'))
    o.add(entry('a'))
    expect(o.entries().map((e) => e.client_msg_id)).toEqual(['a', 'b'])
    expect(o.remove('a')).toBe(true)
    expect(o.remove('a')).toBe(false)
    o.remove('b')
    expect(kv.get('k')).toBeNull()
  })

  it('marks refused entries failed (not resent) until retried', () => {
    const o = new Outbox(memoryKV(), 'k')
    o.add(entry('a'))
    o.markFailed('a', 'too long')
    expect(o.pending()).toEqual([])
    expect(o.entries()[0].failed).toBe('too long')
    o.retry('a')
    expect(o.pending().map((e) => e.client_msg_id)).toEqual(['a'])
  })

  it('survives garbage in storage', () => {
    const kv = memoryKV()
    kv.set('k', '{not json')
    expect(new Outbox(kv, 'k').entries()).toEqual([])
    kv.set('k', '{"a":1}')
    expect(new Outbox(kv, 'k').entries()).toEqual([])
  })

  it('classifies send errors as the protocol says', () => {
    for (const c of ['rate_limited', 'unavailable', 'internal', 'busy']) expect(onSendError(c)).toBe('retry')
    for (const c of ['validation', 'not_found', 'conflict', 'conversation_closed', 'forbidden']) expect(onSendError(c)).toBe('fail')
    expect(isFatalClose(1008)).toBe(true)
    expect(isFatalClose(1013)).toBe(false)
    expect(isFatalClose(4001)).toBe(false)
  })
})

describe('view: what the chat shows', () => {
  it('shows an outbox entry once, and the stored message takes its place on ack', () => {
    const t = new Timeline()
    const o = new Outbox(memoryKV(), 'k')
    const e = entry('cm1', { content: 'hi' })
    o.add(e)
    let v = view(t, o.entries())
    expect(v.map((i) => [i.key, !!i.pending])).toEqual([['c:cm1', true]])
    // The ack arrives: the line keeps its key and is now a stored message.
    t.add(acked(e, { id: 'm1', conversation_id: 'c', seq: 3, created_at: 9 }, 'me'))
    o.remove('cm1')
    // The server's copy of the same message arrives afterwards: no duplicate.
    expect(t.add(msg('c', 3, { client_msg_id: 'cm1', sender: { kind: 'visitor', id: 'me' } }))).toBe(false)
    v = view(t, o.entries())
    expect(v.map((i) => [i.key, i.mine, !!i.pending])).toEqual([['c:cm1', true, false]])
  })

  it('a stored message from another tab hides the same outbox entry', () => {
    const t = new Timeline()
    t.add(msg('c', 1, { client_msg_id: 'x', sender: { kind: 'visitor', id: 'me' } }))
    expect(t.hasClientId('x')).toBe(true)
    expect(view(t, [entry('x')]).length).toBe(1)
  })

  it('never shows private notes, and counts unread from the other side only', () => {
    const t = new Timeline()
    t.add(msg('c', 1, { sender: { kind: 'visitor', id: 'me' } }))
    t.add(msg('c', 2))
    t.add(msg('c', 3, { kind: 'note' }))
    t.add(msg('c', 4))
    expect(view(t, []).map((i) => i.message?.seq)).toEqual([1, 2, 4])
    expect(unread(t, () => 0)).toBe(2)
    expect(unread(t, () => 2)).toBe(1)
  })
})

describe('backoff', () => {
  it('doubles from 0.5 s with jitter up to the cap', () => {
    expect(backoff(0, () => 1)).toBe(500)
    expect(backoff(0, () => 0)).toBe(250)
    expect(backoff(3, () => 1)).toBe(4000)
    expect(backoff(30, () => 1)).toBe(15000)
  })
})
