// The sensitive-word strings of the console's language (kept apart from the
// pure dictionaries so their unit test needs no browser).
import { computed } from 'vue'
import { lang } from './i18n'
import { type SensitiveDict, sensitiveEn, sensitiveZh } from './sensitiveStrings'

export const tsw = computed<SensitiveDict>(() => (lang.value === 'zh-CN' ? sensitiveZh : sensitiveEn))
