// Asks before something that cannot be undone (deleting a group, a canned
// reply). The browser's own dialog: keyboard and screen-reader friendly.
export function confirmed(question: string): boolean {
  return window.confirm(question)
}
