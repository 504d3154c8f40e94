//! The web front ends, embedded in the binary: the visitor widget
//! (`/widget.js`), the standalone chat page (`/chat/<inbox key>`), the demo
//! page (`/demo`) and the agent console (`/console/`).
//!
//! `web/` builds them with Vite into `web/dist` (`make run` and `make test` do
//! it). Release builds embed that folder at compile time (rust-embed); debug
//! builds read it from disk, so `npm run dev:widget` (vite build --watch) and a
//! running debug server show changes on reload. A fresh clone compiles before
//! the assets exist (build.rs creates the empty folder): the server then
//! answers with a page saying how to build them.
//!
//! Caching: files under `assets/` have content hashes in their names and are
//! `immutable` for a year; `/widget.js` keeps a stable URL (it is in customers'
//! snippets), so it is cached for a few minutes and revalidated by ETag; HTML
//! is `no-cache`, and so are the console's other fixed-name files (its web app
//! manifest, icons and service worker `sw.js`, whose scope is `/console/`
//! by where it is served, so it needs no `Service-Worker-Allowed`).
//! Responses are compressed (br, gzip) by tower-http. HTML pages
//! carry a strict Content-Security-Policy: scripts, styles and connections
//! from this origin only, no inline script, no framing (the chat page may be
//! framed by the inbox's allowed origins).

use crate::app::SharedState;
use axum::{
    Router,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use kefu_store::Inbox;
use serde::Deserialize;
use tower_http::compression::{CompressionLayer, CompressionLevel};

#[derive(rust_embed::Embed)]
#[folder = "../../web/dist/"]
struct Assets;

/// Content-Security-Policy of every HTML page kefu serves. Styles set from
/// script through the CSSOM and constructed stylesheets (the widget's Shadow
/// DOM) are not inline styles, so `style-src 'self'` is enough.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How long browsers keep `/widget.js` before revalidating it.
const WIDGET_CACHE: &str = "public, max-age=300";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

/// The routes of the web front ends.
pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/widget.js", get(widget_js))
        .route("/demo.css", get(demo_css))
        .route("/demo", get(demo_page))
        .route("/chat/{key}", get(chat_page))
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(console_index))
        .route("/console/{*path}", get(console_file))
        // Quality 5 (brotli) / 6 (gzip): most of the gain at a fraction of the cost
        // of the maximum; responses are compressed per request.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(5)))
}

/// Whether the front ends were built into this binary (or, in debug builds, on disk).
pub fn assets_built() -> bool {
    Assets::get("widget/widget.js").is_some()
}

/// An embedded file with its headers, or 304 when the client's copy is current.
fn file(path: &str, cache: &'static str, req: &HeaderMap) -> Option<Response> {
    let f = Assets::get(path)?;
    let etag = format!("\"{}\"", hex::encode(&f.metadata.sha256_hash()[..12]));
    let fresh = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = f.data.into_owned().into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(path)),
        );
        r
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Some(res)
}

/// The content type of a built file, from its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("json" | "map") => "application/json",
        // The console's web app manifest (PWA).
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("mp3") => "audio/mpeg",
        Some("ogg") => "audio/ogg",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// An HTML response with the security headers every page gets.
pub fn html(body: String, csp: &str) -> Response {
    let mut res = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Said instead of a page when the front ends were not built.
fn not_built() -> Response {
    let mut res = html(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>kefu: web assets not built</title>\
         <h1>The web assets are not built</h1>\
         <p>This kefu binary was compiled before <code>web/dist</code> existed. Run <code>make run</code>, \
         or build them with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> and rebuild kefu \
         (debug builds read <code>web/dist</code> from disk and need no rebuild).</p></html>"
            .into(),
        CSP,
    );
    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    res
}

async fn widget_js(headers: HeaderMap) -> Response {
    match file("widget/widget.js", WIDGET_CACHE, &headers) {
        Some(mut res) => {
            // Customers' pages load it cross-origin, also under COEP.
            res.headers_mut().insert(
                "cross-origin-resource-policy",
                HeaderValue::from_static("cross-origin"),
            );
            res
        }
        None => crate::error::ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "web_assets_missing",
            "the widget was not built; run `make run` or `cd web && npm ci && npm run build`",
        )
        .into_response(),
    }
}

