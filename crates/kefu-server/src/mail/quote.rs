//! Cuts the quoted history and signature off an e-mail reply, so only what
//! the visitor wrote enters the conversation. Mail clients quote in many
//! ways; what is recognised: kefu's own "reply above this line" marker,
//! `On … wrote:` (Gmail, Apple Mail, Thunderbird; also wrapped over two
//! lines), `在 … 写道：` and `… 于 … 写道：` (Chinese clients), Outlook's
//! `-----Original Message-----` / `From:` block, `>`-quoted lines and the
//! `-- ` signature delimiter. Pure.

/// The marker line kefu puts above the quoted part of its mails.
pub const MARKER_EN: &str = "## Reply above this line ##";
pub const MARKER_ZH: &str = "## 请在此行以上回复 ##";

fn starts_quote(line: &str, next: Option<&str>) -> bool {
    let t = line.trim();
    if t == MARKER_EN || t == MARKER_ZH || t.contains("Reply above this line") {
        return true;
    }
    if t.starts_with('>') {
        return true;
    }
    if t == "--" || line.trim_end_matches(['\r']) == "-- " {
        return true;
    }
    let lower = t.to_lowercase();
    if lower.starts_with("-----original message-----") || t.starts_with("-----原始邮件-----") {
        return true;
    }
    if lower.starts_with("from:")
        && next.is_some_and(|n| {
            let n = n.trim().to_lowercase();
            n.starts_with("sent:") || n.starts_with("date:") || n.starts_with("to:")
        })
    {
        return true;
    }
    if (t.starts_with("发件人:") || t.starts_with("发件人：")) && next.is_some() {
        return true;
    }
    if lower.starts_with("on ") {
        if lower.ends_with("wrote:") {
            return true;
        }
        // Clients wrap a long attribution line.
        if let Some(n) = next
            && n.trim().to_lowercase().ends_with("wrote:")
        {
            return true;
        }
    }
    if (t.starts_with('在') || t.contains('于')) && (t.ends_with("写道：") || t.ends_with("写道:"))
    {
        return true;
    }
    false
}

/// The new part of a reply: everything above the first quote marker,
/// trimmed. Empty when the mail held nothing but quotes.
pub fn strip(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if starts_quote(line, lines.get(i + 1).copied()) {
            end = i;
            break;
        }
    }
    let kept = lines[..end]
        .iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    kept.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn gmail_attribution_and_quotes_are_cut() {
        let b = "Thanks, that worked!\n\nOn Mon, 30 Nov 2026 at 10:00, Help <reply+x@example.com> wrote:\n> Try restarting.\n";
        assert_eq!(strip(b), "Thanks, that worked!");
    }

    #[test]
    fn wrapped_attribution_is_cut() {
        let b = "Yes please.\r\n\r\nOn Mon, 30 Nov 2026 at 10:00, Help Desk\r\n<reply+x@example.com> wrote:\r\n> hi\r\n";
        assert_eq!(strip(b), "Yes please.");
    }

    #[test]
    fn chinese_clients_are_cut() {
        assert_eq!(
            strip("好的，谢谢\n\n在 2026年11月30日 10:00，客服 写道：\n> 请重启"),
            "好的，谢谢"
        );
        assert_eq!(strip("收到\n张三 于 2026-11-30 10:00 写道：\n原文"), "收到");
        assert_eq!(strip("收到\n-----原始邮件-----\n发件人: 客服"), "收到");
    }

    #[test]
    fn outlook_and_signatures_and_marker_are_cut() {
        assert_eq!(strip("OK\n\n-----Original Message-----\nFrom: Help"), "OK");
        assert_eq!(strip("OK\nFrom: Help <a@b.c>\nSent: Monday\nhello"), "OK");
        assert_eq!(strip("OK\n-- \nJane Doe\nACME"), "OK");
        assert_eq!(strip("OK\n## Reply above this line ##\nold"), "OK");
    }

    #[test]
    fn text_without_quotes_is_kept_whole() {
        let b = "Line one\nFrom my point of view it is fine.\nOn the other hand, no.";
        assert_eq!(strip(b), b);
        assert_eq!(strip("> only a quote"), "");
    }
}
