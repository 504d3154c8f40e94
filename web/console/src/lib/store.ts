// The console's live state: conversations, their messages, typing and read
// state, agents, canned replies, and the outbox, fed by REST and the socket.

import { waitingAfter } from './lifecycle'
import { DEFAULT_FILTERS, apiFilters, compareBy, fromQuery, passes, toQuery, type Filters } from './listQuery'
import { reactive } from 'vue'
import { api, logout as apiLogout, refresh, session, accessToken } from './api'
import { Realtime, type ConnState } from './realtime'
import { Outbox, byActivity, inView, mergeBySeq, statusesFor, type Pending, type View } from './timeline'
import { mergeEvents } from './events'
import { mergeContactEvents } from './contactEvents'
import { listAll } from './lists'
import { notify, notifyMention } from './notify'
import { wantsAlert } from './notifyPrefs'
import type { AppNotification, AgentSettableStatus, AgentStatus, BusinessEvent, CannedReply, ConvEvent, Conversation, Group, Macro, MacroRun, Message, Page, Priority, ServerFrame, User, Workspace } from './types'

export const state = reactive({
  conn: 'connecting' as ConnState,
  conversations: {} as Record<string, Conversation>,
  messages: {} as Record<string, Message[]>,
  /** The audit trail of the conversations opened (status, assignment, labels, transfers…). */
  events: {} as Record<string, ConvEvent[]>,
  /** Whether older history exists before the first held message. */
  hasOlder: {} as Record<string, boolean>,
  /** The messages held stop short of the newest: a search result opened the conversation at an older one (`loadNewer` reads on). */
  hasNewer: {} as Record<string, boolean>,
  /** The message to scroll to and highlight when a conversation opens (a search result), by conversation. */
  focusSeq: {} as Record<string, number>,
  visitorTyping: {} as Record<string, boolean>,
  /** The visitor's read position per conversation. */
  visitorRead: {} as Record<string, number>,
  agents: {} as Record<string, User>,
  canned: [] as CannedReply[],
  /** The shared macros and this agent's own, by name. */
  macros: [] as Macro[],
  outbox: new Outbox(),
  selected: null as string | null,
  view: 'all' as View,
  status: 'open' as string,
  /** The list's other filters and its order (`status` above is the status filter). */
  filters: { ...DEFAULT_FILTERS } as Filters,
  /** Ids the server listed for the current filters (what a group filter keeps). */
  listed: {} as Record<string, true>,
  /** How many conversations each tab holds under the filters. */
  counts: null as { mine: number; unassigned: number; all: number } | null,
  listCursor: null as string | null,
  /** Grab mode: conversations offered to this agent, by id → group. */
  offers: {} as Record<string, string>,
  /** Live queue view: waiting conversations per group. */
  queues: {} as Record<string, { waiting: number; conversation_ids: string[] }>,
  /** Groups (transfer targets, with their hours) and the workspace (its time zone and holidays). */
  groups: [] as Group[],
  workspace: null as Workspace | null,
  listLoading: false,
  /** Business events of the contacts whose panel was opened, newest first (live by `contact_event`). */
  contactEvents: {} as Record<string, BusinessEvent[]>,
  /** Bumped when an event arrives for a contact: its panel reloads the contact (attributes may have changed). */
  contactVersion: {} as Record<string, number>,
  /** The bell: my mentions and conversations given to me, newest first, and how many are unread. */
  notifications: [] as AppNotification[],
  unreadNotifications: 0,
  /** Bumped by every frame that changes who works on what (the live dashboard reloads on it). */
  liveTick: 0,
})

let rt: Realtime | null = null
const typingTimers: Record<string, ReturnType<typeof setTimeout>> = {}

export function me(): string {
  return session.user?.id ?? ''
}

export function visibleList(): Conversation[] {
  const listed = new Set(Object.keys(state.listed))
  return Object.values(state.conversations)
    .filter((c) => inView(c, state.view, state.status, me()) && passes(c, state.filters, listed))
    .sort(state.filters.sort === 'activity' ? byActivity : compareBy(state.filters.sort))
}

/** The filters as one value (the status filter included). */
export function currentFilters(): Filters {
  return { ...state.filters, status: state.status }
}

