// Placeholder entry; the widget lands in the next commits.
console.info('kefu widget')
