// The store's requests and frame handling, with the REST client, the socket
// and notifications replaced by fakes (no browser, no server).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Conversation, ServerFrame } from './types'

/** A request the fake `api` holds until the test answers it. */
interface Call {
  method: string
  path: string
  body: unknown
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
}
const calls: Call[] = []
let frame: (f: ServerFrame) => void = () => undefined

vi.mock('./api', () => ({
  api: (method: string, path: string, body?: unknown) =>
    new Promise((resolve, reject) => calls.push({ method, path, body, resolve, reject })),
  logout: async () => undefined,
  refresh: async () => true,
  accessToken: async () => 'token',
  session: { user: { id: 'u-me' } },
  ApiError: class extends Error {},
}))
vi.mock('./realtime', () => ({
  Realtime: class {
    constructor(h: { frame: (f: ServerFrame) => void }) {
      frame = h.frame
    }
    start() {}
    stop() {}
    send() {}
  },
}))
const notified: string[] = []
vi.mock('./notify', () => ({ notify: (kind: string, c: { id: string } | undefined) => notified.push(`${kind}:${c?.id}`) }))

const store = await import('./store')
const { state } = store

const tick = () => new Promise((r) => setTimeout(r, 0))

function conv(id: string, over: Partial<Conversation> = {}): Conversation {
  return {
    id,
    inbox_id: 'i',
    contact_id: 'c-' + id,
    status: 'open',
    assignee_id: null,
    priority: 'normal',
    tags: [],
    last_seq: 0,
    last_activity_at: 0,
    created_at: 0,
    ...over,
  } as Conversation
}

beforeEach(() => {
  calls.length = 0
  ;(globalThis as { document?: unknown }).document = { addEventListener: () => undefined, hidden: false }
})

afterEach(async () => {
  // Leave nothing in flight for the next test.
  for (const c of calls) c.reject(new Error('test over'))
  await tick()
  await store.logout()
})

describe('labels', () => {
  it('sends tag changes as add_tags/remove_tags, one change at a time per conversation', async () => {
    state.conversations.c1 = conv('c1', { tags: ['old'] })
    const first = store.setLabels('c1', { add_tags: ['vip', '退款'] })
    const second = store.setLabels('c1', { remove_tags: ['old'] })
    const third = store.setLabels('c1', { priority: 'high' })
    await tick()
    // The second waits for the first.
    expect(calls.map((c) => [c.method, c.path, c.body])).toEqual([['PATCH', '/api/v1/conversations/c1', { add_tags: ['vip', '退款'] }]])
    // Another agent's tag ("x") reached the server meanwhile: the answer has it, and no change undoes it.
    calls[0].resolve(conv('c1', { tags: ['old', 'x', 'vip', '退款'] }))
    await first
    await tick()
    expect(calls[1].body).toEqual({ remove_tags: ['old'] })
    calls[1].reject(new Error('422'))
    await expect(second).rejects.toThrow('422')
    await tick()
    // A failed change does not stop the next one.
    expect(calls[2].body).toEqual({ priority: 'high' })
    calls[2].resolve(conv('c1', { tags: ['old', 'x', 'vip', '退款'], priority: 'high' }))
    await third
    expect(state.conversations.c1.tags).toEqual(['old', 'x', 'vip', '退款'])
    expect(state.conversations.c1.priority).toBe('high')
  })
})

