// The search strings of the console's language (kept apart from the pure
// dictionaries so their unit test needs no browser).
import { computed } from 'vue'
import { lang } from './i18n'
import { type SearchDict, searchEn, searchZh } from './searchStrings'

export const tsr = computed<SearchDict>(() => (lang.value === 'zh-CN' ? searchZh : searchEn))
