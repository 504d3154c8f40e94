// The keyboard strings of the console's language (kept apart from the pure
// dictionaries so their unit test needs no browser).
import { computed } from 'vue'
import { lang } from './i18n'
import { type KeysDict, keysEn, keysZh } from './keysStrings'

export const tk = computed<KeysDict>(() => (lang.value === 'zh-CN' ? keysZh : keysEn))
