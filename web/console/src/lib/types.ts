// Shapes of the kefu API and realtime protocol the console uses
// (docs/protocol.md and /api/openapi.json are the reference).

export type Role = 'owner' | 'admin' | 'agent'
export type AgentStatus = 'online' | 'away' | 'offline'
/** `queued` (waiting in a routing group's line) and `bot` are set by routing only. */
export type ConversationStatus = 'bot' | 'queued' | 'open' | 'pending' | 'resolved' | 'closed'
/** The statuses an agent may set through `POST /conversations/{id}/status`. */
export type AgentSettableStatus = 'open' | 'pending' | 'resolved' | 'closed'
export type Priority = 'low' | 'normal' | 'high' | 'urgent'
export type MessageKind = 'text' | 'image' | 'file' | 'note' | 'event'
export type SenderKind = 'visitor' | 'agent' | 'api' | 'system' | 'bot'

export interface User {
  id: string
  workspace_id: string
  email: string
  name: string
  role: Role
  capacity: number
  status: AgentStatus
  active: boolean
  created_at: number
  /** E-mail me about conversations assigned to me and mentions while I am offline. */
  email_on_assign: boolean
  /** `/api/v1/avatars/{key}`; null: initials. */
  avatar_url?: string | null
  /** Which conversations' visitor messages notify me. */
  notify_scope?: NotifyScope
  notify_sound?: boolean
  notify_desktop?: boolean
  notify_push?: boolean
}

export type NotifyScope = 'assigned' | 'groups' | 'all'

/** A mention of me in a note, or a conversation given to me (the bell). */
export interface AppNotification {
  id: string
  kind: 'mention' | 'assigned'
  conversation_id: string
  seq?: number | null
  actor_id: string
  actor_name: string
  /** The note's start (mention) or the customer's name (assigned). */
  excerpt: string
  created_at: number
  read_at?: number | null
}

export interface AttachmentRef {
  id: string
  name: string
  content_type: string
  size: number
}

export interface Message {
  id: string
  conversation_id: string
  seq: number
  client_msg_id: string | null
  sender: { kind: SenderKind; id: string }
  kind: MessageKind
  content: string
  attachment: AttachmentRef | null
  created_at: number
  /** Its author took it back (its text and attachment are gone). */
  deleted_at?: number | null
  /** A bot message's buttons and the entry it answered with. */
  bot?: BotMark | null
}

export interface BotMark {
  entry?: string
  choices?: { entry: string; label: string }[]
  offer_person?: boolean
  cited?: string[]
}

/** An inbox's bot (docs/bot.md). */
export interface BotSettings {
  enabled: boolean
  mode: 'bot_first' | 'humans_first'
  name: string
  greeting: string
  thresholds: { answer: number; margin: number; clarify: number }
  patience: { low_confidence_turns: number; max_bot_turns: number }
  handoff_words: string[]
  plugins: { lexical: boolean; semantic: boolean; llm: boolean }
  take_timeouts: boolean
}

/** A question the bot could not answer. */
export interface BotQuestion {
  id: string
  conversation_id: string
  message_id: string
  question: string
  reason: string
  best_entry: string | null
  best_score: number | null
  status: string
  created_at: number
}

export interface LastMessage {
  kind: MessageKind
  sender_kind: SenderKind
  excerpt: string
  created_at: number
}

export interface Conversation {
  id: string
  workspace_id: string
  inbox_id: string
  contact_id: string
  status: ConversationStatus
  assignee_id: string | null
  last_seq: number
  last_activity_at: number
  created_at: number
  updated_at: number
  priority: Priority
  /** Agents only (a visitor's copy has none). */
  tags: string[]
  /** Snoozed (status pending) until then (ms); null: not snoozed. */
  snoozed_until?: number | null
  /** Since when the customer waits for an answer (ms); null: nobody waits. */
  waiting_since?: number | null
  contact_name?: string | null
  contact_email?: string | null
  last_message?: LastMessage | null
  unread?: number
}

export interface Contact {
  id: string
  inbox_id: string
  external_id: string | null
  name: string | null
  email: string | null
  phone?: string | null
  attributes: Record<string, unknown>
  page_url: string | null
  referrer: string | null
  language: string | null
  user_agent: string | null
  ip: string | null
  last_seen_at: number
  created_at: number
  /** When an agent blocked them (epoch ms), or null. */
  blocked_at?: number | null
  /** The contact this one was merged into, or null. */
  merged_into?: string | null
}

