// The macro strings of the console's language (kept apart from the pure
// dictionaries so their unit test needs no browser).
import { computed } from 'vue'
import { lang } from './i18n'
import { type MacrosDict, macrosEn, macrosZh } from './macroStrings'

export const tm = computed<MacrosDict>(() => (lang.value === 'zh-CN' ? macrosZh : macrosEn))
