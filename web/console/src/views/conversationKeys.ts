// The keys of the open conversation (resolve, assign to me) and of its
// composer (focus, note mode, canned replies, leave), bound while the
// conversation pane is mounted. The composer takes focus when a
// conversation opens, except on touch screens, where that would raise the
// on-screen keyboard over the conversation.

import { nextTick, onMounted, type Ref } from 'vue'
import { useShortcut } from '../lib/keyBindings'

export interface ConversationKeys {
  text: Ref<string>
  mode: Ref<'reply' | 'note'>
  composer: Ref<HTMLTextAreaElement | null>
  /** Whether it can be resolved now. */
  active: () => boolean
  /** Whether it is assigned to this agent already. */
  mine: () => boolean
  resolve: () => void
  assignMe: () => void
}

export function useConversationKeys(k: ConversationKeys) {
  function focus() {
    const el = k.composer.value
    if (!el) return
    el.focus()
    el.setSelectionRange(el.value.length, el.value.length)
  }
  onMounted(() => {
    if (!window.matchMedia?.('(pointer: coarse)').matches) focus()
  })
  useShortcut('focusComposer', { run: focus })
  useShortcut('noteMode', {
    run: () => {
      k.mode.value = 'note'
      focus()
    },
  })
  useShortcut('toggleMode', { run: () => (k.mode.value = k.mode.value === 'note' ? 'reply' : 'note') })
  // "/" opens the suggestions of an empty composer; a draft is never replaced.
  useShortcut('canned', {
    run: () => {
      if (!k.text.value) k.text.value = '/'
      void nextTick(focus)
    },
  })
  useShortcut('leaveComposer', { run: () => k.composer.value?.blur() })
  useShortcut('resolve', { can: k.active, run: k.resolve })
  useShortcut('assignMe', { can: () => !k.mine(), run: k.assignMe })
}
