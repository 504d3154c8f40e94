// A coarse reactive clock for labels that age ("waiting 5m"): one timer for
// the whole console instead of one per row.
import { ref } from 'vue'

export const now = ref(Date.now())
setInterval(() => (now.value = Date.now()), 15_000)
