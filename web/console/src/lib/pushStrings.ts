// Strings of push notifications on this device (My settings → PushSettings)
// in English and Chinese (zh-CN), in their own file so the feature is one
// self-contained addition. Pure data; pushI18n.ts picks the console
// language's dictionary.

export const pushEn = {
  title: 'Notifications on this device',
  intro: 'Get a notification when a conversation is assigned to you or someone mentions you, also while the console is closed.',
  on: 'On in this browser.',
  off: 'Off in this browser.',
  enable: 'Turn on notifications',
  disable: 'Turn off notifications',
  sendTest: 'Send a test notification',
  testSent: 'Sent to {n} of your devices. It should show in a few seconds.',
  testNone: 'No device of yours has notifications turned on.',
  testRemoved: '{n} device(s) no longer accept notifications and were removed.',
  testFailed: 'The push service refused {n} notification(s): {why}',
  devices: 'Your devices with notifications: {n}',
  denied: 'Notifications are blocked for this site. Allow them in the browser\'s site settings, then try again.',
  dismissed: 'The browser did not get permission to notify. Try again and choose Allow.',
  unsupported: 'This browser cannot receive push notifications. On an iPhone or iPad, add kefu to the home screen first (Share → Add to Home Screen) and open it from there.',
  insecure: 'Notifications need a secure connection: open the console over https:// (or on localhost).',
  working: 'Working…',
}

export type PushDict = typeof pushEn

export const pushZh: PushDict = {
  title: '此设备上的通知',
  intro: '有会话分配给您或有人提及您时收到通知，即使工作台已关闭。',
  on: '此浏览器已开启。',
  off: '此浏览器未开启。',
  enable: '开启通知',
  disable: '关闭通知',
  sendTest: '发送测试通知',
  testSent: '已发送到您的 {n} 台设备，几秒内应会显示。',
  testNone: '您还没有在任何设备上开启通知。',
  testRemoved: '{n} 台设备已不再接收通知，已被移除。',
  testFailed: '推送服务拒绝了 {n} 条通知：{why}',
  devices: '已开启通知的设备：{n} 台',
  denied: '此网站的通知已被屏蔽。请在浏览器的网站设置中允许通知，然后重试。',
  dismissed: '浏览器未获得通知权限。请重试并选择“允许”。',
  unsupported: '此浏览器无法接收推送通知。在 iPhone 或 iPad 上，请先将 kefu 添加到主屏幕（分享 → 添加到主屏幕），再从主屏幕打开。',
  insecure: '通知需要安全连接：请通过 https://（或 localhost）打开工作台。',
  working: '处理中…',
}

export function fillPush(s: string, vars: Record<string, string | number>): string {
  return s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m))
}