/** Takes the list's view and filters from the page's URL (a shared or reloaded link). */
export function filtersFromUrl() {
  const { view, filters } = fromQuery(new URLSearchParams(location.search))
  if (view) state.view = view
  state.status = filters.status
  state.filters = filters
}

/** Writes the view and filters to the URL (kept in the query, so the hash routes keep them). */
export function filtersToUrl() {
  const q = toQuery(state.view, currentFilters()).toString()
  history.replaceState(history.state, '', `${location.pathname}${q ? `?${q}` : ''}${location.hash}`)
}

let countsTimer: ReturnType<typeof setTimeout> | undefined
/**
 * The tabs' counts, at most every second and a half while changes stream in.
 * A throttle, not a debounce: in a busy inbox changes never pause for long,
 * and a timer pushed back by every change would never fire.
 */
export function refreshCounts(now = false) {
  if (countsTimer !== undefined && !now) return
  clearTimeout(countsTimer)
  countsTimer = setTimeout(
    () => {
      countsTimer = undefined
      void loadCounts().catch(() => undefined)
    },
    now ? 0 : 1500,
  )
}

export async function loadCounts() {
  const f = currentFilters()
  const q = apiFilters({ ...f, sort: 'activity' }, statusesFor(f.status, 'all'))
  state.counts = await api<{ mine: number; unassigned: number; all: number }>('GET', `/api/v1/conversations/counts?${q}`)
}

/** The fields a `conversation` frame changes, ordered by `updated_at`. */
const LIVE = ['status', 'assignee_id', 'priority', 'tags', 'updated_at'] as const

function upsert(c: Conversation) {
  const old = state.conversations[c.id]
  if (!old) {
    state.conversations[c.id] = c
    return
  }
  const merged = { ...old, ...c }
  // A frame newer than this answer already arrived: keep what it said.
  if ((old.updated_at ?? 0) > (c.updated_at ?? 0)) for (const k of LIVE) (merged as Record<string, unknown>)[k] = old[k]
  state.conversations[c.id] = merged
}

/** Bumped by every first-page load: an answer for an older one is dropped. */
let listGen = 0

/**
 * The list's first page, or (`more`) the next one. A filter of several
 * statuses (open + queued) is one request: the server takes a list. A
 * first-page load (a new filter, a reconnect) always goes out, and an answer
 * to an earlier load that comes after it is dropped, so it never writes its
 * items or cursor into the list of another filter.
 */
export async function loadList(more = false) {
  if (more && (state.listLoading || !state.listCursor)) return
  const gen = more ? listGen : ++listGen
  state.listLoading = true
  try {
    const statuses = statusesFor(state.status, state.view)
    const q = apiFilters(currentFilters(), statuses)
    q.set('limit', '50')
    if (state.view === 'mine') q.set('assignee', 'me')
    else if (state.view === 'unassigned') q.set('assignee', 'none')
    else if (state.filters.agent) q.set('assignee', state.filters.agent)
    if (more && state.listCursor) q.set('cursor', state.listCursor)
    const page = await api<Page<Conversation>>('GET', `/api/v1/conversations?${q}`)
    if (gen !== listGen) return
    if (!more) state.listed = {}
    for (const c of page.items) state.listed[c.id] = true
    page.items.forEach(upsert)
    state.listCursor = page.next_cursor
  } finally {
    if (gen === listGen) state.listLoading = false
  }
}

/** Whether scrolling further can load more of the list. */
export function listHasMore(): boolean {
  return !!state.listCursor
}

export async function loadAgents() {
  const page = await api<Page<User>>('GET', '/api/v1/users?limit=200')
  for (const u of page.items) state.agents[u.id] = u
}

/** The live queue view, replaced whole (a renamed or deleted group's line goes). */
/** Groups and the workspace settings, once per visit of the inbox (not per conversation opened). */
export async function loadGroups() {
  const [groups, ws] = await Promise.all([listAll<Group>('/api/v1/groups'), api<Workspace>('GET', '/api/v1/workspace')])
  state.groups = groups
  state.workspace = ws
}

export async function loadQueues() {
  const lines = await listAll<{ group: string; waiting: number; conversation_ids: string[] }>('/api/v1/routing/queues')
  state.queues = Object.fromEntries(lines.map((q) => [q.group, { waiting: q.waiting, conversation_ids: q.conversation_ids }]))
}