export interface IpBlock {
  ip: string
  note: string
  created_by: string
  created_at: number
}

export interface ContactNote {
  id: string
  contact_id: string
  author_id: string
  body: string
  created_at: number
}

export type AttributeKind = 'text' | 'number' | 'date' | 'boolean' | 'link'

/** A custom contact attribute the workspace defines (shared by the pre-chat form and the contact panel). */
export interface AttributeDefinition {
  key: string
  label: string
  kind: AttributeKind
}

export interface PrechatField {
  key: string
  label: string
  kind: 'text' | 'email' | 'tel' | 'textarea'
  required: boolean
}

export interface OpeningPeriod {
  day: number
  open: string
  close: string
}

/**
 * Weekly opening hours. `timezone` is an IANA name (absent: the workspace's);
 * `utc_offset_minutes` is the older fixed-offset form, used only without a
 * `timezone` (inboxes saved before time zones existed).
 */
export interface BusinessHours {
  timezone?: string
  utc_offset_minutes?: number
  periods: OpeningPeriod[]
}

export interface WidgetSettings {
  color: string
  position: 'right' | 'left'
  prechat: { enabled: boolean; fields: PrechatField[] }
  business_hours: BusinessHours | null
  offline: 'form' | 'chat'
  /** Show the answering agent's name and avatar on replies in the widget. */
  show_agents?: boolean
  /** Ask for a 1–5 rating after a resolve. */
  csat?: { enabled: boolean; question_zh: string; question_en: string }
}

export interface Inbox {
  id: string
  workspace_id: string
  name: string
  public_key: string
  allowed_origins: string[]
  display_name: string
  welcome_text: string
  widget: WidgetSettings
  created_at: number
  reopen_window_secs: number
  /** The closing message for visitors of any language but Chinese (English). */
  closing_message: string
  /** The closing message for visitors who read Chinese. */
  closing_message_zh: string
  bot?: BotSettings
}

export interface CannedReply {
  id: string
  shortcut: string
  content: string
  /** The agent whose own reply this is (only they see it); null: shared with the workspace. */
  owner_id?: string | null
  personal?: boolean
  created_at: number
  updated_at: number
}

/** One step of a macro (the server checks them on save; docs/macros.md). */
export type MacroAction =
  | { type: 'reply'; content: string }
  | { type: 'note'; content: string }
  | { type: 'add_label'; label: string }
  | { type: 'remove_label'; label: string }
  /** `me`, a user id, or `group:<name>`. */
  | { type: 'assign'; to: string }
  | { type: 'unassign' }
  | { type: 'set_priority'; priority: Priority }
  | { type: 'status'; status: 'open' | 'pending' | 'resolved' }
  | { type: 'snooze'; for_secs: number }

export type MacroActionType = MacroAction['type']

export interface Macro {
  id: string
  name: string
  actions: MacroAction[]
  owner_id: string | null
  personal: boolean
  created_at: number
  updated_at: number
}

/** What a run did, action by action (it stops at the first failure). */
export interface MacroRun {
  macro_id: string
  completed: boolean
  outcomes: { index: number; type: MacroActionType; state: 'done' | 'failed' | 'skipped'; error: { code: string; message: string } | null }[]
  conversation: Conversation
}

export interface Workspace {
  id: string
  name: string
  timezone: string
  language: string
  holidays: string[]
  created_at: number
  /** The group that gets what no rule routes; null: it stays unassigned. */
  default_group: string | null
  /** An agent's reply takes an unassigned conversation. */
  reply_takes: boolean
}

export type GroupStrategy = 'least_loaded' | 'round_robin' | 'grab'

export interface Group {
  id: string
  name: string
  strategy: GroupStrategy
  members: string[]
  queue_timeout_secs: number
  timeout_to_group: string | null
  /** null: always open. */
  business_hours: BusinessHours | null
  /** What the visitor is told when the group cannot answer; empty: a built-in bilingual text. */
  offline_message: string
  /** Agents created later join it. */
  auto_join: boolean
}

