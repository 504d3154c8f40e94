// The widget's delivery logic, free of DOM and network so it can be unit
// tested: the message timeline (merge and dedupe by seq), the persisted
// outbox, and the rules of docs/protocol.md "Client algorithm (widget)".
import type { Attachment, MessageKind, SyncPoint, WireMessage } from './types'

/** A small key-value store (localStorage in the browser, a Map in tests). */
export interface KV {
  get(key: string): string | null
  set(key: string, value: string): void
  del(key: string): void
}

export function memoryKV(): KV {
  const m = new Map<string, string>()
  return {
    get: (k) => m.get(k) ?? null,
    set: (k, v) => void m.set(k, v),
    del: (k) => void m.delete(k),
  }
}

/** Messages per conversation, deduplicated by `seq`. */
export class Timeline {
  private convs = new Map<string, Map<number, WireMessage>>()

  /** Adds a message; false when it is already held (a resend, or a live frame repeated by `sync`). */
  add(m: WireMessage): boolean {
    let c = this.convs.get(m.conversation_id)
    if (!c) this.convs.set(m.conversation_id, (c = new Map()))
    if (c.has(m.seq)) return false
    c.set(m.seq, m)
    return true
  }

  /** Marks a held message as taken back by its author; false when it is not held. */
  deleted(conv: string, seq: number, at: number): boolean {
    const m = this.convs.get(conv)?.get(seq)
    if (!m) return false
    this.convs.get(conv)?.set(seq, { ...m, content: '', attachment: null, deleted_at: at })
    return true
  }

  /** The highest `seq` held for a conversation (0 if none). */
  highest(conv: string): number {
    let h = 0
    for (const s of this.convs.get(conv)?.keys() ?? []) if (s > h) h = s
    return h
  }

  conversations(): string[] {
    return [...this.convs.keys()]
  }

  /** Where to resume: for each known conversation (and each of `heads`), the highest seq held. */
  positions(heads: string[] = []): SyncPoint[] {
    const ids = new Set([...heads, ...this.convs.keys()])
    return [...ids].map((id) => ({ conversation_id: id, after_seq: this.highest(id) }))
  }

  /** Every message, oldest first (by time, then seq within a conversation). */
  messages(): WireMessage[] {
    const all: WireMessage[] = []
    for (const c of this.convs.values()) all.push(...c.values())
    return all.sort((a, b) =>
      a.created_at !== b.created_at ? a.created_at - b.created_at : a.conversation_id === b.conversation_id ? a.seq - b.seq : a.conversation_id < b.conversation_id ? -1 : 1,
    )
  }

  /** Whether a message with this client_msg_id is held (it was delivered). */
  hasClientId(id: string): boolean {
    for (const c of this.convs.values()) for (const m of c.values()) if (m.client_msg_id === id) return true
    return false
  }
}

/** A message the visitor wrote that the server has not acknowledged yet. */
export interface OutboxEntry {
  client_msg_id: string
  kind: MessageKind
  content: string
  attachment?: Attachment | null
  created_at: number
  /** Set when the server refused it for good; the visitor may retry. */
  failed?: string
}

/**
 * Messages written but not yet acknowledged, persisted (before sending) so a
 * reload, a crash or a lost connection never loses one. Shared by the tabs
 * of one visitor through the KV store; sends are idempotent, so two tabs
 * sending the same entry store it once.
 */
export class Outbox {
  constructor(
    private kv: KV,
    private key: string,
  ) {}

  entries(): OutboxEntry[] {
    try {
      const v = JSON.parse(this.kv.get(this.key) ?? '[]')
      return Array.isArray(v) ? v : []
    } catch {
      return []
    }
  }

  private save(e: OutboxEntry[]): void {
    if (e.length) this.kv.set(this.key, JSON.stringify(e))
    else this.kv.del(this.key)
  }