export async function loadCanned() {
  // The API lists them in creation order; the composer and the admin page show them by shortcut.
  const all = await listAll<CannedReply>('/api/v1/canned-replies?limit=200')
  state.canned = all.sort((a, b) => (a.shortcut < b.shortcut ? -1 : a.shortcut > b.shortcut ? 1 : 0))
}

export async function loadMacros() {
  const all = await listAll<Macro>('/api/v1/macros?limit=200')
  state.macros = all.sort((a, b) => a.name.localeCompare(b.name))
}

/** Runs a macro on a conversation; the answer says what each action did. Messages arrive on the socket. */
export async function runMacro(conversationId: string, macroId: string): Promise<MacroRun> {
  const run = await api<MacroRun>('POST', `/api/v1/conversations/${conversationId}/macros/${macroId}/run`)
  changed(run.conversation)
  return run
}

async function fetchConversation(id: string) {
  upsert(await api<Conversation>('GET', `/api/v1/conversations/${id}`))
}

/** Loads the newest page of a conversation, or what came after what is held. */
export async function loadMessages(id: string) {
  const held = state.messages[id] ?? []
  if (held.length === 0) {
    const page = await api<{ items: Message[]; has_more: boolean }>(
      'GET',
      `/api/v1/conversations/${id}/messages?before_seq=${Number.MAX_SAFE_INTEGER}&limit=50`,
    )
    state.messages[id] = mergeBySeq(state.messages[id] ?? [], page.items)
    state.hasOlder[id] = page.has_more
    return
  }
  // A window around a message a search found: the newer ones come a page at a time as the agent scrolls down.
  if (state.hasNewer[id]) return
  let after = held[held.length - 1].seq
  for (;;) {
    const page = await api<{ items: Message[]; has_more: boolean }>(
      'GET',
      `/api/v1/conversations/${id}/messages?after_seq=${after}&limit=200`,
    )
    state.messages[id] = mergeBySeq(state.messages[id] ?? [], page.items)
    if (!page.has_more || page.items.length === 0) break
    after = page.items[page.items.length - 1].seq
  }
}

const eventsLoading: Record<string, Promise<void> | undefined> = {}

/** The conversation's audit trail, or what came after what is held (one load at a time per conversation). */
export function loadEvents(id: string): Promise<void> {
  const run = async () => {
    for (;;) {
      const held = state.events[id] ?? []
      const q = new URLSearchParams({ limit: '200' })
      if (held.length) q.set('cursor', held[held.length - 1].id)
      const page = await api<Page<ConvEvent>>('GET', `/api/v1/conversations/${id}/events?${q}`)
      state.events[id] = mergeEvents(state.events[id] ?? [], page.items)
      if (!page.next_cursor || page.items.length === 0) break
    }
  }
  const next = (eventsLoading[id] ?? Promise.resolve()).then(run, run)
  const mine = next.catch(() => undefined).finally(() => {
    if (eventsLoading[id] === mine) delete eventsLoading[id]
  })
  eventsLoading[id] = mine
  return next
}

/** A contact's newest business events (the panel shows the latest 50; frames add new ones). */
export async function loadContactEvents(contactId: string) {
  const page = await api<Page<BusinessEvent>>('GET', `/api/v1/contacts/${contactId}/events?limit=50`)
  state.contactEvents[contactId] = mergeContactEvents(state.contactEvents[contactId] ?? [], page.items)
}

/** The next page after a window of messages (scrolled to its bottom). */
export async function loadNewer(id: string) {
  const held = state.messages[id] ?? []
  if (!held.length || !state.hasNewer[id]) return loadMessages(id)
  const page = await api<{ items: Message[]; has_more: boolean }>(
    'GET',
    `/api/v1/conversations/${id}/messages?after_seq=${held[held.length - 1].seq}&limit=50`,
  )
  state.messages[id] = mergeBySeq(state.messages[id] ?? [], page.items)
  state.hasNewer[id] = page.has_more
}

/** Leaves a window of older messages for the newest page (the agent sends: their message goes at the end). */
export async function toNewest(id: string) {
  if (!state.hasNewer[id]) return
  delete state.hasNewer[id]
  state.messages[id] = []
  await loadMessages(id)
}