async fn demo_css(headers: HeaderMap) -> Response {
    file("widget/demo.css", WIDGET_CACHE, &headers)
        .unwrap_or_else(|| StatusCode::NOT_FOUND.into_response())
}

async fn console_index(headers: HeaderMap) -> Response {
    console_page(&headers)
}

fn console_page(headers: &HeaderMap) -> Response {
    match file("console/index.html", NO_CACHE, headers) {
        Some(mut res) => {
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            );
            res
        }
        None => not_built(),
    }
}

/// A file of the console, or its index page for client-side routes.
async fn console_file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path.starts_with("assets/") {
        return file(&format!("console/{path}"), IMMUTABLE, &headers)
            .unwrap_or_else(|| crate::error::ApiError::not_found("asset").into_response());
    }
    if let Some(res) = file(&format!("console/{path}"), NO_CACHE, &headers) {
        return res;
    }
    console_page(&headers)
}

/// An inbox key as it appears in URLs (generated keys are 32 hex digits).
fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The page that loads the widget; `mode` is `page` (full page) or `launcher`.
fn widget_page(title: &str, inbox: &Inbox, mode: &str, body: &str, css: bool) -> String {
    format!(
        "<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1, viewport-fit=cover\">\n\
         <title>{title}</title>\n<link rel=\"icon\" href=\"data:,\">\n{css}</head>\n<body>\n{body}\
         <script src=\"/widget.js\" data-inbox=\"{key}\" data-mode=\"{mode}\" async></script>\n</body>\n</html>\n",
        title = escape(title),
        css = if css {
            "<link rel=\"stylesheet\" href=\"/demo.css\">\n"
        } else {
            ""
        },
        key = escape(&inbox.public_key),
    )
}

/// `frame-ancestors` for the chat page: the inbox's allowed origins, or any.
fn chat_csp(inbox: &Inbox) -> String {
    let ancestors = if inbox.allowed_origins.is_empty() {
        "*".to_string()
    } else {
        inbox
            .allowed_origins
            .iter()
            .map(|o| o.trim_end_matches('/'))
            .filter(|o| !o.contains([';', ',', ' ', '\'']))
            .collect::<Vec<_>>()
            .join(" ")
    };
    CSP.replace(
        "frame-ancestors 'none'",
        &format!("frame-ancestors {ancestors}"),
    )
}

