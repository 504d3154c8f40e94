// The bot strings of the console's language (kept apart from the pure
// dictionaries so their unit test needs no browser).
import { computed } from 'vue'
import { lang } from './i18n'
import { type BotDict, botEn, botZh } from './botStrings'

export const tb = computed<BotDict>(() => (lang.value === 'zh-CN' ? botZh : botEn))
