// On a phone the inbox shows one column at a time: the list, a
// conversation, or its contact's details. Which one is derived from the
// route (a conversation is open) and this flag (its details are shown).
import { ref } from 'vue'

export const showDetails = ref(false)