export async function loadOlder(id: string) {
  const held = state.messages[id] ?? []
  if (!held.length) return loadMessages(id)
  const page = await api<{ items: Message[]; has_more: boolean }>(
    'GET',
    `/api/v1/conversations/${id}/messages?before_seq=${held[0].seq}&limit=50`,
  )
  state.messages[id] = mergeBySeq(held, page.items)
  state.hasOlder[id] = page.has_more
}

export async function select(id: string | null) {
  state.selected = id
  if (!id) return
  if (!state.conversations[id]) await fetchConversation(id).catch(() => undefined)
  void loadEvents(id).catch(() => undefined)
  void readNotifications({ conversation_id: id }).catch(() => undefined)
  await loadMessages(id)
  markRead(id)
}

/** Tells the server (and so the visitor) how far this agent has read. */
export function markRead(id: string) {
  const held = state.messages[id]
  const c = state.conversations[id]
  if (!held?.length || !c) return
  if (document.hidden) return
  const seq = held[held.length - 1].seq
  if ((c.unread ?? 0) > 0 || seq > (readSent[id] ?? 0)) {
    readSent[id] = seq
    c.unread = 0
    rt?.send({ type: 'read', conversation_id: id, seq })
  }
}
const readSent: Record<string, number> = {}

function onMessage(m: Message) {
  const id = m.conversation_id
  // Beyond a window of older messages it would leave a hole: it comes with the pages after the window.
  if (state.messages[id] && !state.hasNewer[id]) state.messages[id] = mergeBySeq(state.messages[id], [m])
  const c = state.conversations[id]
  const mine = m.sender.kind === 'agent' && m.sender.id === me()
  if (!c) {
    refreshCounts()
    // Only the server knows which group a new conversation went through.
    if (state.filters.group) void loadList().catch(() => undefined)
    void fetchConversation(id).then(() => {
      if (!mine && alertFor(state.conversations[id])) notify('conversation', state.conversations[id], m)
    })
    return
  }
  c.last_seq = Math.max(c.last_seq, m.seq)
  c.last_activity_at = Math.max(c.last_activity_at, m.created_at)
  c.last_message = { kind: m.kind, sender_kind: m.sender.kind, excerpt: m.content.slice(0, 140), created_at: m.created_at }
  c.waiting_since = waitingAfter(c.waiting_since ?? null, m)
  if (m.sender.kind === 'visitor') state.visitorTyping[id] = false
  if (mine) return
  if (state.selected === id && !document.hidden) markRead(id)
  else c.unread = (c.unread ?? 0) + 1
  if (m.sender.kind === 'visitor' && (state.selected !== id || document.hidden) && alertFor(c)) notify('message', c, m)
}

/** Whether a visitor's message in `c` alerts me, by my notification scope. */
function alertFor(c: Conversation | undefined): boolean {
  const groups = state.groups.filter((g) => g.members.includes(me())).map((g) => g.name)
  return wantsAlert(c, {
    scope: session.user?.notify_scope ?? 'groups',
    me: me(),
    inMyGroups: (id) => groups.some((g) => state.queues[g]?.conversation_ids.includes(id)),
  })
}

/** The bell's first page and unread count. */
export async function loadNotifications() {
  const r = await api<{ items: AppNotification[]; unread: number }>('GET', '/api/v1/notifications?limit=30')
  state.notifications = r.items
  state.unreadNotifications = r.unread
  notificationsLoaded = true
  // The conversation on screen is read (opened before the bell loaded).
  if (state.selected && !document.hidden) void readNotifications({ conversation_id: state.selected }).catch(() => undefined)
}

/** Marks notifications read: some, a conversation's (it was opened), or all. */
export async function readNotifications(which: { ids: string[] } | { conversation_id: string } | { all: true }) {
  const now = Date.now()
  const hit = (n: AppNotification) => ('all' in which ? true : 'ids' in which ? which.ids.includes(n.id) : n.conversation_id === which.conversation_id)
  const localUnread = state.notifications.filter((n) => !n.read_at).length
  // The bell holds only the newest page: unread ones beyond it (or not
  // loaded yet) are the server's to find, so ask whenever some may exist.
  const maybeElsewhere = state.unreadNotifications > localUnread || !notificationsLoaded
  if (!state.notifications.some((n) => !n.read_at && hit(n)) && !('all' in which) && !('ids' in which) && !maybeElsewhere) return
  for (const n of state.notifications) if (!n.read_at && hit(n)) n.read_at = now
  const r = await api<{ unread: number }>('POST', '/api/v1/notifications/read', which)
  state.unreadNotifications = r.unread
}
let notificationsLoaded = false