describe('the list', () => {
  it('loads a new filter while another load is in flight, and drops the older answer', async () => {
    state.view = 'all'
    state.status = 'open'
    const a = store.loadList()
    await tick()
    state.status = 'resolved'
    state.listCursor = null
    const b = store.loadList()
    await tick()
    expect(calls.map((c) => new URL(c.path, 'http://x').searchParams.get('status'))).toEqual(['open,queued', 'resolved'])
    calls[1].resolve({ items: [conv('r1', { status: 'resolved' })], next_cursor: 'cursor-resolved' })
    await b
    calls[0].resolve({ items: [conv('o1')], next_cursor: 'cursor-open' })
    await a
    expect(state.listCursor).toBe('cursor-resolved')
    expect(Object.keys(state.conversations)).toEqual(['r1'])
    expect(state.listLoading).toBe(false)
  })

  it('drops the next page of a filter left meanwhile', async () => {
    state.status = 'open'
    state.listCursor = 'cursor-open'
    const more = store.loadList(true)
    await tick()
    // One next page at a time.
    await store.loadList(true)
    expect(calls).toHaveLength(1)
    state.status = 'pending'
    state.listCursor = null
    const fresh = store.loadList()
    await tick()
    calls[0].resolve({ items: [conv('o2')], next_cursor: 'cursor-open-2' })
    await more
    expect(state.listCursor).toBeNull()
    expect(state.conversations.o2).toBeUndefined()
    expect(state.listLoading).toBe(true)
    calls[1].resolve({ items: [], next_cursor: null })
    await fresh
    expect(state.listLoading).toBe(false)
  })
})

describe('lines and offers', () => {
  it('replaces the queue view whole, and forgets it with the offers on logout', async () => {
    state.queues = { gone: { waiting: 1, conversation_ids: ['q0'] } }
    const p = store.loadQueues()
    await tick()
    calls[0].resolve({ items: [{ group: 'billing', waiting: 1, conversation_ids: ['q1'] }], next_cursor: null })
    await p
    expect(state.queues).toEqual({ billing: { waiting: 1, conversation_ids: ['q1'] } })
    state.offers = { q1: 'billing' }
    await store.logout()
    expect(state.queues).toEqual({})
    expect(state.offers).toEqual({})
  })

  it('withdraws an offer once the conversation is out of the line or taken', async () => {
    store.start()
    state.conversations.q1 = conv('q1', { status: 'queued' })
    state.conversations.q2 = conv('q2', { status: 'queued' })
    state.conversations.q3 = conv('q3', { status: 'queued' })
    state.offers = { q1: 'grab', q2: 'grab', q3: 'grab' }
    // Still waiting (a priority change): still on offer.
    frame({ type: 'conversation', conversation_id: 'q1', status: 'queued', assignee_id: null, priority: 'high' })
    // Left for offline follow-up (open, nobody's).
    frame({ type: 'conversation', conversation_id: 'q2', status: 'open', assignee_id: null })
    // Claimed by someone else.
    frame({ type: 'conversation', conversation_id: 'q3', status: 'open', assignee_id: 'u-other' })
    expect(state.offers).toEqual({ q1: 'grab' })
  })
})

describe('ordering and alerts', () => {
  it('keeps the newer of a frame and a REST answer that crossed it', async () => {
    store.start()
    state.conversations.o1 = conv('o1', { updated_at: 10 })
    frame({ type: 'conversation', conversation_id: 'o1', status: 'resolved', assignee_id: null, updated_at: 30 })
    // An answer from before the resolve arrives late: the status stays resolved.
    const p = store.setStatus('o1', 'pending')
    await tick()
    calls[0].resolve(conv('o1', { status: 'pending', updated_at: 20 }))
    await p
    expect(state.conversations.o1.status).toBe('resolved')
    // And a late frame does not undo a newer answer.
    frame({ type: 'conversation', conversation_id: 'o1', status: 'open', assignee_id: null, updated_at: 25 })
    expect(state.conversations.o1.status).toBe('resolved')
  })

  it('alerts when someone else gives me a conversation, not when I take it myself', async () => {
    store.start()
    notified.length = 0
    state.conversations.t1 = conv('t1', { updated_at: 1 })
    state.conversations.t2 = conv('t2', { updated_at: 1 })
    frame({ type: 'conversation', conversation_id: 't1', status: 'open', assignee_id: 'u-me', updated_at: 2 })
    expect(notified).toEqual(['assigned:t1'])
    const p = store.assign('t2', 'u-me')
    await tick()
    frame({ type: 'conversation', conversation_id: 't2', status: 'open', assignee_id: 'u-me', updated_at: 2 })
    calls[0].resolve(conv('t2', { assignee_id: 'u-me', updated_at: 2 }))
    await p
    expect(notified).toEqual(['assigned:t1'])
  })
})
