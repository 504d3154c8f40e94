// The bot-in-conversations strings of the console's language (kept apart
// from the pure dictionaries so their unit test needs no browser).
import { computed } from 'vue'
import { lang } from './i18n'
import { type AssistDict, assistEn, assistZh } from './assistStrings'

export const ta = computed<AssistDict>(() => (lang.value === 'zh-CN' ? assistZh : assistEn))