  add(e: OutboxEntry): void {
    const all = this.entries()
    if (!all.some((x) => x.client_msg_id === e.client_msg_id)) this.save([...all, e])
  }

  /** Drops an entry (acknowledged); true if it was there. */
  remove(id: string): boolean {
    const all = this.entries()
    const rest = all.filter((x) => x.client_msg_id !== id)
    if (rest.length !== all.length) this.save(rest)
    return rest.length !== all.length
  }

  markFailed(id: string, reason: string): void {
    this.save(this.entries().map((x) => (x.client_msg_id === id ? { ...x, failed: reason } : x)))
  }

  retry(id: string): void {
    this.save(this.entries().map((x) => (x.client_msg_id === id ? { ...x, failed: undefined } : x)))
  }

  /** Entries to send now, in the order they were written. */
  pending(): OutboxEntry[] {
    return this.entries().filter((e) => !e.failed)
  }
}

/** What to do with an `error` answering a send (docs/protocol.md, step 4). */
export function onSendError(code: string): 'retry' | 'fail' {
  return ['rate_limited', 'unavailable', 'internal', 'busy'].includes(code) ? 'retry' : 'fail'
}

/** Close codes after which reconnecting cannot help (protocol.md, step 6). */
export function isFatalClose(code: number): boolean {
  return [1002, 1007, 1008, 1009].includes(code)
}

/** Reconnect delay: from 0.5 s doubling to a cap, with jitter (0.5–1×). */
/** Wait after a refusal at a connection cap: 2–5 s, spread so refused widgets do not return together. */
export function refusedDelay(random: () => number = Math.random): number {
  return Math.round(2000 + random() * 3000)
}

export function backoff(attempt: number, random: () => number = Math.random, capMs = 15_000): number {
  const base = Math.min(capMs, 500 * 2 ** Math.min(attempt, 10))
  return Math.round(base * (0.5 + random() / 2))
}

/** The message an ack stands for, built from the outbox entry, until the server's copy arrives. */
export function acked(e: OutboxEntry, ack: { id: string; conversation_id: string; seq: number; created_at: number }, me: string): WireMessage {
  return {
    id: ack.id,
    conversation_id: ack.conversation_id,
    seq: ack.seq,
    client_msg_id: e.client_msg_id,
    sender: { kind: 'visitor', id: me },
    kind: e.kind,
    content: e.content,
    attachment: e.attachment ?? null,
    created_at: ack.created_at,
  }
}

/** One line of the chat as shown: a stored message or an outbox entry. */
export interface Item {
  key: string
  mine: boolean
  message?: WireMessage
  pending?: OutboxEntry
  created_at: number
}

/**
 * The chat as shown: stored messages in order, then outbox entries not yet
 * stored. A message and its outbox entry share a key (its client_msg_id), so
 * the line just changes state when the ack comes.
 */
export function view(t: Timeline, outbox: OutboxEntry[]): Item[] {
  const items: Item[] = t
    .messages()
    .filter((m) => m.kind !== 'note')
    .map((m) => ({
      key: m.client_msg_id ? `c:${m.client_msg_id}` : `m:${m.conversation_id}:${m.seq}`,
      mine: m.sender.kind === 'visitor',
      message: m,
      created_at: m.created_at,
    }))
  const stored = new Set(items.map((i) => i.key))
  for (const e of outbox) {
    const key = `c:${e.client_msg_id}`
    if (!stored.has(key)) items.push({ key, mine: true, pending: e, created_at: e.created_at })
  }
  return items
}

/** Messages from the other side above the visitor's read positions. */
export function unread(t: Timeline, readSeq: (conv: string) => number): number {
  return t.messages().filter((m) => m.sender.kind !== 'visitor' && m.kind !== 'note' && m.seq > readSeq(m.conversation_id)).length
}

/** A fresh idempotency key. */
export function newId(): string {
  const b = new Uint8Array(16)
  globalThis.crypto.getRandomValues(b)
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}
