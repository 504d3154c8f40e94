// The team strings of the console's language (kept apart from the pure
// dictionaries so their unit test needs no browser).
import { computed } from 'vue'
import { lang } from './i18n'
import { type TeamDict, teamEn, teamZh } from './teamStrings'

export const tt = computed<TeamDict>(() => (lang.value === 'zh-CN' ? teamZh : teamEn))
