// The widget on the page: a launcher and a chat panel inside a Shadow DOM
// (the host page's styles cannot reach in, ours cannot leak out). Message
// content is only ever set as text, never parsed as HTML.
import type { Client, Status } from './client'
import { pickLang, strings, type Lang, type Strings } from './i18n'
import { unread, view, type Item } from './state'
import css from './style.css?inline'
import type { Attachment, PrechatField, WireMessage } from './types'
import { linkify } from './linkify'
import { ink } from './ink'
import { csatAsk, csatReset } from './csat'
import { answer, askAs } from './prechat'

type Props = Record<string, unknown>

function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = String(v)
    else if (k.startsWith('aria') || k.startsWith('data')) e.setAttribute(k.replace(/^(aria|data)/, '$1-').toLowerCase(), String(v))
    else (e as unknown as Props)[k] = v
  }
  e.append(...kids)
  return e
}

/** Icons: constant markup of ours, the only HTML the widget ever parses. */
function icon(path: string): HTMLSpanElement {
  const s = h('span', { ariaHidden: 'true' })
  s.innerHTML = `<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${path}</svg>`
  return s
}
const CHAT = '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 21l1.9-5.4A8 8 0 1 1 21 12z"/>'
const CLIP = '<path d="m21 11-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7"/>'
const SMILE = '<circle cx="12" cy="12" r="9"/><path d="M8 14s1.5 2 4 2 4-2 4-2M9 9h.01M15 9h.01"/>'
const SEND = '<path d="M22 2 11 13M22 2l-7 20-4-9-9-4 20-7z"/>'
const EMOJI = '😀 😂 😊 😍 🤔 😅 😭 😮 👍 👎 👏 🙏 🎉 ❤️ 🔥 ✅ 👋 🙂 😉 😎 🥳 🤝 💯 🌹'.split(' ')

const IMAGE = /^image\/(png|jpeg|gif|webp)$/

export class Widget {
  private t: Strings
  private lang: Lang
  private isOpen: boolean
  private host = h('div', { id: 'kefu-widget' })
  private root = this.host.attachShadow({ mode: 'open' })
  private wrap = h('div', { class: 'kf' })
  private launcher = h('button', { class: 'launcher' })
  private badge = h('span', { class: 'badge', hidden: true })
  private panel = h('section', { class: 'panel', role: 'dialog', hidden: true })
  private titleEl = h('div', { class: 'title' })
  private sub = h('div', { class: 'sub' })
  private langBtn = h('button', { class: 'hb' })
  private closeBtn = h('button', { class: 'hb x' }, '×')
  private mailBtn = h('button', { class: 'hb mail', hidden: true }, '✉')
  private conn = h('div', { class: 'conn', hidden: true })
  private body = h('div', { class: 'body' })
  private welcome = h('div', { class: 'bubble' })
  private list = h('ol', { class: 'list', ariaLive: 'polite' })
  private typingEl = h('div', { class: 'typing', hidden: true })
  private queueEl = h('div', { class: 'queue', hidden: true })
  private csatEl = h('div', { class: 'csat', hidden: true })
  /** The survey drawn (conversation and language), so a render keeps what the visitor picked. */
  private csatFor = ''
  private form = h('form', { class: 'form', hidden: true, noValidate: true })
  private emojis = h('div', { class: 'emojis', hidden: true })
  private preview = h('div', { class: 'preview', hidden: true })
  private note = h('div', { class: 'note', hidden: true })
  private compose = h('div', { class: 'compose' })
  private input = h('textarea', { rows: 1 })
  private fileInput = h('input', { type: 'file', hidden: true })
  private sendBtn = h('button', { class: 'ib send' }, icon(SEND))
  private emojiBtn = h('button', { class: 'ib' }, icon(SMILE))
  private attachBtn = h('button', { class: 'ib' }, icon(CLIP))
  private lines = new Map<string, HTMLLIElement>()
  private typingOn = false
  private typingTimer?: ReturnType<typeof setTimeout>
  private typingShown?: ReturnType<typeof setTimeout>
  private flashTimer?: ReturnType<typeof setInterval>
  private title0 = document.title
  private audio?: AudioContext
  private formDone = false
  private listeners: ((m: unknown) => void)[] = []

