// New conversations and messages while the agent looks elsewhere: a short
// sound, a desktop notification (if allowed) and a count in the tab title.

import { t } from './i18n'
import { excerptOf } from './excerpt'
import { x } from './extraStrings'
import { session } from './api'
import { fill, lang } from './i18n'
import { teamEn, teamZh } from './teamStrings'
import type { AppNotification, Conversation, Message } from './types'

let audio: AudioContext | null = null
let unseen = 0
const baseTitle = document.title

function beep() {
  try {
    audio ??= new AudioContext()
    const osc = audio.createOscillator()
    const gain = audio.createGain()
    osc.frequency.value = 880
    gain.gain.setValueAtTime(0.08, audio.currentTime)
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25)
    osc.connect(gain).connect(audio.destination)
    osc.start()
    osc.stop(audio.currentTime + 0.25)
  } catch {
    // No audio (autoplay policy before any click): the title still counts.
  }
}

/** The agent's choices (My settings): a sound, desktop notifications. */
const wantsSound = () => session.user?.notify_sound !== false
const wantsDesktop = () => session.user?.notify_desktop !== false

function countUnseen() {
  if (document.hidden) {
    unseen++
    document.title = `(${unseen}) ${baseTitle}`
  }
}

function desktopAllowed(): boolean {
  return wantsDesktop() && 'Notification' in window && Notification.permission === 'granted' && document.hidden
}

/** A colleague mentioned me in a note (assignments alert through `notify`). */
export function notifyMention(n: AppNotification) {
  if (wantsSound()) beep()
  countUnseen()
  if (desktopAllowed()) {
    const d = lang.value === 'zh-CN' ? teamZh : teamEn
    const note = new Notification(fill(d.mentioned, { who: n.actor_name || d.someone }), { body: n.excerpt, tag: `mention-${n.id}` })
    note.onclick = () => {
      window.focus()
      location.hash = `#/inbox/${n.conversation_id}`
    }
  }
}

export function notify(kind: 'conversation' | 'message' | 'assigned', c: Conversation | undefined, m: Message) {
  if (wantsSound()) beep()
  countUnseen()
  if (desktopAllowed()) {
    const title = kind === 'conversation' ? t.value.newConversation : kind === 'assigned' ? t.value.assignedToYou : t.value.newMessage
    const who = c?.contact_name || t.value.visitor
    const n = new Notification(`${title} · ${who}`, { body: excerptOf(m.kind, m.content, x.value), tag: m.conversation_id })
    n.onclick = () => {
      window.focus()
      location.hash = `#/inbox/${m.conversation_id}`
    }
  }
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) {
    unseen = 0
    document.title = baseTitle
  }
})
