// Hash routes: #/inbox, #/inbox/<conversation>, #/admin/<page>, #/settings, #/search,
// #/contacts, #/contacts/<contact>,
// and the pages reached from e-mailed links: #/invite/<token>, #/reset/<token>
// (in the fragment, so the token never reaches a server log).
import { ref } from 'vue'

export interface Route {
  section: 'inbox' | 'admin' | 'settings' | 'search' | 'contacts' | 'invite' | 'reset'
  id: string | null
}

function parse(): Route {
  const parts = location.hash.replace(/^#\/?/, '').split('/')
  if (parts[0] === 'admin') return { section: 'admin', id: parts[1] || 'agents' }
  if (parts[0] === 'settings') return { section: 'settings', id: null }
  if (parts[0] === 'search') return { section: 'search', id: null }
  if (parts[0] === 'contacts') return { section: 'contacts', id: parts[1] ? decodeURIComponent(parts[1]) : null }
  if ((parts[0] === 'invite' || parts[0] === 'reset') && parts[1]) return { section: parts[0], id: decodeURIComponent(parts[1]) }
  return { section: 'inbox', id: parts[1] ? decodeURIComponent(parts[1]) : null }
}

export const route = ref<Route>(parse())
window.addEventListener('hashchange', () => (route.value = parse()))

export function go(hash: string) {
  location.hash = hash
}