  constructor(
    private client: Client,
    private mode: 'launcher' | 'page',
  ) {
    this.lang = pickLang(client.kv.get(client.k('lang')), navigator.language)
    this.t = strings(this.lang)
    this.isOpen = mode === 'page' || client.kv.get(client.k('open')) === '1'
    this.formDone = !!client.kv.get(client.k('form'))
  }

  mount(): void {
    const sheet = new CSSStyleSheet()
    sheet.replaceSync(css)
    this.root.adoptedStyleSheets = [sheet]
    const c = this.client
    this.launcher.append(icon(CHAT), this.badge)
    this.launcher.onclick = () => this.setOpen(!this.isOpen)
    this.closeBtn.onclick = () => this.setOpen(false)
    // Esc closes the panel like any dialog, and gives the focus back to the launcher.
    this.panel.onkeydown = (e) => {
      if (e.key === 'Escape' && this.mode === 'launcher' && !e.isComposing) {
        this.setOpen(false)
        this.launcher.focus()
      }
    }
    this.langBtn.onclick = () => this.setLang(this.lang === 'en' ? 'zh-CN' : 'en')
    this.mailBtn.onclick = () => this.mailMe()
    const head = h('header', { class: 'head' }, h('div', { class: 't' }, this.titleEl, this.sub), this.langBtn, this.mailBtn)
    if (this.mode === 'launcher') head.append(this.closeBtn)
    this.body.append(h('div', { class: 'msg' }, this.welcome), this.list, this.queueEl, this.csatEl, this.typingEl)
    for (const e of EMOJI) this.emojis.append(h('button', { type: 'button', onclick: () => this.insert(e) }, e))
    this.emojiBtn.onclick = () => (this.emojis.hidden = !this.emojis.hidden)
    this.attachBtn.onclick = () => this.fileInput.click()
    this.fileInput.onchange = () => {
      const f = this.fileInput.files?.[0]
      this.fileInput.value = ''
      if (f) this.pick(f)
    }
    this.sendBtn.onclick = () => this.sendText()
    this.input.onkeydown = (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault()
        this.sendText()
      }
    }
    this.input.oninput = () => this.onTyping()
    this.input.onpaste = (e) => {
      const f = [...(e.clipboardData?.files ?? [])][0]
      if (f) {
        e.preventDefault()
        this.pick(f)
      }
    }
    this.compose.append(this.emojiBtn, this.attachBtn, this.fileInput, this.input, this.sendBtn)
    this.panel.append(head, this.conn, this.body, this.form, this.emojis, this.preview, this.note, this.compose)
    this.wrap.append(this.panel)
    if (this.mode === 'launcher') this.wrap.append(this.launcher)
    this.wrap.classList.add('m-' + this.mode)
    this.root.append(this.wrap)
    document.body.append(this.host)
    if (this.mode === 'page') document.body.style.margin = '0'

