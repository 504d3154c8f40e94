// Strings of insight (reports and CSAT) in English and Chinese (zh-CN). Pure data.

export const insightEn = {
  csat: 'Satisfaction survey (CSAT)',
  csatEnabled: 'After a conversation is resolved, ask the customer for a 1–5 rating and a comment',
  csatQuestionZh: 'Question in Chinese (empty: “请为本次服务打分”)',
  csatQuestionEn: 'Question in English (empty: “How would you rate this conversation?”)',
  reports: 'Reports',
}

export type InsightDict = typeof insightEn

export const insightZh: InsightDict = {
  csat: '满意度调查（CSAT）',
  csatEnabled: '会话解决后，请客户打 1–5 分并留言',
  csatQuestionZh: '中文问题（留空：“请为本次服务打分”）',
  csatQuestionEn: '英文问题（留空：“How would you rate this conversation?”）',
  reports: '报表',
}
