// The console's WebSocket: auth frame, heartbeat, reconnect with backoff and
// jitter, and the close codes of docs/protocol.md ("Client algorithm").

import type { ServerFrame } from './types'

export type ConnState = 'connecting' | 'online' | 'reconnecting' | 'stopped'

export interface RealtimeHandlers {
  token: () => Promise<string>
  /** The token was refused (4001): renew the session; false ends the session. */
  renew: () => Promise<boolean>
  frame: (f: ServerFrame) => void
  state: (s: ConnState) => void
  /** After every hello: resend what is unacked, fetch what was missed. */
  ready: () => void
}

export class Realtime {
  private ws: WebSocket | null = null
  private attempt = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private ping: ReturnType<typeof setInterval> | null = null
  private stopped = false

  constructor(private h: RealtimeHandlers) {}

  start() {
    this.stopped = false
    void this.connect()
  }

  stop() {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    if (this.ping) clearInterval(this.ping)
    this.ws?.close(1000)
    this.ws = null
    this.h.state('stopped')
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.authed
  }

  private authed = false

  /** Sends a frame if the socket is up; false otherwise (the caller keeps it for later). */
  send(frame: object): boolean {
    if (!this.open || !this.ws) return false
    this.ws.send(JSON.stringify(frame))
    return true
  }

  private async connect() {
    if (this.stopped) return
    this.h.state(this.attempt === 0 ? 'connecting' : 'reconnecting')
    const token = await this.h.token()
    if (!token) {
      this.h.state('stopped')
      return
    }
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`
    const ws = new WebSocket(url)
    this.ws = ws
    this.authed = false
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', v: 1, token }))
    ws.onmessage = (ev) => {
      let f: ServerFrame
      try {
        f = JSON.parse(String(ev.data))
      } catch {
        return
      }
      if (f.type === 'hello') {
        this.authed = true
        this.attempt = 0
        this.h.state('online')
        if (this.ping) clearInterval(this.ping)
        const every = (f as { heartbeat_ms?: number }).heartbeat_ms ?? 25000
        this.ping = setInterval(() => this.send({ type: 'ping' }), every)
        this.h.ready()
      } else if (f.type === 'reconnect') {
        this.retryIn(f.after_ms)
        ws.close(1000)
        return
      }
      this.h.frame(f)
    }
    ws.onclose = (ev) => {
      if (this.ws !== ws) return
      this.authed = false
      if (this.ping) clearInterval(this.ping)
      if (this.stopped) return
      if (ev.code === 4001) {
        void this.h.renew().then((ok) => (ok ? this.retryIn(200) : this.stop()))
        return
      }
      // Protocol errors would repeat: 1002, 1007, 1008, 1009 end the loop.
      if ([1002, 1007, 1008, 1009].includes(ev.code)) {
        this.h.state('stopped')
        return
      }
      if (!this.timer) this.retryIn(this.backoff())
    }
  }

  private backoff(): number {
    const base = Math.min(30_000, 500 * 2 ** this.attempt)
    this.attempt++
    return base / 2 + Math.random() * (base / 2)
  }

  private retryIn(ms: number) {
    if (this.timer) clearTimeout(this.timer)
    this.h.state('reconnecting')
    this.timer = setTimeout(() => {
      this.timer = null
      void this.connect()
    }, ms)
  }
}
