// The widget's connection to kefu, following docs/protocol.md "Client
// algorithm (widget)": a session (visitor token kept in localStorage), a
// WebSocket (or, when WebSockets cannot connect while HTTP works, the
// Server-Sent Events stream for receiving and HTTP POST for sending), `sync`
// from the positions held, then the outbox; reconnects with backoff.
import { acked, backoff, isFatalClose, newId, onSendError, Outbox, refusedDelay, Timeline, type KV, type OutboxEntry } from './state'
import type { Attachment, ConversationHead, ServerFrame, Session, SyncPoint, WireMessage } from './types'

/** Statuses in which the visitor's next message lands in the conversation. */
const ACTIVE = ['bot', 'queued', 'open', 'pending']

export type Status = 'connecting' | 'online' | 'offline' | 'blocked'
type Frame = Record<string, unknown>

/** How frames go out on one live connection. */
interface Conn {
  kind: 'ws' | 'sse'
  send(f: Frame): void
  close(): void
}

export interface Events {
  change(): void
  status(s: Status): void
  typing(on: boolean): void
  /** Place in line while no agent can take the conversation (0 once one
   * has), with the server's wait estimate when it has one. */
  queue(position: number, waitMs?: number): void
  /** A message from an agent, arrived live (not history on page load). */
  incoming(m: WireMessage): void
  session(s: Session): void
}

/** How long a WebSocket may take to say hello before it counts as blocked. */
const CONNECT_TIMEOUT = 8000
/** How long the fallback choice is remembered (then WebSocket is tried again). */
const FALLBACK_TTL = 30 * 60_000

export class Client {
  session?: Session
  readonly timeline = new Timeline()
  readonly outbox: Outbox
  /** The agents' read position per conversation. */
  readonly agentRead = new Map<string, number>()
  heads: ConversationHead[] = []
  status: Status = 'connecting'
  /** Blocked because this visitor was refused (not because of the site). */
  refused = false
  transport: 'ws' | 'sse' = 'ws'
  private conn?: Conn
  private attempt = 0
  private synced = false
  /** The first catch-up finished (history is shown). */
  loaded = false
  private inFlight = new Set<string>()
  private timer?: ReturnType<typeof setTimeout>
  private idleTimer?: ReturnType<typeof setTimeout>
  private pinger?: ReturnType<typeof setInterval>
  private idleMs = 75_000
  private nextDelay?: number
  private needSession = true
  /** WebSocket attempts in a row that failed while plain HTTP worked. */
  private wsFailures = 0
  private listeners: { [K in keyof Events]?: Events[K][] } = {}
  private httpQueue: Promise<unknown> = Promise.resolve()
  /** The conversation whose place in line is shown. */
  private lineOf?: string

  constructor(
    readonly base: string,
    readonly inboxKey: string,
    readonly kv: KV,
  ) {
    this.outbox = new Outbox(kv, this.k('outbox'))
    const fb = Number(kv.get(this.k('sse')) ?? 0)
    if (Date.now() - fb < FALLBACK_TTL) this.transport = 'sse'
  }

  /** A storage key of this inbox's widget. */
  k(name: string): string {
    return `kefu:${this.inboxKey}:${name}`
  }

  on<K extends keyof Events>(ev: K, f: Events[K]): void {
    ;((this.listeners[ev] ??= []) as Events[K][]).push(f)
  }

  private emit<K extends keyof Events>(ev: K, ...args: Parameters<Events[K]>): void {
    for (const f of this.listeners[ev] ?? []) (f as (...a: unknown[]) => void)(...args)
  }

  get me(): string {
    return this.session?.contact_id ?? ''
  }

  get token(): string {
    return this.session?.visitor_token ?? ''
  }

  private setStatus(s: Status): void {
    if (this.status !== s) {
      this.status = s
      this.emit('status', s)
    }
  }

  start(): void {
    addEventListener('online', () => this.kick())
    this.reconnect()
  }

  /** Reconnect now (the browser says the network is back). */
  kick(): void {
    if (this.conn || this.status === 'blocked') return
    clearTimeout(this.timer)
    this.attempt = 0
    this.reconnect()
  }