function onNotification(n: AppNotification) {
  if (state.notifications.some((x) => x.id === n.id)) return
  state.notifications = [n, ...state.notifications].slice(0, 100)
  // Already looking at it: read at once, no alert.
  if (state.selected === n.conversation_id && !document.hidden) {
    n.read_at = Date.now()
    void api<{ unread: number }>('POST', '/api/v1/notifications/read', { ids: [n.id] }).then(
      (r) => (state.unreadNotifications = r.unread),
      () => undefined,
    )
    return
  }
  state.unreadNotifications++
  // Assignments alert through the conversation frame already.
  if (n.kind === 'mention') notifyMention(n)
}

function onFrame(f: ServerFrame) {
  if (f.type === 'conversation' || f.type === 'presence' || f.type === 'group_queue' || f.type === 'message') state.liveTick++
  switch (f.type) {
    case 'message':
      onMessage(f.message)
      break
    case 'message_deleted':
      markDeleted(f.conversation_id, f.seq, f.deleted_at)
      break
    case 'notification': {
      const { type: _type, ...n } = f
      onNotification({ ...n, read_at: null })
      break
    }
    case 'ack': {
      const p = state.outbox.ack(f.client_msg_id)
      if (p && state.messages[p.conversation_id] && !state.hasNewer[p.conversation_id]) {
        // Shown at once; the `message` frame for it merges by seq.
        state.messages[p.conversation_id] = mergeBySeq(state.messages[p.conversation_id], [
          {
            id: f.id,
            conversation_id: f.conversation_id,
            seq: f.seq,
            client_msg_id: f.client_msg_id,
            sender: { kind: 'agent', id: me() },
            kind: p.kind,
            content: p.content,
            attachment: p.attachment_id
              ? { id: p.attachment_id, name: p.attachment_name ?? '', content_type: '', size: 0 }
              : null,
            created_at: f.created_at,
          },
        ])
      }
      break
    }
    case 'error':
      if (f.client_msg_id) state.outbox.error(f.client_msg_id, f.code, f.message)
      break
    case 'typing':
      if (f.sender_kind === 'visitor') {
        state.visitorTyping[f.conversation_id] = f.on
        clearTimeout(typingTimers[f.conversation_id])
        // A typing indicator whose "off" was lost fades by itself.
        if (f.on) typingTimers[f.conversation_id] = setTimeout(() => (state.visitorTyping[f.conversation_id] = false), 8000)
      }
      break
    case 'read':
      if (f.reader_kind === 'visitor') state.visitorRead[f.conversation_id] = Math.max(state.visitorRead[f.conversation_id] ?? 0, f.seq)
      break
    case 'presence': {
      const u = state.agents[f.user_id]
      if (u) u.status = f.status
      if (session.user && f.user_id === session.user.id) session.user.status = f.status
      break
    }
    case 'contact_event': {
      const id = f.event.contact_id
      // Only contacts whose panel was opened are held; others load when opened.
      if (state.contactEvents[id]) state.contactEvents[id] = mergeContactEvents(state.contactEvents[id], [f.event])
      state.contactVersion[id] = (state.contactVersion[id] ?? 0) + 1
      break
    }
    case 'group_queue':
      state.queues[f.group] = { waiting: f.waiting, conversation_ids: f.conversation_ids }
      break
    case 'offer':
      if (f.agents.includes(me())) {
        state.offers[f.conversation_id] = f.group
        void fetchConversation(f.conversation_id).then(() =>
          notify('conversation', state.conversations[f.conversation_id], {
            conversation_id: f.conversation_id,
            kind: 'text',
            content: f.group,
          } as Message),
        )
      }
      break
    case 'contact': {
      // The name shows everywhere the contact appears; an open panel reloads.
      for (const c of Object.values(state.conversations)) {
        if (c.contact_id !== f.contact.id) continue
        c.contact_name = f.contact.name
        c.contact_email = f.contact.email
      }
      state.contactVersion[f.contact.id] = (state.contactVersion[f.contact.id] ?? 0) + 1
      break
    }
    case 'conversation': {
      refreshCounts()
      // Taken (by anyone), or out of the line (left for follow-up, resolved…): no longer on offer.
      if (f.assignee_id || f.status !== 'queued') delete state.offers[f.conversation_id]
      const c = state.conversations[f.conversation_id]
      // An older frame than what this console holds (a REST answer overtook it) changes nothing.
      if (c && f.updated_at && c.updated_at > f.updated_at) break
      if (c) {
        const wasMine = c.assignee_id === me()
        c.status = f.status
        c.assignee_id = f.assignee_id
        if (f.priority) c.priority = f.priority
        if (f.tags) c.tags = f.tags
        // An agents' copy is complete: a timer it leaves out is off.
        if (f.priority) {
          c.snoozed_until = f.snoozed_until ?? null
          c.waiting_since = f.waiting_since ?? null
        }
        if (f.updated_at) c.updated_at = f.updated_at
        // Routed or transferred to me: the same alert as a new conversation.
        if (!wasMine && me() && f.assignee_id === me()) notifyAssigned(c)
      } else {
        void fetchConversation(f.conversation_id).then(() => {
          const fresh = state.conversations[f.conversation_id]
          if (fresh && me() && fresh.assignee_id === me()) notifyAssigned(fresh)
        })
      }
      // Every change that sends this frame leaves a line in the audit trail.
      if (state.events[f.conversation_id]) void loadEvents(f.conversation_id).catch(() => undefined)
      break
    }
  }
}