/// The standalone chat page: the widget in full-page mode, for links and app web views.
async fn chat_page(State(state): State<SharedState>, Path(key): Path<String>) -> Response {
    if !assets_built() {
        return not_built();
    }
    let inbox = if valid_key(&key) {
        state.store.find_inbox_by_key(&key).await
    } else {
        Ok(None)
    };
    match inbox {
        Ok(Some(inbox)) => {
            let csp = chat_csp(&inbox);
            html(
                widget_page(&inbox.display_name, &inbox, "page", "", false),
                &csp,
            )
        }
        Ok(None) => {
            let mut r = html(
                "<!doctype html><meta charset=\"utf-8\"><title>Not found</title><p>This chat does not exist. 此会话入口不存在。</p>".into(),
                CSP,
            );
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct DemoQuery {
    inbox: Option<String>,
}

/// A page of a pretend shop embedding the widget, so a newcomer can play the
/// visitor next to the console. Shows the inbox `?inbox=KEY` names, else the
/// first inbox of the workspace "Default" that the first start creates, else
/// the oldest inbox of any workspace (accounts made with `kefu user create`
/// have no "Default"). Without any inbox it says how to make one.
async fn demo_page(State(state): State<SharedState>, Query(q): Query<DemoQuery>) -> Response {
    let inbox = match demo_inbox(&state, q.inbox.as_deref()).await {
        Ok(Some(i)) => i,
        Ok(None) if q.inbox.is_some() => {
            return demo_message(
                "This inbox key is unknown. Leave out <code>?inbox=</code> to see the first inbox, \
                 or copy a key from the console (Settings → Inboxes).",
            );
        }
        Ok(None) => {
            return demo_message(
                "There is no inbox yet, so there is no widget to show. An admin creates one in the \
                 <a href=\"/console/\">console</a> (Settings → Inboxes), or with \
                 <code>POST /api/v1/inboxes</code> and a body like <code>{\"name\":\"Website\"}</code>. \
                 Then reload this page. 还没有任何接入渠道：请管理员在客服工作台（设置 → 接入渠道）中创建一个，然后刷新本页。",
            );
        }
        Err(e) => return e.into_response(),
    };
    if !assets_built() {
        return not_built();
    }
    let snippet = format!(
        "<script src=\"{}/widget.js\" data-inbox=\"{}\" async></script>",
        state.cfg.public_url, inbox.public_key
    );
    let body = format!(
        "<header class=\"demo-bar\"><strong>Demo shop · 演示商店</strong><nav><a href=\"/console/\">Agent console · 客服工作台</a></nav></header>\n\
         <main class=\"demo-main\">\n<h1>Tea from Hangzhou 杭州龙井</h1>\n\
         <p>This page plays a customer's website. The round button in the corner is the kefu widget for the inbox \
         <b>{name}</b>: open it and write as a visitor, then answer in the console (in another window) as an agent.</p>\n\
         <p>这是一个模拟的客户网站。右下角的按钮就是 kefu 访客组件：以访客身份发消息，然后在另一个窗口的客服工作台里回复。</p>\n\
         <h2>Embed it on your site · 嵌入代码</h2>\n<pre class=\"demo-snippet\">{snippet}</pre>\n\
         <p>Standalone page for links and apps: <a href=\"/chat/{key}\">/chat/{key}</a></p>\n</main>\n",
        name = escape(&inbox.display_name),
        snippet = escape(&snippet),
        key = escape(&inbox.public_key),
    );
    html(
        widget_page("kefu demo", &inbox, "launcher", &body, true),
        CSP,
    )
}

/// The demo's answer when it has no inbox to show (404, `html` is trusted markup).
fn demo_message(html_text: &str) -> Response {
    let mut r = html(
        format!(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>kefu demo</title>\
             <h1>kefu demo</h1><p>{html_text}</p></html>"
        ),
        CSP,
    );
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// The inbox the demo shows (see [`demo_page`]); `None` when the key is
/// unknown, or there is no inbox at all.
async fn demo_inbox(
    state: &SharedState,
    key: Option<&str>,
) -> Result<Option<Inbox>, crate::error::ApiError> {
    if let Some(key) = key {
        if !valid_key(key) {
            return Ok(None);
        }
        return Ok(state.store.find_inbox_by_key(key).await?);
    }
    if let Some(ws) = state.store.find_workspace_by_name("Default").await?
        && let Some(inbox) = state
            .store
            .list_inboxes(&ws.id, None, 1)
            .await?
            .into_iter()
            .next()
    {
        return Ok(Some(inbox));
    }
    Ok(state.store.oldest_inbox().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn keys_are_plain() {
        assert!(valid_key("3f9a0c"));
        assert!(!valid_key("../x"));
        assert!(!valid_key(""));
        assert!(!valid_key(&"a".repeat(65)));
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a/b-123.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("x.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert_eq!(
            content_type("manifest.webmanifest"),
            "application/manifest+json"
        );
        // The console's service worker must be served as JavaScript.
        assert_eq!(content_type("sw.js"), "text/javascript; charset=utf-8");
    }
}
