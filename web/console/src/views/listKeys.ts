// Next and previous conversation (J/K, Alt+↓/↑) in the order the list shows
// them, bound while the inbox is on screen; the chosen row is scrolled into
// view, however it was chosen (keys, the command bar).

import { nextTick, watch } from 'vue'
import { useShortcut } from '../lib/keyBindings'
import { go } from '../lib/route'
import { step } from '../lib/shortcuts'
import { state, visibleList } from '../lib/store'

export function useListKeys() {
  const move = (delta: 1 | -1) => () => {
    const id = step(
      visibleList().map((c) => c.id),
      state.selected,
      delta,
    )
    if (id) go('#/inbox/' + encodeURIComponent(id))
  }
  useShortcut('next', { can: () => visibleList().length > 0, run: move(1) })
  useShortcut('previous', { can: () => visibleList().length > 0, run: move(-1) })
  watch(
    () => state.selected,
    async () => {
      await nextTick()
      document.querySelector('[data-test="conversation-row"].on')?.scrollIntoView({ block: 'nearest' })
    },
  )
}