/** Conversations this agent took themselves: no alert for their own click
 *  (whether the frame or the answer comes first; forgotten after a while). */
const selfTaken = new Set<string>()
function tookMyself(id: string) {
  selfTaken.add(id)
  setTimeout(() => selfTaken.delete(id), 10_000)
}

function notifyAssigned(c: Conversation) {
  if (selfTaken.delete(c.id)) return
  notify('assigned', c, {
    conversation_id: c.id,
    // The last message's own kind: an image or a file is worded, not its stored text.
    kind: c.last_message?.kind ?? 'text',
    content: c.last_message?.excerpt ?? '',
  } as Message)
}

function flushOutbox() {
  for (const p of state.outbox.toSend()) {
    rt?.send({
      type: 'send',
      client_msg_id: p.client_msg_id,
      conversation_id: p.conversation_id,
      kind: p.kind,
      content: p.content,
      ...(p.attachment_id ? { attachment_id: p.attachment_id } : {}),
    })
  }
}

export function send(p: Omit<Pending, 'state' | 'created_at' | 'client_msg_id'>) {
  const pending: Pending = { ...p, client_msg_id: crypto.randomUUID(), state: 'sending', created_at: Date.now() }
  state.outbox.add(pending)
  rt?.send({
    type: 'send',
    client_msg_id: pending.client_msg_id,
    conversation_id: p.conversation_id,
    kind: p.kind,
    content: p.content,
    ...(p.attachment_id ? { attachment_id: p.attachment_id } : {}),
  })
}

export function retry(client_msg_id: string) {
  const p = state.outbox.retry(client_msg_id)
  if (p) flushOutbox()
}

export function typing(conversation_id: string, on: boolean) {
  rt?.send({ type: 'typing', conversation_id, on })
}

export function setPresence(status: AgentStatus) {
  if (session.user) session.user.status = status
  rt?.send({ type: 'presence', status })
}

/** After a change of ours: the conversation as the server has it, and the line it left in the audit trail. */
function changed(c: Conversation) {
  upsert(c)
  if (state.events[c.id]) void loadEvents(c.id).catch(() => undefined)
}

export async function setStatus(id: string, status: AgentSettableStatus) {
  changed(await api<Conversation>('POST', `/api/v1/conversations/${id}/status`, { status }))
}

/** A message taken back by its author: its text is gone for everyone. */
function markDeleted(conv: string, seq: number, at: number) {
  const held = state.messages[conv]
  const i = held?.findIndex((m) => m.seq === seq) ?? -1
  if (held && i >= 0) held[i] = { ...held[i], content: '', attachment: null, deleted_at: at }
}

