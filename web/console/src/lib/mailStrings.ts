// Strings of the e-mail features (invitations, password reset and change,
// e-mail preferences, transcripts) in English and Chinese (zh-CN), kept
// beside strings.ts so these pages are one self-contained addition.

import { computed } from 'vue'
import { lang } from './i18n'

export const mailEn = {
  forgot: 'Forgot your password?',
  forgotTitle: 'Reset your password',
  forgotIntro: 'Enter your e-mail address: we send you a link to set a new password.',
  sendLink: 'Send the link',
  linkSent: 'If {email} has an account, a link is on its way. It works once, for a limited time. Check your spam folder if it does not arrive.',
  backToLogin: 'Back to login',
  mailOff: 'E-mail is off on this server (no [mail] in its configuration): invitations give a link to hand over yourself, and password resets are done by an owner.',
  mailOffForgot: 'E-mail is off on this server: ask an owner to set a new password for you.',
  invalidLink: 'This link is invalid, already used or expired. Ask for a new one.',
  acceptTitle: 'Join {workspace}',
  acceptIntro: 'You were invited as {email}. Choose the name your colleagues see and a password.',
  yourName: 'Your name',
  newPassword: 'New password (at least 8 characters)',
  repeatPassword: 'Repeat the new password',
  mismatch: 'The two passwords differ.',
  join: 'Join',
  resetTitle: 'Set a new password',
  resetIntro: 'Every session signed in with the old password is signed out.',
  savePassword: 'Save the password',
  resetDone: 'Your password is changed. Log in with the new one.',
  mySettings: 'My settings',
  changePassword: 'Change password',
  currentPassword: 'Current password',
  wrongPassword: 'The current password is wrong.',
  passwordChanged: 'Password changed. Your other sessions are signed out.',
  emailOnAssign: 'E-mail me about conversations assigned to me while I am offline',
  saved: 'Saved',
  invite: 'Invite by e-mail',
  inviteSend: 'Send invitation',
  invited: 'Invitation sent to {email}.',
  inviteLink: 'E-mail is off: give {email} this link (it works once, for a limited time):',
  sendReset: 'Send password reset',
  resetSent: 'A reset link was sent to {email}.',
  emailTranscript: 'E-mail transcript',
  transcriptSent: 'The transcript is on its way to the visitor.',
  noEmail: 'The visitor has not left an e-mail address.',
  tooSoon: 'A transcript was sent moments ago; try again in {n} s.',
  tooMany: 'Too many attempts; wait {n} s and try again.',
}

export type MailDict = typeof mailEn

export const mailZh: MailDict = {
  forgot: '忘记密码？',
  forgotTitle: '重置密码',
  forgotIntro: '输入您的邮箱，我们会发送一个设置新密码的链接。',
  sendLink: '发送链接',
  linkSent: '如果 {email} 有账号，链接已经发出。链接只能使用一次，并有时效。如未收到，请查看垃圾邮件。',
  backToLogin: '返回登录',
  mailOff: '此服务器未开启邮件（配置中没有 [mail]）：邀请会给出一个链接，请自行转交；密码重置由所有者完成。',
  mailOffForgot: '此服务器未开启邮件：请联系所有者为您设置新密码。',
  invalidLink: '链接无效、已使用或已过期，请重新获取。',
  acceptTitle: '加入 {workspace}',
  acceptIntro: '您以 {email} 受邀加入。请填写同事看到的名字并设置密码。',
  yourName: '您的名字',
  newPassword: '新密码（至少 8 个字符）',
  repeatPassword: '再次输入新密码',
  mismatch: '两次输入的密码不一致。',
  join: '加入',
  resetTitle: '设置新密码',
  resetIntro: '使用旧密码登录的所有会话都会退出。',
  savePassword: '保存密码',
  resetDone: '密码已修改，请用新密码登录。',
  mySettings: '我的设置',
  changePassword: '修改密码',
  currentPassword: '当前密码',
  wrongPassword: '当前密码错误。',
  passwordChanged: '密码已修改，您的其他会话已退出。',
  emailOnAssign: '我离线时，有会话分配给我就发邮件通知我',
  saved: '已保存',
  invite: '通过邮件邀请',
  inviteSend: '发送邀请',
  invited: '邀请已发送至 {email}。',
  inviteLink: '邮件未开启：请把这个链接交给 {email}（只能使用一次，并有时效）：',
  sendReset: '发送重置密码邮件',
  resetSent: '重置链接已发送至 {email}。',
  emailTranscript: '邮件发送对话记录',
  transcriptSent: '对话记录正在发送给访客。',
  noEmail: '访客没有留下邮箱。',
  tooSoon: '刚刚已发送过对话记录，请 {n} 秒后再试。',
  tooMany: '尝试次数过多，请等待 {n} 秒后再试。',
}

export const mt = computed<MailDict>(() => (lang.value === 'zh-CN' ? mailZh : mailEn))

/** Fills `{name}` placeholders. */
export function fillMail(s: string, vars: Record<string, string | number>): string {
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m))
}