    c.on('change', () => this.render())
    c.on('status', () => this.render())
    c.on('session', (s) => {
      const w = s.inbox.widget
      this.wrap.style.setProperty('--kf-c', w.color)
      this.wrap.style.setProperty('--kf-ink', ink(w.color))
      this.wrap.classList.toggle('left', w.position === 'left')
      if (this.mode === 'page') document.title = s.inbox.display_name
      this.title0 = document.title
      this.mailBtn.hidden = !s.mail
      this.render()
    })
    c.on('queue', (n, waitMs) => {
      this.queueEl.hidden = n <= 0
      const wait = waitMs === undefined ? '' : ' ' + this.t.queueWait.replace('{m}', String(Math.max(1, Math.round(waitMs / 60000))))
      this.queueEl.textContent = n > 0 ? this.t.queue.replace(/\{n\}/g, String(n)) + wait : ''
      this.scrollDown()
    })
    c.on('typing', (on) => {
      this.typingEl.hidden = !on
      clearTimeout(this.typingShown)
      // A lost "stopped typing" must not leave the indicator on.
      if (on) this.typingShown = setTimeout(() => (this.typingEl.hidden = true), 6000)
      this.scrollDown()
    })
    c.on('incoming', (m) => {
      for (const f of this.listeners) {
        try {
          f({ content: m.content, kind: m.kind, created_at: m.created_at, sender: m.sender.kind })
        } catch {
          /* a page's handler must not break the widget */
        }
      }
      if (!this.isOpen || document.hidden) {
        this.beep()
        this.flash()
      }
    })
    addEventListener('storage', (e) => {
      if (e.key?.startsWith(c.k(''))) this.render()
    })
    addEventListener('focus', () => this.isOpen && this.stopFlash())
    document.addEventListener('visibilitychange', () => this.seen())
    this.render()
  }

  onMessage(f: (m: unknown) => void): void {
    this.listeners.push(f)
  }

  setOpen(open: boolean): void {
    if (this.mode === 'page') return
    this.isOpen = open
    this.client.kv.set(this.client.k('open'), open ? '1' : '0')
    if (open) {
      this.stopFlash()
      setTimeout(() => this.input.focus(), 0)
    }
    this.render()
    this.scrollDown()
  }

  setLang(lang: Lang): void {
    this.lang = lang
    this.t = strings(lang)
    this.client.kv.set(this.client.k('lang'), lang)
    this.lines.clear()
    this.render()
  }

  /** Marks messages read while the panel is open and the page visible. */
  private seen(): void {
    if (this.isOpen && !document.hidden) {
      this.client.markRead()
      this.stopFlash()
    }
  }

  private insert(text: string): void {
    const i = this.input
    const at = i.selectionStart ?? i.value.length
    i.value = i.value.slice(0, at) + text + i.value.slice(i.selectionEnd ?? at)
    i.selectionStart = i.selectionEnd = at + text.length
    i.focus()
  }

  private onTyping(): void {
    if (!this.typingOn) {
      this.typingOn = true
      this.client.typing(true)
    }
    clearTimeout(this.typingTimer)
    this.typingTimer = setTimeout(() => this.stopTyping(), 3000)
  }

  private stopTyping(): void {
    clearTimeout(this.typingTimer)
    if (this.typingOn) {
      this.typingOn = false
      this.client.typing(false)
    }
  }

  /** "Email me this conversation": the transcript, to the address the visitor left. */
  private async mailMe(): Promise<void> {
    const id = this.client.active()
    if (!id) return
    const t = this.t
    try {
      await this.client.http('POST', '/api/v1/widget/transcript', { conversation_id: id })
      this.say(t.mailSent)
    } catch (e) {
      const code = (e as { code?: string }).code
      this.say(code === 'no_email' ? t.mailNoEmail : code === 'rate_limited' ? t.mailSoon : code === 'mail_disabled' ? t.mailOff : String(e))
    }
  }

  private say(text: string): void {
    this.note.textContent = text
    this.note.hidden = !text
  }

  private sendText(): void {
    const text = this.input.value.trim()
    if (!text) return
    const max = this.client.session?.limits.max_message_chars ?? 5000
    if ([...text].length > max) return this.say(this.t.tooLong)
    this.say('')
    this.stopTyping()
    this.input.value = ''
    this.emojis.hidden = true
    this.client.write(text)
    this.scrollDown(true)
  }

  /** A picked or pasted file: images get a preview first, other files go at once. */
  private pick(f: File): void {
    const max = this.client.session?.limits.max_upload_bytes ?? 10 << 20
    if (f.size > max) return this.say(this.t.tooBig)
    this.say('')
    if (!IMAGE.test(f.type)) return void this.upload(f)
    const url = URL.createObjectURL(f)
    const ok = h('button', { class: 'btn', type: 'button' }, this.t.send)
    const no = h('button', { class: 'btn2', type: 'button' }, this.t.cancel)
    const done = () => {
      this.preview.hidden = true
      this.preview.replaceChildren()
      URL.revokeObjectURL(url)
    }
    no.onclick = done
    ok.onclick = () => {
      done()
      void this.upload(f)
    }
    this.preview.replaceChildren(h('img', { src: url, alt: f.name }), h('span', { class: 'grow' }, this.t.preview), no, ok)
    this.preview.hidden = false
  }

  private async upload(f: File): Promise<void> {
    this.say(this.t.sending)
    try {
      const a: Attachment = await this.client.upload(f)
      this.say('')
      this.client.write('', a)
      this.scrollDown(true)
    } catch {
      this.say(this.t.uploadFailed)
    }
  }

  private beep(): void {
    try {
      const ac = (this.audio ??= new AudioContext())
      const o = ac.createOscillator()
      const g = ac.createGain()
      o.frequency.value = 880
      g.gain.setValueAtTime(0.08, ac.currentTime)
      g.gain.exponentialRampToValueAtTime(0.0001, ac.currentTime + 0.35)
      o.connect(g).connect(ac.destination)
      o.start()
      o.stop(ac.currentTime + 0.35)
    } catch {
      /* no audio (or not allowed before a click): the title still flashes */
    }
  }

  private flash(): void {
    if (this.flashTimer) return
    let on = false
    this.flashTimer = setInterval(() => {
      on = !on
      document.title = on ? `(${this.unread() || 1}) ${this.t.newMessage}` : this.title0
    }, 1000)
  }

  private stopFlash(): void {
    if (!this.flashTimer) return
    clearInterval(this.flashTimer)
    this.flashTimer = undefined
    document.title = this.title0
  }

  private unread(): number {
    return unread(this.client.timeline, (c) => this.client.readSeq(c))
  }

  private scrollDown(force = false): void {
    const b = this.body
    if (force || b.scrollHeight - b.scrollTop - b.clientHeight < 80) requestAnimationFrame(() => (b.scrollTop = b.scrollHeight))
  }

  /** A bot message: marked as the bot's, with its quick replies and thumbs. */
  private botLine(li: HTMLLIElement, m: WireMessage): void {
    const t = this.t
    const name = this.client.session?.inbox.bot?.name || t.bot
    li.classList.add('bot')
    li.prepend(h('div', { class: 'who' }, h('span', { class: 'tag' }, t.botBadge), name))
    const b = m.bot
    if (!b) return
    const buttons: HTMLButtonElement[] = (b.choices ?? []).map((c) => h('button', { type: 'button', onclick: () => this.quickReply(c.label) }, c.label))
    if (b.offer_person) buttons.push(h('button', { type: 'button', class: 'person', onclick: () => this.quickReply(t.person) }, t.person))
    if (buttons.length) li.insertBefore(h('div', { class: 'quick' }, ...buttons), li.lastElementChild)
    if (b.entry) {
      const rate = h('div', { class: 'rate' })
      const done = this.client.kv.get(this.client.k('rated:' + m.id))
      const thumb = (up: boolean) => {
        const btn = h('button', { type: 'button', ariaLabel: up ? t.helpful : t.notHelpful, title: up ? t.helpful : t.notHelpful, ariaPressed: String(done === (up ? 'up' : 'down')) }, up ? '👍' : '👎')
        btn.onclick = async () => {
          try {
            await this.client.http('POST', '/api/v1/widget/bot-feedback', { message_id: m.id, helpful: up })
            this.client.kv.set(this.client.k('rated:' + m.id), up ? 'up' : 'down')
            for (const x of rate.querySelectorAll('button')) x.setAttribute('aria-pressed', String(x === btn))
            this.say(t.rated)
          } catch (e) {
            this.say(String((e as { message?: string }).message ?? e))
          }
        }
        return btn
      }
      rate.append(thumb(true), thumb(false))
      li.insertBefore(rate, li.lastElementChild)
    }
  }

  /** A quick-reply button: sends its words as the visitor's message. */
  private quickReply(text: string): void {
    this.say('')
    this.client.write(text)
    this.scrollDown(true)
  }

  /** Which form, if any, stands in for the chat: pre-chat or offline. */
  private formKind(): 'prechat' | 'offline' | undefined {
    const c = this.client
    const s = c.session
    if (!s || this.formDone || !c.loaded) return
    const fresh = c.timeline.conversations().length === 0 && c.outbox.entries().length === 0
    if (!fresh) return
    // A bot answers whether or not an agent is in: the chat stays open.
    if (!s.inbox.available && !s.inbox.bot && s.inbox.widget.offline === 'form') return 'offline'
    if (s.inbox.widget.prechat.enabled && !s.visitor.name && !s.visitor.email) return 'prechat'
    return undefined
  }

  private renderForm(kind: 'prechat' | 'offline'): void {
    if (this.form.dataset.kind === kind + this.lang) return
    this.form.dataset.kind = kind + this.lang
    const t = this.t
    const fields: PrechatField[] =
      kind === 'offline'
        ? [
            { key: 'name', label: t.name, kind: 'text', required: false },
            { key: 'email', label: t.email, kind: 'email', required: true },
            { key: 'message', label: t.message, kind: 'textarea', required: true },
          ]
        : this.client.session?.inbox.widget.prechat.fields ?? []
    const asked = fields.map((f) => (kind === 'offline' ? { label: f.label, type: f.kind } : askAs(f, this.client.session?.inbox.attributes)))
    const inputs = fields.map((f, n) => {
      const type = asked[n].type
      const i = type === 'textarea' ? h('textarea', { name: f.key }) : h('input', { name: f.key, type })
      // A yes/no is answered by leaving it unticked too.
      i.required = f.required && type !== 'checkbox'
      return i
    })
    const err = h('div', { class: 'err' })
    const submit = h('button', { class: 'btn', type: 'submit' }, kind === 'offline' ? t.leave : t.start)
    this.form.replaceChildren(
      h('p', {}, kind === 'offline' ? t.offlineTitle : t.prechatTitle),
      ...fields.map((f, n) => h('label', {}, asked[n].label + (f.required && asked[n].type !== 'checkbox' ? ' *' : ''), inputs[n])),
      err,
      submit,
    )
    this.form.onsubmit = async (e) => {
      e.preventDefault()
      const values: Record<string, string | number | boolean> = {}
      for (const [n, i] of inputs.entries()) {
        const v = answer(asked[n].type, i.value, i instanceof HTMLInputElement && i.checked)
        if (i.required && v === undefined) {
          err.textContent = t.required
          return i.focus()
        }
        if (v !== undefined) values[i.name] = v
      }
      const { message, ...who } = values
      submit.disabled = true
      try {
        if (Object.keys(who).length) await this.client.identify(who)
        this.formDone = true
        this.client.kv.set(this.client.k('form'), '1')
        if (message) {
          this.client.write(String(message))
          this.say(t.thanks)
        }
        this.render()
      } catch (x) {
        err.textContent = String((x as Error).message || x)
        submit.disabled = false
      }
    }
  }

  private statusLine(s: Status): string {
    const t = this.t
    if (s === 'blocked') return this.client.refused ? t.refused : t.blocked
    return this.client.session?.inbox.available === false ? t.away : t.online
  }

  render(): void {
    const c = this.client
    const t = this.t
    const s = c.session
    this.panel.hidden = !this.isOpen
    this.wrap.classList.toggle('open', this.isOpen)
    this.launcher.ariaLabel = this.isOpen ? t.close : t.open
    this.titleEl.textContent = s?.inbox.display_name ?? ''
    this.sub.textContent = this.statusLine(c.status)
    this.welcome.textContent = s?.inbox.welcome_text ?? ''
    this.welcome.parentElement!.hidden = !s?.inbox.welcome_text
    this.langBtn.textContent = t.lang
    this.closeBtn.ariaLabel = t.close
    this.mailBtn.ariaLabel = this.mailBtn.title = t.mailMe
    this.input.placeholder = t.placeholder
    // Named for assistive technology: the title (or "Chat with us"), and a real label, not just a placeholder.
    this.panel.ariaLabel = s?.inbox.display_name || t.open
    this.input.ariaLabel = t.input
    this.sendBtn.ariaLabel = this.sendBtn.title = t.send
    this.emojiBtn.ariaLabel = this.emojiBtn.title = t.emoji
    this.attachBtn.ariaLabel = this.attachBtn.title = t.attach
    this.typingEl.textContent = t.typing
    this.conn.hidden = c.status === 'online' || c.status === 'blocked'
    this.conn.textContent = c.status === 'connecting' && c.loaded ? t.connecting : c.status === 'offline' ? t.offline : t.connecting
    if (c.status === 'connecting' && !c.loaded) this.conn.hidden = true
    const form = this.formKind()
    this.form.hidden = !form
    this.body.hidden = this.compose.hidden = !!form || c.status === 'blocked'
    if (form) this.renderForm(form)
    else this.form.dataset.kind = ''

    const items = view(c.timeline, c.outbox.entries())
    let lastMine = ''
    for (const i of items) if (i.mine && i.message) lastMine = i.key
    const lis = items.map((i, n) => this.line(i, i.key === lastMine, n === items.length - 1))
    this.list.replaceChildren(...lis)
    for (const k of this.lines.keys()) if (!items.some((i) => i.key === k)) this.lines.delete(k)

    this.renderCsat()
    const n = this.unread()
    this.badge.hidden = this.isOpen || n === 0
    this.badge.textContent = n > 99 ? '99+' : String(n)
    this.seen()
    this.scrollDown()
  }

  /** The satisfaction survey after a resolve (when the inbox asks): 1–5 and a comment, once per resolve. */
  private renderCsat(): void {
    const c = this.client
    const t = this.t
    const mark = (id: string) => c.k('csat:' + id)
    // A rated conversation that came back is asked again at its next resolve.
    for (const head of c.heads) if (c.kv.get(mark(head.id)) && csatReset(c.heads, head.id)) c.kv.del(mark(head.id))
    const ask = csatAsk(c.session?.inbox.widget, c.heads, (id) => !!c.kv.get(mark(id)), this.lang)
    this.csatEl.hidden = !ask
    if (!ask) {
      this.csatFor = ''
      return
    }
    if (this.csatFor === ask.conversation + this.lang) return
    this.csatFor = ask.conversation + this.lang
    let pick = 0
    const send = h('button', { type: 'button', class: 'btn', disabled: true, dataTest: 'csat-send' }, t.csatSend)
    const stars = [1, 2, 3, 4, 5].map((n) => {
      const label = t.csatStar.replace('{n}', String(n))
      const b = h('button', { type: 'button', class: 'star', ariaLabel: label, title: label, ariaPressed: 'false', dataRating: String(n) }, '★')
      b.onclick = () => {
        pick = n
        stars.forEach((x, i) => {
          x.classList.toggle('on', i < n)
          x.ariaPressed = String(i + 1 === n)
        })
        send.disabled = false
      }
      return b
    })
    const comment = h('textarea', { rows: 2, maxLength: 1000, placeholder: t.csatComment, ariaLabel: t.csatComment })
    const done = () => {
      c.kv.set(mark(ask.conversation), String(pick))
      this.render()
    }
    send.onclick = async () => {
      send.disabled = true
      try {
        await c.http('POST', '/api/v1/widget/csat', { conversation_id: ask.conversation, rating: pick, comment: comment.value.trim() || null })
        this.say(t.csatThanks)
        done()
      } catch (e) {
        const code = (e as { code?: string }).code
        // Not asked any more, or not resolved any more: nothing to rate.
        if (code === 'csat_disabled' || code === 'conflict') return done()
        send.disabled = false
        this.say(String((e as Error).message || e))
      }
    }
    this.csatEl.replaceChildren(h('p', {}, ask.question || t.csatQuestion), h('div', { class: 'stars', role: 'group' }, ...stars), comment, send)
    this.scrollDown()
  }

  /** One chat line; kept per key so images are fetched once. */
  private line(i: Item, last: boolean, newest = false): HTMLLIElement {
    const t = this.t
    let li = this.lines.get(i.key)
    const m = i.message
    // Taken back since it was drawn: drawn again, as "deleted".
    if (li && m?.deleted_at && !li.classList.contains('deleted')) li = undefined
    const att = m?.attachment ?? i.pending?.attachment
    if (!li) {
      const bubble = h('div', { class: 'bubble' })
      if (m?.deleted_at) bubble.append(h('em', {}, t.deleted))
      else if (att && IMAGE.test(att.content_type)) {
        bubble.classList.add('media')
        const img = h('img', { alt: att.name })
        img.onclick = () => {
          const z = h('div', { class: 'zoom', onclick: () => z.remove() }, h('img', { src: img.src, alt: att.name }))
          this.wrap.append(z)
        }
        this.client.blobUrl(att.id).then((u) => ((img.src = u), this.scrollDown()), () => (img.alt = `⚠ ${att.name}`))
        bubble.append(img)
      } else if (att) {
        const a = h('a', { class: 'file', href: '#', title: t.download }, `📎 ${att.name} (${Math.ceil(att.size / 1024)} KB)`)
        a.onclick = (e) => {
          e.preventDefault()
          this.client.blobUrl(att.id).then((u) => h('a', { href: u, download: att.name }).click())
        }
        bubble.append(a)
      } else
        for (const p of linkify(m?.content ?? i.pending?.content ?? ''))
          bubble.append(p.href ? h('a', { href: p.href, target: '_blank', rel: 'noopener noreferrer' }, p.text) : p.text)
      li = h('li', { class: `msg ${i.mine ? 'me' : 'them'}${m?.deleted_at ? ' deleted' : ''}` }, bubble, h('div', { class: 'meta' }))
      li.dataset.key = i.key
      if (m?.sender.kind === 'agent' && this.client.session?.inbox.widget.show_agents) {
        const who = h('div', { class: 'who' })
        li.prepend(who)
        this.client.agent(m.sender.id).then((c) => {
          if (!c) return who.remove()
          const pic = c.avatar_url ? h('img', { src: c.avatar_url, alt: '' }) : h('span', { ariaHidden: 'true' }, [...c.name][0] ?? '?')
          who.append(pic, c.name)
        })
      }
      if (m?.sender.kind === 'bot') this.botLine(li, m)
      this.lines.set(i.key, li)
    }
    // Quick replies only under the newest line: older choices are history.
    const quick = li.querySelector<HTMLElement>('.quick')
    if (quick) quick.hidden = !newest
    li.classList.toggle('pending', !m)
    const meta = li.lastElementChild as HTMLElement
    const time = new Date(i.created_at).toLocaleTimeString(this.lang, { hour: '2-digit', minute: '2-digit' })
    const parts: (Node | string)[] = [h('span', {}, time)]
    if (i.pending?.failed) {
      const id = i.pending.client_msg_id
      parts.push(h('span', { class: 'bad', title: i.pending.failed }, t.failed), h('button', { type: 'button', onclick: () => this.client.retry(id) }, t.retry))
    } else if (i.pending) parts.push(h('span', { class: 'state' }, t.sending))
    else if (i.mine && last && m) parts.push(h('span', { class: 'state' }, (this.client.agentRead.get(m.conversation_id) ?? 0) >= m.seq ? t.read : t.sent))
    meta.replaceChildren(...parts)
    return li
  }
}