/** One entry of a conversation's audit trail (`GET /conversations/{id}/events`). */
export interface ConvEvent {
  id: string
  conversation_id: string
  /** created, status_changed, assigned, transferred, labels_changed, offline, … */
  kind: string
  actor_kind: string
  actor_id: string
  data: Record<string, any>
  created_at: number
}

/** Something a company's own system recorded on a contact (`POST /api/v1/events`). */
export interface BusinessEvent {
  id: string
  contact_id: string
  /** A dotted name, e.g. `order.refunded`. */
  event_type: string
  title: string
  data: Record<string, unknown>
  /** When it happened in the sender's system (ms). */
  occurred_at: number
  /** `api_key:<id>` or `signed`. */
  source: string
}

/** What an API key may do (docs/integrations.md). */
export const SCOPES = ['conversations:read', 'conversations:write', 'messages:write', 'contacts:read', 'contacts:write', 'events:write', 'settings:read', 'admin', 'mail:inbound'] as const
export type Scope = (typeof SCOPES)[number]

export interface ApiKey {
  id: string
  workspace_id: string
  name: string
  prefix: string
  scopes: Scope[]
  revoked_at: number | null
  created_at: number
}

export interface InboundSecretInfo {
  prefix: string
  created_at: number
  /** After a rotation: the previous secret still verifies until then (ms). */
  previous_until: number | null
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

export type ServerFrame =
  | { type: 'hello'; v: number; identity: { kind: string; id: string; workspace_id: string } }
  | { type: 'ack'; client_msg_id: string; id: string; conversation_id: string; seq: number; created_at: number }
  | { type: 'message'; message: Message }
  | { type: 'message_deleted'; conversation_id: string; seq: number; deleted_at: number }
  | { type: 'synced'; conversations: { conversation_id: string; after_seq: number }[] }
  | { type: 'typing'; conversation_id: string; sender_kind: string; sender_id: string; on: boolean }
  | { type: 'read'; conversation_id: string; reader_kind: string; reader_id: string; seq: number }
  | { type: 'presence'; user_id: string; status: AgentStatus }
  | {
      type: 'conversation'
      conversation_id: string
      status: ConversationStatus
      assignee_id: string | null
      /** Agents' copies only. */
      priority?: Priority
      tags?: string[]
      /** Agents' copies (with `priority`): absent means none. */
      snoozed_until?: number
      waiting_since?: number
      /** When it last changed (ms): the newer of a frame and a REST answer wins. */
      updated_at?: number
    }
  | { type: 'contact_event'; event: BusinessEvent }
  | { type: 'contact'; contact: Contact }
  | ({ type: 'notification' } & Omit<AppNotification, 'read_at'>)
  | { type: 'pong'; id: string | null }
  | { type: 'offer'; conversation_id: string; group: string; agents: string[] }
  | { type: 'queue'; conversation_id: string; position: number }
  | { type: 'group_queue'; group: string; waiting: number; conversation_ids: string[] }
  | { type: 'error'; code: string; message: string; client_msg_id?: string }
  | { type: 'reconnect'; reason: string; after_ms: number }

/** A knowledge-base entry of the bot. */
export interface KbEntry {
  id: string
  external_id: string | null
  question: string
  alternatives: string[]
  answer: string
  category: string
  language: 'zh' | 'en' | 'both'
  enabled: boolean
  created_at: number
  updated_at: number
}

/** What "try the bot" answers. */
export interface BotTrial {
  language: 'zh' | 'en' | 'both'
  asked_for_person: boolean
  candidates: { entry_id: string; external_id: string | null; question: string; score: number; by_plugin: { plugin: string; score: number }[] }[]
  decision: { action: 'answer' | 'clarify' | 'not_understood' | 'hand_off'; entry_id: string | null; answer: string | null; choices: string[]; reason: string | null }
  answer_threshold: number
  margin: number
  clarify_threshold: number
  runs: { plugin: BotPluginName; ms: number; outcome: 'ok' | 'timeout' | 'error' | 'off'; detail: string | null }[]
  llm: { text: string; cited: { entry_id: string; external_id: string | null; question: string }[] } | null
  semantic_model: string | null
}

export type BotPluginName = 'lexical' | 'semantic' | 'llm'
