// The wire types of docs/protocol.md that the widget uses.

export interface Attachment {
  id: string
  name: string
  content_type: string
  size: number
}

export type SenderKind = 'visitor' | 'agent' | 'api' | 'system' | 'bot'
export type MessageKind = 'text' | 'image' | 'file' | 'note' | 'event'

export interface WireMessage {
  id: string
  conversation_id: string
  seq: number
  client_msg_id?: string | null
  sender: { kind: SenderKind; id: string }
  kind: MessageKind
  content: string
  attachment?: Attachment | null
  created_at: number
  /** Its author took it back. */
  deleted_at?: number | null
  /** A bot message's buttons and the entry it answered with. */
  bot?: BotMark | null
}

/** What a bot message carries besides its text (docs/protocol.md). */
export interface BotMark {
  /** The knowledge-base entry it answered with: thumbs rate it. */
  entry?: string
  /** "Did you mean" buttons: pressing one sends its label. */
  choices?: { entry: string; label: string }[]
  /** Offer a "talk to a person" button. */
  offer_person?: boolean
}

export interface ConversationHead {
  id: string
  status: string
  last_seq: number
}

export interface SyncPoint {
  conversation_id: string
  after_seq: number
}

export type ServerFrame =
  | { type: 'hello'; identity: { kind: string; id: string }; heartbeat_ms: number; idle_timeout_ms: number; conversations: ConversationHead[] }
  | { type: 'ack'; client_msg_id: string; id: string; conversation_id: string; seq: number; created_at: number }
  | { type: 'message'; message: WireMessage }
  | { type: 'message_deleted'; conversation_id: string; seq: number; deleted_at: number }
  | { type: 'synced'; conversations: SyncPoint[] }
  | { type: 'typing'; conversation_id: string; sender_kind: string; sender_id: string; on: boolean }
  | { type: 'read'; conversation_id: string; reader_kind: string; reader_id: string; seq: number }
  | { type: 'conversation'; conversation_id: string; status: string; assignee_id: string | null }
  | { type: 'queue'; conversation_id: string; position: number; estimated_wait_ms?: number }
  | { type: 'error'; code: string; message: string; client_msg_id?: string }
  | { type: 'reconnect'; reason: string; after_ms: number }
  | { type: 'pong'; id?: string }
  | { type: 'presence' }

export interface PrechatField {
  key: string
  label: string
  kind: 'text' | 'email' | 'tel' | 'textarea'
  required: boolean
}

/** A contact attribute the workspace defines, sent for the pre-chat fields that use its key. */
export interface AttributeDef {
  key: string
  label: string
  kind: 'text' | 'number' | 'date' | 'boolean' | 'link'
}

export interface WidgetSettings {
  color: string
  position: 'right' | 'left'
  prechat: { enabled: boolean; fields: PrechatField[] }
  offline: 'form' | 'chat'
  /** Show the answering agent's name and picture on their replies. */
  show_agents?: boolean
  /** Ask for a 1–5 rating after a resolve (empty questions: ours). */
  csat?: { enabled: boolean; question_zh: string; question_en: string }
}

export interface Session {
  visitor_token: string
  contact_id: string
  resumed: boolean
  inbox: {
    display_name: string
    welcome_text: string
    widget: WidgetSettings
    available: boolean
    /** The inbox's bot answers (its name; empty: the widget's word for it). */
    bot?: { name: string } | null
    /** Definitions of the attributes asked for by the pre-chat form. */
    attributes?: AttributeDef[]
  }
  limits: { max_message_chars: number; max_upload_bytes: number }
  visitor: { name: string | null; email: string | null }
  /** Whether the server sends e-mail (offers the transcript by e-mail). */
  mail?: boolean
}