/** Takes back one's own message (shortly after sending it). */
export async function deleteMessage(conv: string, seq: number) {
  const m = await api<Message>('DELETE', `/api/v1/conversations/${conv}/messages/${seq}`)
  markDeleted(conv, seq, m.deleted_at ?? Date.now())
}

/** Puts a conversation aside until `until` (ms): pending, waking by itself then. */
export async function snooze(id: string, until: number) {
  changed(await api<Conversation>('POST', `/api/v1/conversations/${id}/snooze`, { until }))
}

/** Hands the conversation to an agent or a group's line, with a note only agents see. */
export async function transfer(id: string, to: { to_agent_id: string } | { to_group: string }, note: string) {
  changed(await api<Conversation>('POST', `/api/v1/conversations/${id}/transfer`, { ...to, note }))
}

const labelQueue: Record<string, Promise<unknown>> = {}

/** A change of labels: the priority, and tags to add and to take away. */
export interface LabelChange {
  priority?: Priority
  add_tags?: string[]
  remove_tags?: string[]
}

/**
 * Sets the priority and/or adds and removes tags. Tags go as changes
 * (`add_tags`/`remove_tags`), which the server applies to the set as it is
 * then, so tags others (agents, rules) added meanwhile are kept even when
 * this console has not heard of them yet. Changes to one conversation go one
 * after the other, in the order they were made.
 */
export function setLabels(id: string, change: LabelChange): Promise<void> {
  const body: LabelChange = {}
  if (change.priority) body.priority = change.priority
  if (change.add_tags?.length) body.add_tags = [...change.add_tags]
  if (change.remove_tags?.length) body.remove_tags = [...change.remove_tags]
  const run = async () => {
    changed(await api<Conversation>('PATCH', `/api/v1/conversations/${id}`, body))
  }
  const next = (labelQueue[id] ?? Promise.resolve()).then(run, run)
  const mine = next.catch(() => undefined)
  labelQueue[id] = mine
  void mine.then(() => {
    if (labelQueue[id] === mine) delete labelQueue[id]
  })
  return next
}

/** Grab mode: the first claim wins; false when someone else was first. */
export async function claim(id: string): Promise<boolean> {
  tookMyself(id)
  try {
    changed(await api<Conversation>('POST', `/api/v1/conversations/${id}/claim`))
    delete state.offers[id]
    return true
  } catch {
    delete state.offers[id]
    selfTaken.delete(id)
    return false
  }
}

export async function assign(id: string, assignee_id: string | null) {
  if (assignee_id === me()) tookMyself(id)
  try {
    changed(await api<Conversation>('POST', `/api/v1/conversations/${id}/assign`, { assignee_id }))
  } catch (e) {
    selfTaken.delete(id)
    throw e
  }
}

async function afterReconnect() {
  flushOutbox()
  // Whatever happened while the socket was down: the list's first page and the open conversation.
  refreshCounts(true)
  void loadNotifications().catch(() => undefined)
  await loadList().catch(() => undefined)
  if (state.selected) {
    await loadMessages(state.selected).catch(() => undefined)
    await loadEvents(state.selected).catch(() => undefined)
    // Business events recorded while the socket was down.
    const contact = state.conversations[state.selected]?.contact_id
    if (contact && state.contactEvents[contact]) await loadContactEvents(contact).catch(() => undefined)
  }
}

export function start() {
  if (rt) return
  rt = new Realtime({
    token: accessToken,
    renew: refresh,
    frame: onFrame,
    state: (s) => (state.conn = s),
    ready: () => void afterReconnect(),
  })
  rt.start()
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.selected) markRead(state.selected)
  })
}

export async function logout() {
  rt?.stop()
  rt = null
  await apiLogout()
  state.conversations = {}
  state.messages = {}
  state.events = {}
  state.contactEvents = {}
  state.contactVersion = {}
  state.selected = null
  state.outbox = new Outbox()
  state.queues = {}
  state.groups = []
  state.workspace = null
  state.offers = {}
  state.listCursor = null
  state.listed = {}
  state.counts = null
  state.notifications = []
  state.unreadNotifications = 0
  notificationsLoaded = false
  listGen++
  state.listLoading = false
}
