//! GOFLY's message markup, turned into plain text kefu shows as it is.
//!
//! GOFLY stores rich content as markup its pages expand:
//! `img[/static/upload/…]` (an image), `attachment[{"name":…,"path":…}]`
//! (a file), `face[微笑]` (one of its stickers), `link[https://…]`. kefu
//! cannot fetch GOFLY's uploads, so an image or a file becomes a line with
//! a link to where GOFLY serves it (absolute when the operator gives
//! `--gofly-url`), which the console and the widget make clickable;
//! stickers become the nearest emoji, or their name in brackets.

/// Text for `raw`, and whether it was only an image (for the summary).
pub fn to_text(raw: &str, base_url: Option<&str>) -> (String, bool) {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    let mut only_image = true;
    let mut images = 0;
    while let Some((at, tag)) = next_tag(rest) {
        let before = &rest[..at];
        if !before.trim().is_empty() {
            only_image = false;
        }
        out.push_str(before);
        let open = at + tag.len() + 1;
        let Some(close) = closing(&rest[open..], tag) else {
            // No closing bracket: not markup.
            out.push_str(&rest[at..]);
            rest = "";
            only_image = false;
            break;
        };
        let inner = &rest[open..open + close];
        match tag {
            "img" => {
                images += 1;
                out.push_str(&format!(
                    "[图片 image] {}",
                    absolute(inner.trim(), base_url)
                ));
            }
            "attachment" => {
                only_image = false;
                out.push_str(&attachment(inner, base_url));
            }
            "face" => {
                only_image = false;
                out.push_str(&face(inner));
            }
            _ => {
                only_image = false;
                out.push(' ');
                out.push_str(&absolute(inner.trim(), base_url));
            }
        }
        rest = &rest[open + close + 1..];
    }
    if !rest.trim().is_empty() {
        only_image = false;
    }
    out.push_str(rest);
    (out.trim().to_string(), only_image && images > 0)
}

const TAGS: [(&str, &str); 4] = [
    ("img[", "img"),
    ("attachment[", "attachment"),
    ("face[", "face"),
    ("link[", "link"),
];

/// The first `tag[` in `s`: its byte offset and the tag.
fn next_tag(s: &str) -> Option<(usize, &'static str)> {
    if !s.contains('[') {
        return None;
    }
    TAGS.iter()
        .filter_map(|(open, t)| s.find(open).map(|i| (i, *t)))
        .min_by_key(|(i, _)| *i)
}

/// The offset of the bracket closing a tag's content. An attachment holds
/// JSON, which may contain `]`: it ends at the first `}]`.
fn closing(s: &str, tag: &str) -> Option<usize> {
    if tag == "attachment" {
        s.find("}]").map(|i| i + 1)
    } else {
        s.find(']')
    }
}

/// `path` made absolute with `base` when it is a server path.
fn absolute(path: &str, base: Option<&str>) -> String {
    match base {
        Some(b) if path.starts_with('/') => format!("{}{path}", b.trim_end_matches('/')),
        _ => path.to_string(),
    }
}

fn attachment(json: &str, base: Option<&str>) -> String {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(v) => {
            let name = v.get("name").and_then(|n| n.as_str()).unwrap_or("file");
            let path = v.get("path").and_then(|p| p.as_str()).unwrap_or("");
            format!("[文件 file] {name} {}", absolute(path, base))
                .trim_end()
                .to_string()
        }
        Err(_) => format!("[文件 file] {json}"),
    }
}

/// GOFLY's stickers by name; the common ones have an emoji.
fn face(name: &str) -> String {
    let n = name.trim_matches(|c| c == '[' || c == ']');
    let emoji = match n {
        "微笑" => "🙂",
        "嘻嘻" | "偷笑" => "😁",
        "哈哈" | "太开心" => "😄",
        "可爱" => "😊",
        "可怜" | "委屈" => "🥺",
        "吃惊" => "😮",
        "害羞" => "😳",
        "挤眼" => "😉",
        "闭嘴" => "🤐",
        "爱你" | "心" => "❤️",
        "泪" | "悲伤" | "伤心" => "😢",
        "亲亲" => "😘",
        "生病" => "🤒",
        "白眼" => "🙄",
        "嘘" => "🤫",
        "吐" => "🤮",
        "哈欠" | "困" | "睡" => "😴",
        "抱抱" => "🤗",
        "怒" | "怒骂" => "😠",
        "疑问" | "思考" => "🤔",
        "汗" => "😓",
        "钱" => "💰",
        "酷" => "😎",
        "鼓掌" => "👏",
        "晕" => "😵",
        "ok" => "👌",
        "good" | "赞" => "👍",
        "弱" => "👎",
        "耶" => "✌️",
        "礼物" => "🎁",
        "蛋糕" => "🎂",
        "猪头" => "🐷",
        "熊猫" => "🐼",
        "兔子" => "🐰",
        _ => "",
    };
    if emoji.is_empty() {
        format!("[{n}]")
    } else {
        emoji.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn images_become_links() {
        let (t, img) = to_text(
            "img[/static/upload/2020/a.png]",
            Some("https://old.example.com/"),
        );
        assert_eq!(
            t,
            "[图片 image] https://old.example.com/static/upload/2020/a.png"
        );
        assert!(img);
        let (t, img) = to_text("看这个 img[/static/upload/b.jpg]", None);
        assert_eq!(t, "看这个 [图片 image] /static/upload/b.jpg");
        assert!(!img);
    }

    #[test]
    fn stickers_files_and_links() {
        assert_eq!(
            to_text("你好face[微笑]face[奥特曼]", None).0,
            "你好🙂[奥特曼]"
        );
        assert_eq!(
            to_text(r#"attachment[{"name":"报价[1].pdf","ext":".pdf","size":10,"path":"/static/upload/x.pdf"}]"#, Some("https://g.cn")).0,
            "[文件 file] 报价[1].pdf https://g.cn/static/upload/x.pdf"
        );
        assert_eq!(
            to_text("在这里[官网]link[https://gofly.sopans.com]!", None).0,
            "在这里[官网] https://gofly.sopans.com!"
        );
    }

    #[test]
    fn plain_text_and_broken_markup_stay() {
        assert_eq!(to_text("hello 😀 world", None).0, "hello 😀 world");
        assert_eq!(to_text("img[no end", None).0, "img[no end");
        assert_eq!(to_text("  ", None).0, "");
    }
}