  private async reconnect(): Promise<void> {
    if (this.needSession) {
      try {
        await this.openSession()
      } catch (e) {
        if (e instanceof Blocked) return this.setStatus('blocked')
        return this.retryLater()
      }
    }
    if (this.transport === 'sse') this.connectSse()
    else this.connectWs()
  }

  private async openSession(): Promise<void> {
    const r = await fetch(`${this.base}/api/v1/widget/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inbox_key: this.inboxKey,
        visitor_token: this.kv.get(this.k('token')) ?? undefined,
        page_url: location.href.slice(0, 2048),
        referrer: document.referrer.slice(0, 2048) || undefined,
        // The language the visitor picked in the panel, else the browser's: the
        // server answers in it (the closing message, e-mails).
        language: this.kv.get(this.k('lang')) ?? navigator.language,
      }),
    })
    if (r.status === 403 || r.status === 404) {
      // The visitor (or their address) is blocked, or the site may not embed the chat.
      const code = ((await r.json().catch(() => null)) as { error?: { code?: string } } | null)?.error?.code
      this.refused = code === 'contact_blocked' || code === 'ip_blocked'
      throw new Blocked()
    }
    if (!r.ok) throw new Error(`session: ${r.status}`)
    const s: Session = await r.json()
    if (this.session && s.contact_id !== this.session.contact_id) {
      // A new visitor (the old token was refused): what we held was theirs.
      this.heads = []
    }
    this.session = s
    this.kv.set(this.k('token'), s.visitor_token)
    this.needSession = false
    this.emit('session', s)
  }

  private retryLater(): void {
    this.setStatus('offline')
    const delay = this.nextDelay ?? backoff(this.attempt++)
    this.nextDelay = undefined
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.reconnect(), delay)
  }

  /** The connection ended; `up` tells whether it had said hello. */
  private lost(conn: Conn, code: number, up: boolean): void {
    if (this.conn !== conn) return
    this.conn = undefined
    this.synced = false
    this.inFlight.clear()
    clearInterval(this.pinger)
    clearTimeout(this.idleTimer)
    this.emit('typing', false)
    if (code === 4001) this.needSession = true
    if (isFatalClose(code)) return this.setStatus(code === 1008 ? 'blocked' : 'offline')
    if (code === 1013 && !up) {
      // Refused before hello: the server is at a connection cap (docs/protocol.md).
      // The WebSocket itself works, so no fallback; wait at least a few seconds.
      this.nextDelay = Math.max(backoff(this.attempt++), refusedDelay())
      return this.retryLater()
    }
    if (code === 1013 || code === 1001) this.attempt = 0
    if (!up && conn.kind === 'ws') {
      // WebSocket did not get through. If plain HTTP does, something on the
      // way blocks WebSockets: fall back to SSE + POST.
      fetch(`${this.base}/healthz`, { cache: 'no-store' }).then(
        (r) => {
          if (!r.ok) return this.retryLater()
          // Twice in a row, so a server that just came back is not mistaken for a blocked WebSocket.
          if (++this.wsFailures >= 2) {
            this.transport = 'sse'
            this.kv.set(this.k('sse'), String(Date.now()))
          }
          this.attempt = 0
          this.reconnect()
        },
        () => this.retryLater(),
      )
      return
    }
    this.retryLater()
  }

  /** Any sign of life from the server resets the idle timer. */
  private alive(conn: Conn): void {
    clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => {
      conn.close()
      this.lost(conn, 1001, true)
    }, this.idleMs)
  }

  private connectWs(): void {
    this.setStatus('connecting')
    const ws = new WebSocket(this.base.replace(/^http/, 'ws') + '/ws')
    let up = false
    const conn: Conn = {
      kind: 'ws',
      send: (f) => ws.readyState === 1 && ws.send(JSON.stringify(f)),
      close: () => ws.close(),
    }
    this.conn = conn
    const timeout = setTimeout(() => {
      if (!up) {
        ws.close()
        this.lost(conn, 0, false)
      }
    }, CONNECT_TIMEOUT)
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', v: 1, token: this.token }))
    ws.onmessage = (e) => {
      let f: ServerFrame
      try {
        f = JSON.parse(String(e.data))
      } catch {
        return
      }
      if (f.type === 'hello') {
        up = true
        this.wsFailures = 0
        clearTimeout(timeout)
        this.idleMs = f.idle_timeout_ms
        this.pinger = setInterval(() => conn.send({ type: 'ping' }), f.heartbeat_ms)
      }
      this.alive(conn)
      this.frame(f)
    }
    ws.onclose = (e) => {
      clearTimeout(timeout)
      this.lost(conn, e.code, up)
    }
  }

  private connectSse(): void {
    this.setStatus('connecting')
    const ctl = new AbortController()
    let up = false
    const conn: Conn = {
      kind: 'sse',
      send: (f) => this.post(f),
      close: () => ctl.abort(),
    }
    this.conn = conn
    const sync = this.timeline
      .positions()
      .map((p) => `${p.conversation_id}:${p.after_seq}`)
      .join(',')
    const url = `${this.base}/api/v1/widget/events${sync ? `?sync=${encodeURIComponent(sync)}` : ''}`
    ;(async () => {
      let code = 0
      try {
        const r = await fetch(url, { headers: { authorization: `Bearer ${this.token}` }, signal: ctl.signal, cache: 'no-store' })
        if (r.status === 401) code = 4001
        else if (r.status === 403) code = 1008
        if (!r.ok || !r.body) throw new Error(`events: ${r.status}`)
        up = true
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader()
        let buf = ''
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          this.alive(conn)
          buf += value
          let nl: number
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).replace(/\r$/, '')
            buf = buf.slice(nl + 1)
            if (line.startsWith('data:')) {
              try {
                const f: ServerFrame = JSON.parse(line.slice(5))
                if (f.type === 'hello') this.idleMs = f.idle_timeout_ms
                this.frame(f)
              } catch {
                /* not a frame */
              }
            }
          }
        }
      } catch {
        /* the stream ended or failed: reconnect */
      }
      this.lost(conn, code, up)
    })()
  }

  /** A client frame over HTTP (the SSE fallback); answers come back as frames. */
  private post(f: Frame): void {
    const c = f.conversation_id as string | undefined
    if (f.type === 'typing' && c) void this.http('POST', `/api/v1/conversations/${c}/typing`, { on: f.on })
    else if (f.type === 'read' && c) void this.http('POST', `/api/v1/conversations/${c}/read`, { seq: f.seq })
    else if (f.type === 'send') {
      const cmid = f.client_msg_id as string
      const { type: _t, ...body } = f
      // One at a time, in order, like the WebSocket's send worker.
      this.httpQueue = this.httpQueue.then(async () => {
        try {
          const r = await this.http('POST', '/api/v1/widget/messages', body)
          const m: WireMessage = r.message
          this.frame({ type: 'ack', client_msg_id: cmid, id: m.id, conversation_id: m.conversation_id, seq: m.seq, created_at: m.created_at })
          this.frame({ type: 'message', message: m })
        } catch (e) {
          const code = e instanceof HttpError ? e.code : 'unavailable'
          this.frame({ type: 'error', code, message: String(e), client_msg_id: cmid })
        }
      })
    }
  }

  private cards = new Map<string, Promise<AgentCard | null>>()
  /** An agent's name and picture, once per agent (null: the inbox does not show agents). */
  agent(id: string): Promise<AgentCard | null> {
    let p = this.cards.get(id)
    if (!p) {
      p = this.http('GET', `/api/v1/widget/agents?ids=${encodeURIComponent(id)}`).then(
        (r: AgentCard[]) => {
          const c = r[0]
          return c ? { ...c, avatar_url: c.avatar_url && this.base + c.avatar_url } : null
        },
        () => (this.cards.delete(id), null),
      )
      this.cards.set(id, p)
    }
    return p
  }

  /** A REST call with the visitor token; throws HttpError with the API's code. */
  async http(method: string, path: string, body?: unknown): Promise<any> {
    const r = await fetch(this.base + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body instanceof FormData ? {} : { 'content-type': 'application/json' }) },
      body: body instanceof FormData ? body : body !== undefined ? JSON.stringify(body) : undefined,
    })
    if (r.status === 204) return {}
    const j = await r.json().catch(() => ({}))
    if (!r.ok) throw new HttpError(j?.error?.code ?? `http_${r.status}`, j?.error?.message ?? r.statusText)
    return j
  }

  /** Handles one server frame, from either transport. */
  private frame(f: ServerFrame): void {
    switch (f.type) {
      case 'hello': {
        this.heads = f.conversations
        // A line shown before is stale unless the conversation still waits in it.
        const a = this.heads.find((c) => ACTIVE.includes(c.status))
        if (a?.status !== 'queued' || a.id !== this.lineOf) this.line()
        if (this.conn?.kind === 'ws') {
          // Every conversation hello names, from the position held (0 if none).
          const points: SyncPoint[] = this.timeline.positions(f.conversations.map((c) => c.id))
          this.conn.send({ type: 'sync', conversations: points })
        }
        break
      }
      case 'message':
        this.addMessage(f.message)
        break
      case 'message_deleted':
        if (this.timeline.deleted(f.conversation_id, f.seq, f.deleted_at)) this.emit('change')
        break
      case 'synced':
        // How far the agents read, which the `read` frames seen before a reload no longer tell.
        for (const h of this.heads.slice(0, 3))
          this.http('GET', `/api/v1/conversations/${h.id}/reads`).then(
            (r) => {
              if (r.agent > (this.agentRead.get(h.id) ?? 0)) this.agentRead.set(h.id, r.agent)
              this.emit('change')
            },
            () => {},
          )
        this.synced = true
        this.loaded = true
        this.attempt = 0
        this.setStatus('online')
        this.flush()
        this.emit('change')
        break
      case 'ack': {
        const e = this.outbox.entries().find((x) => x.client_msg_id === f.client_msg_id)
        this.inFlight.delete(f.client_msg_id)
        if (e) this.timeline.add(acked(e, f, this.me))
        this.outbox.remove(f.client_msg_id)
        this.noteConversation(f.conversation_id)
        this.emit('change')
        break
      }
      case 'error':
        if (f.client_msg_id) {
          this.inFlight.delete(f.client_msg_id)
          if (onSendError(f.code) === 'retry') this.flushLater()
          else this.outbox.markFailed(f.client_msg_id, f.message)
          this.emit('change')
        } else if (f.code === 'rate_limited') this.flushLater()
        else if (f.code === 'session_ended' && this.conn) {
          // Blocked or merged into another contact: a new session says which.
          const c = this.conn
          c.close()
          this.lost(c, 4001, true)
        }
        break
      case 'typing':
        if (f.sender_kind !== 'visitor') this.emit('typing', f.on)
        break
      case 'read':
        if (f.reader_kind !== 'visitor') {
          this.agentRead.set(f.conversation_id, Math.max(f.seq, this.agentRead.get(f.conversation_id) ?? 0))
        } else if (f.reader_id === this.me) this.setRead(f.conversation_id, f.seq)
        this.emit('change')
        break
      case 'conversation':
        this.noteConversation(f.conversation_id, f.status)
        // The one in line is out of it: assigned, left for offline follow-up, resolved…
        if (f.conversation_id === this.lineOf && (f.assignee_id || f.status !== 'queued')) this.line()
        this.emit('change')
        break
      case 'queue':
        // A conversation not heard of yet is the one just started (it waits).
        if (!this.heads.some((c) => c.id === f.conversation_id)) this.noteConversation(f.conversation_id, 'queued')
        if (f.conversation_id === this.active()) this.line(f.conversation_id, f.position, f.estimated_wait_ms)
        break
      case 'reconnect':
        this.nextDelay = f.after_ms
        break
    }
  }

  /** Shows conversation `id`'s place in line, or (none) no line. */
  private line(id?: string, position = 0, waitMs?: number): void {
    this.lineOf = position > 0 ? id : undefined
    this.emit('queue', position, waitMs)
  }

  private noteConversation(id: string, status?: string): void {
    const h = this.heads.find((c) => c.id === id)
    if (h) h.status = status ?? h.status
    else this.heads.unshift({ id, status: status ?? 'open', last_seq: 0 })
  }

  private addMessage(m: WireMessage): void {
    if (!this.timeline.add(m)) return
    if (m.client_msg_id && m.sender.kind === 'visitor') this.outbox.remove(m.client_msg_id)
    if (m.sender.kind !== 'visitor') {
      this.emit('typing', false)
      if (this.loaded) this.emit('incoming', m)
    }
    this.emit('change')
  }

  private flushLater(): void {
    setTimeout(() => this.flush(), 2000)
  }

  /** Sends every unacknowledged outbox entry (after `synced` only). */
  flush(): void {
    if (!this.synced || !this.conn) return
    for (const e of this.outbox.pending()) {
      if (this.inFlight.has(e.client_msg_id)) continue
      // Another tab may have delivered it already.
      if (this.timeline.hasClientId(e.client_msg_id)) {
        this.outbox.remove(e.client_msg_id)
        continue
      }
      this.inFlight.add(e.client_msg_id)
      this.conn.send({
        type: 'send',
        client_msg_id: e.client_msg_id,
        kind: e.kind,
        content: e.content,
        ...(e.attachment ? { attachment_id: e.attachment.id } : {}),
      })
    }
  }

  /** Writes a message: into the outbox first, then out if connected. */
  write(content: string, attachment?: Attachment): OutboxEntry {
    const kind = attachment ? (/^image\/(png|jpeg|gif|webp)$/.test(attachment.content_type) ? 'image' : 'file') : 'text'
    const e: OutboxEntry = { client_msg_id: newId(), kind, content, attachment: attachment ?? null, created_at: Date.now() }
    this.outbox.add(e)
    this.emit('change')
    this.flush()
    return e
  }

  retry(id: string): void {
    this.outbox.retry(id)
    this.emit('change')
    this.flush()
  }

  /** The conversation the visitor is in now: the newest active one (with
   *  the bot, waiting in a line, open or pending). */
  active(): string | undefined {
    return this.heads.find((c) => ACTIVE.includes(c.status))?.id
  }

  typing(on: boolean): void {
    const c = this.active()
    if (c && this.synced) this.conn?.send({ type: 'typing', conversation_id: c, on })
  }

  /** The visitor's own read position in a conversation (shared by tabs). */
  readSeq(conv: string): number {
    return Number(this.kv.get(this.k(`read:${conv}`)) ?? 0)
  }

  private setRead(conv: string, seq: number): void {
    if (seq > this.readSeq(conv)) this.kv.set(this.k(`read:${conv}`), String(seq))
  }

  /** Marks everything shown as read, and tells the agents. */
  markRead(): void {
    for (const conv of this.timeline.conversations()) {
      const top = this.timeline.highest(conv)
      if (top > this.readSeq(conv)) {
        this.setRead(conv, top)
        if (this.synced) this.conn?.send({ type: 'read', conversation_id: conv, seq: top })
        this.emit('change')
      }
    }
  }

  async upload(file: File): Promise<Attachment> {
    const form = new FormData()
    form.append('file', file, file.name)
    return this.http('POST', '/api/v1/attachments', form)
  }

  async identify(attrs: Record<string, unknown>): Promise<void> {
    const { name, email, ...rest } = attrs
    const body: Record<string, unknown> = { attributes: rest }
    if (typeof name === 'string') body.name = name
    if (typeof email === 'string') body.email = email
    await this.http('POST', '/api/v1/widget/identify', body)
  }

  /** An attachment as a blob URL (downloads need the token, so no plain <img src>). */
  private blobs = new Map<string, Promise<string>>()
  blobUrl(id: string): Promise<string> {
    let p = this.blobs.get(id)
    if (!p) {
      p = fetch(`${this.base}/api/v1/attachments/${id}`, { headers: { authorization: `Bearer ${this.token}` } }).then(async (r) => {
        if (!r.ok) throw new Error(String(r.status))
        return URL.createObjectURL(await r.blob())
      })
      p.catch(() => this.blobs.delete(id))
      this.blobs.set(id, p)
    }
    return p
  }
}

export interface AgentCard {
  id: string
  name: string
  avatar_url: string | null
}

class Blocked extends Error {}

export class HttpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}
