// The console's service worker (scope /console/): shows Web Push
// notifications while no console tab is in front, and brings the console
// up on a click. It caches nothing and handles no fetch: the console always
// talks to the live server, and the service worker exists for push (and so
// the console installs as an app). Plain JavaScript, copied as is into
// dist/console/ (Vite's public folder), served with no-cache so an update
// is picked up on the next visit.
/* eslint-env serviceworker */

self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))

// The payload is kefu's PushMessage: {title, body, url, tag}.
self.addEventListener('push', (event) => {
  let msg = {}
  try {
    msg = event.data ? event.data.json() : {}
  } catch {
    msg = { body: event.data ? event.data.text() : '' }
  }
  const options = {
    body: msg.body || '',
    icon: 'icons/icon-192.png',
    data: { url: msg.url || '' },
  }
  // A tag replaces the earlier notification of the same thing (one per
  // conversation) and, with renotify, still alerts.
  if (msg.tag) Object.assign(options, { tag: msg.tag, renotify: true })
  event.waitUntil(self.registration.showNotification(msg.title || 'kefu', options))
})

/**
 * Where a click goes: the URL if it is in this console, else this console
 * with the URL's #route (a server whose public_url differs from the address
 * the agent uses still lands on the right conversation). Never elsewhere.
 */
function target(raw) {
  const scope = self.registration.scope
  try {
    const u = new URL(raw, scope)
    return u.href.startsWith(scope) ? u.href : scope + u.hash
  } catch {
    return scope
  }
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  const url = target((event.notification.data && event.notification.data.url) || '')
  event.waitUntil(
    (async () => {
      const tabs = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
      const tab = tabs.find((c) => c.url.startsWith(self.registration.scope))
      if (tab) {
        // Focus first: browsers allow it only while handling the click.
        await tab.focus()
        try {
          // Only a tab this worker controls can be navigated.
          await tab.navigate(url)
          return
        } catch {
          // An uncontrolled tab: open the conversation in a new one.
        }
      }
      await self.clients.openWindow(url)
    })(),
  )
})
