// The widget client's place-in-line handling: which frames show, move and
// clear the queue line. Frames are fed straight in (no socket).
import { describe, expect, it, vi } from 'vitest'
import { Client } from './client'
import { memoryKV } from './state'
import type { ServerFrame } from './types'

function client() {
  const c = new Client('http://kefu.test', 'inbox', memoryKV())
  const shown: [number, number | undefined][] = []
  c.on('queue', (n, ms) => shown.push([n, ms]))
  const feed = (f: Record<string, unknown>) => (c as unknown as { frame(f: ServerFrame): void }).frame(f as ServerFrame)
  const hello = (conversations: { id: string; status: string; last_seq: number }[]) =>
    feed({ type: 'hello', identity: { kind: 'contact', id: 'v' }, heartbeat_ms: 25_000, idle_timeout_ms: 75_000, conversations })
  return { c, shown, feed, hello }
}

describe('the queue line', () => {
  it("shows the active conversation's place, and ignores other conversations' frames", () => {
    const { shown, feed, hello } = client()
    hello([
      { id: 'new', status: 'queued', last_seq: 1 },
      { id: 'old', status: 'resolved', last_seq: 9 },
    ])
    shown.length = 0
    feed({ type: 'queue', conversation_id: 'new', position: 2, estimated_wait_ms: 120_000 })
    // Another conversation's place in line (not the one the visitor is in) is not shown.
    feed({ type: 'queue', conversation_id: 'old', position: 1 })
    // An older conversation reopened and resolved by an agent does not clear the line.
    feed({ type: 'conversation', conversation_id: 'old', status: 'resolved', assignee_id: 'a1' })
    expect(shown).toEqual([[2, 120_000]])
    feed({ type: 'queue', conversation_id: 'new', position: 1 })
    // Taken by an agent: out of the line.
    feed({ type: 'conversation', conversation_id: 'new', status: 'open', assignee_id: 'a1' })
    expect(shown).toEqual([[2, 120_000], [1, undefined], [0, undefined]])
  })

  it('takes a first conversation it has not heard of yet as the one in line', () => {
    const { shown, feed, hello } = client()
    hello([])
    shown.length = 0
    feed({ type: 'queue', conversation_id: 'first', position: 1 })
    expect(shown).toEqual([[1, undefined]])
    // Left for offline follow-up: open, nobody's.
    feed({ type: 'conversation', conversation_id: 'first', status: 'open', assignee_id: null })
    expect(shown).toEqual([[1, undefined], [0, undefined]])
  })

  it('clears the line on hello unless the conversation still waits', () => {
    const { shown, feed, hello } = client()
    hello([{ id: 'q', status: 'queued', last_seq: 1 }])
    feed({ type: 'queue', conversation_id: 'q', position: 3 })
    shown.length = 0
    // Reconnected, still waiting: the line stays.
    hello([{ id: 'q', status: 'queued', last_seq: 1 }])
    expect(shown).toEqual([])
    // Reconnected after it was taken while the connection was down: the line goes.
    hello([{ id: 'q', status: 'open', last_seq: 2 }])
    expect(shown).toEqual([[0, undefined]])
  })
})

describe('a refusal at a connection cap', () => {
  it('waits a few seconds on the WebSocket instead of falling back to SSE', async () => {
    vi.useFakeTimers()
    const fetched = vi.fn(() => Promise.resolve(new Response('ok')))
    vi.stubGlobal('fetch', fetched)
    try {
      const { c } = client()
      const inner = c as unknown as { conn: unknown; lost(conn: unknown, code: number, up: boolean): void; reconnect(): void }
      const reconnects = vi.fn()
      inner.reconnect = reconnects
      for (let i = 0; i < 3; i++) {
        const conn = { kind: 'ws', send: () => {}, close: () => {} }
        inner.conn = conn
        // Closed with 1013 right after the handshake, before any hello.
        inner.lost(conn, 1013, false)
        vi.advanceTimersByTime(1999)
        expect(reconnects).toHaveBeenCalledTimes(i)
        vi.advanceTimersByTime(30_000)
        expect(reconnects).toHaveBeenCalledTimes(i + 1)
      }
      expect(fetched).not.toHaveBeenCalled()
      expect(c.transport).toBe('ws')
    } finally {
      vi.unstubAllGlobals()
      vi.useRealTimers()
    }
  })
})
