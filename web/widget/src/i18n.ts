// The widget's words in English and Simplified Chinese. The language follows
// navigator.language and can be switched in the panel's header.
const en = {
  open: 'Chat with us',
  close: 'Close',
  send: 'Send',
  placeholder: 'Write a message…',
  input: 'Your message',
  emoji: 'Emoji',
  attach: 'Send an image or file',
  sending: 'Sending…',
  sent: 'Sent',
  read: 'Read',
  failed: 'Not sent',
  retry: 'Retry',
  typing: 'Typing…',
  queue: 'All agents are busy. You are number {n} in line.',
  queueWait: 'About {m} min.',
  online: 'We reply in a few minutes',
  away: 'We are away; leave a message and we will get back to you',
  connecting: 'Connecting…',
  offline: 'Offline: your messages will be sent when the connection is back',
  blocked: 'This site may not show the chat',
  newMessage: 'New message',
  preview: 'Send this image?',
  cancel: 'Cancel',
  tooBig: 'The file is too large',
  tooLong: 'The message is too long',
  uploadFailed: 'Upload failed; try again',
  prechatTitle: 'Before we start, tell us about you',
  start: 'Start chat',
  offlineTitle: 'We are offline. Leave a message and we will get back to you.',
  name: 'Name',
  email: 'Email',
  message: 'Message',
  leave: 'Send message',
  required: 'Please fill in this field',
  thanks: 'Thanks! We received your message.',
  lang: '中文',
  you: 'You',
  download: 'Download',
}
export type Strings = typeof en

const zh: Strings = {
  open: '在线咨询',
  close: '关闭',
  send: '发送',
  placeholder: '输入消息…',
  input: '您的消息',
  emoji: '表情',
  attach: '发送图片或文件',
  sending: '发送中…',
  sent: '已发送',
  read: '已读',
  failed: '发送失败',
  retry: '重试',
  typing: '对方正在输入…',
  queue: '客服繁忙，您目前排在第 {n} 位，请稍候。',
  queueWait: '预计等待约 {m} 分钟。',
  online: '我们通常几分钟内回复',
  away: '客服暂时不在，请留言，我们会尽快回复',
  connecting: '连接中…',
  offline: '网络已断开：恢复后消息会自动发送',
  blocked: '此网站不允许显示在线咨询',
  newMessage: '新消息',
  preview: '发送这张图片？',
  cancel: '取消',
  tooBig: '文件太大',
  tooLong: '消息太长',
  uploadFailed: '上传失败，请重试',
  prechatTitle: '开始咨询前，请留下您的信息',
  start: '开始咨询',
  offlineTitle: '客服暂时不在线，请留言，我们会尽快联系您。',
  name: '姓名',
  email: '邮箱',
  message: '留言',
  leave: '提交留言',
  required: '请填写此项',
  thanks: '谢谢！我们已收到您的留言。',
  lang: 'EN',
  you: '我',
  download: '下载',
}

export type Lang = 'en' | 'zh-CN'

export function pickLang(stored: string | null, nav: string | undefined): Lang {
  if (stored === 'en' || stored === 'zh-CN') return stored
  return nav && nav.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en'
}

export function strings(lang: Lang): Strings {
  return lang === 'zh-CN' ? zh : en
}
