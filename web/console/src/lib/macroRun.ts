// The macro an agent asked to run, from the conversation header's menu or
// the command bar: the header (MacroMenu.vue) shows its confirmation, with
// what it will do, and runs it. One place, so both ways ask the same way.
import { ref } from 'vue'

export const askedMacro = ref<{ conversationId: string; macroId: string } | null>(null)

export function askToRun(conversationId: string, macroId: string) {
  askedMacro.value = { conversationId, macroId }
}
