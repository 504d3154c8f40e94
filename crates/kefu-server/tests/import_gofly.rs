//! `kefu import gofly` against the machine's MariaDB: each test makes its
//! own database with GOFLY's schema (tests/gofly/schema.sql), fills it, and
//! drops it at the end. Realistic rows (Chinese, emoji, images, stickers,
//! files, deleted agents and visitors, nameless visitors, messages of
//! visitors and agents GOFLY no longer has, bad rows), a second run that
//! must import nothing, and a `kill -9` in the middle of the messages whose
//! resumed result must equal an uninterrupted import.

mod common;

use kefu_server::import::gofly;
use kefu_store::Store;
use sqlx::{AnyPool, Connection, Executor, MySqlConnection, Row};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kefu");
const SCHEMA: &str = include_str!("gofly/schema.sql");

fn mysql_base() -> String {
    std::env::var("KEFU_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// A GOFLY database of its own, dropped when the test ends (also on panic).
struct GoflyDb {
    name: String,
    url: String,
}

impl GoflyDb {
    async fn new() -> (GoflyDb, MySqlConnection) {
        let base = mysql_base();
        let mut admin = match MySqlConnection::connect(&format!("{base}/mysql")).await {
            Ok(c) => c,
            Err(_) => {
                // Start the machine's MariaDB the way the suite starts its services.
                let ok = Command::new(common::repo_root().join("scripts/services.sh"))
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(
                    ok,
                    "MariaDB is needed at {base} and scripts/services.sh could not start it"
                );
                MySqlConnection::connect(&format!("{base}/mysql"))
                    .await
                    .unwrap_or_else(|e| panic!("MariaDB at {base} is unreachable: {e}"))
            }
        };
        let name = format!("gofly_t_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {name} CHARACTER SET utf8mb4"
            )))
            .await
            .unwrap();
        let url = format!("{base}/{name}");
        let mut conn = MySqlConnection::connect(&url).await.unwrap();
        conn.execute("SET time_zone = '+00:00'").await.unwrap();
        for stmt in SCHEMA.split(';').filter(|s| s.contains("CREATE")) {
            conn.execute(sqlx::AssertSqlSafe(stmt.to_string()))
                .await
                .unwrap();
        }
        (GoflyDb { name, url }, conn)
    }
}

impl Drop for GoflyDb {
    fn drop(&mut self) {
        let _ = Command::new("mariadb")
            .args(["-uroot", "-h127.0.0.1", "-e"])
            .arg(format!("DROP DATABASE IF EXISTS {}", self.name))
            .status();
    }
}

/// 2024-03-01 10:00:00 UTC plus `mins` minutes, as GOFLY's TIMESTAMP text.
fn at(mins: i64) -> String {
    let t = 1_709_287_200 + mins * 60;
    format!("FROM_UNIXTIME({t})")
}

fn ms(mins: i64) -> i64 {
    (1_709_287_200 + mins * 60) * 1000
}

async fn realistic(conn: &mut MySqlConnection) {
    let rows = [
        "INSERT INTO `user` (id, name, password, nickname, created_at, deleted_at, avator) VALUES
           (1, 'kefu2', '202cb962ac59075b964b07152d234b70', '智能客服', FROM_UNIXTIME(1600000000), NULL, '/static/images/4.jpg'),
           (2, 'li.lei@example.com', 'x', 'Li Lei', FROM_UNIXTIME(1600000100), NULL, ''),
           (3, 'old', 'x', '老王', FROM_UNIXTIME(1600000200), FROM_UNIXTIME(1650000000), '')"
            .to_string(),
        format!(
            "INSERT INTO visitor (id, name, avator, source_ip, client_ip, to_id, created_at, updated_at, deleted_at, visitor_id, refer, city, extra) VALUES
               (1, '张三', '/static/images/1.png', '10.0.0.1', '203.0.113.7', 'kefu2', {}, {}, NULL, 'v-zhang', 'https://www.baidu.com/s?wd=客服', '北京', ''),
               (2, '', '', '', '198.51.100.2', 'kefu2', {}, NULL, NULL, 'v-anon', '', '', '{{\"lang\":\"en\"}}'),
               (3, 'Gone', '', '', '', 'old', {}, NULL, {}, 'v-gone', '', '', 'not json'),
               (4, 'nobody', '', '', '', '', {}, NULL, NULL, '', '', '', '')",
            at(0), at(100), at(5), at(10), at(20), at(0)
        ),
        format!(
            "INSERT INTO message (id, kefu_id, visitor_id, content, created_at, deleted_at, mes_type) VALUES
               (1, 'kefu2', 'v-zhang', '你好，我想问一下发货时间 🙂', {}, NULL, 'visitor'),
               (2, 'kefu2', 'v-zhang', '您好face[微笑]，一般48小时内发货 🚚', {}, NULL, 'kefu'),
               (3, 'kefu2', 'v-zhang', 'img[/static/upload/2024/03/01/a.png]', {}, NULL, 'visitor'),
               (4, 'li.lei@example.com', 'v-anon', 'Hi there 👋 can I pay by card?', {}, NULL, 'visitor'),
               (5, 'li.lei@example.com', 'v-anon', 'Yes! attachment[{{\"name\":\"价格表.pdf\",\"ext\":\".pdf\",\"size\":2048,\"path\":\"/static/upload/p.pdf\"}}]', {}, NULL, 'kefu'),
               (6, 'kefu2', 'v-zhang', '', {}, NULL, 'visitor'),
               (7, 'kefu2', 'v-zhang', 'deleted one', {}, {}, 'visitor'),
               (8, 'old', 'v-gone', '以前的客服 老王 回复', {}, NULL, 'kefu'),
               (9, 'ghost', 'v-zhang', '我是已经删除的客服', {}, NULL, 'kefu'),
               (10, '', 'v-lost', '访客记录丢了 😢', {}, NULL, 'visitor'),
               (11, 'kefu2', '', 'no visitor', {}, NULL, 'visitor'),
               (12, 'kefu2', 'v-zhang', '两天后又来了 🎉', {}, NULL, 'visitor'),
               (13, 'kefu2', 'v-zhang', '欢迎回来', {}, NULL, 'kefu')",
            at(1), at(2), at(3), at(11), at(12), at(13), at(14), at(15), at(21), at(22), at(30), at(31),
            at(3 * 24 * 60), at(3 * 24 * 60 + 1)
        ),
        "INSERT INTO reply_group (id, group_name, user_id) VALUES (1, '常见问题', 'kefu2')".into(),
        "INSERT INTO reply_item (id, content, group_id, user_id, item_name) VALUES
           (1, '在这里[官网]link[https://gofly.sopans.com]!', 1, 'kefu2', '官方地址在哪?'),
           (2, '工作时间 9:00-18:00', 1, 'kefu2', '官方地址在哪'),
           (3, '', 1, 'kefu2', 'empty')"
            .into(),
        "INSERT INTO welcome (id, user_id, keyword, content, is_default, ctime) VALUES
           (1, 'kefu2', 'offline', '我暂时离线，留言已转发到我的邮箱，稍后回复~', 1, FROM_UNIXTIME(1600000000)),
           (2, 'kefu2', 'welcome', '请问有什么可以帮您？', 0, FROM_UNIXTIME(1600000000))"
            .into(),
        "INSERT INTO ipblack (id, ip, create_at, kefu_id) VALUES
           (1, '192.0.2.66', FROM_UNIXTIME(1600000000), 'kefu2'), (2, 'not-an-ip', FROM_UNIXTIME(1600000000), 'kefu2')"
            .into(),
        "INSERT INTO config (conf_name, conf_key, conf_value) VALUES ('欢迎消息', 'WelcomeMessage', '有什么可以帮您？')".into(),
    ];
    for sql in rows {
        conn.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    }
}

fn options() -> gofly::Options {
    gofly::Options {
        workspace: "Imported".into(),
        email_domain: "example.cn".into(),
        gofly_url: Some("https://gofly.example.com".into()),
        batch_size: 4,
        links: gofly::LinkOptions {
            base_url: "https://kefu.example.com".into(),
            ttl_ms: 3_600_000,
            mail: false,
        },
        ..Default::default()
    }
}

/// Every imported message, in a form that does not depend on kefu's ids:
/// visitor, conversation start, seq, sender (GOFLY login or `visitor`),
/// kind, content, time.
async fn dump(url: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT v.source_key AS visitor, c.created_at AS started, c.last_seq AS last_seq, c.status AS status,
                COALESCE(a.source_key, '-') AS assignee, m.seq AS seq,
                COALESCE(s.source_key, m.sender_kind) AS sender, m.kind AS kind, m.content AS content, m.created_at AS at
         FROM messages m
         JOIN conversations c ON c.id = m.conversation_id
         JOIN import_map v ON v.target_id = c.contact_id AND v.kind = 'visitor'
         LEFT JOIN import_map s ON s.target_id = m.sender_id AND s.kind = 'agent'
         LEFT JOIN import_map a ON a.target_id = c.assignee_id AND a.kind = 'agent'
         ORDER BY v.source_key, c.created_at, m.seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let out = rows
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
                r.get::<String, _>("visitor"),
                r.get::<i64, _>("started"),
                r.get::<i64, _>("last_seq"),
                r.get::<String, _>("status"),
                r.get::<String, _>("assignee"),
                r.get::<i64, _>("seq"),
                r.get::<String, _>("sender"),
                r.get::<String, _>("kind"),
                r.get::<String, _>("content"),
                r.get::<i64, _>("at"),
            )
        })
        .collect();
    pool.close().await;
    out
}

async fn count(url: &str, sql: &'static str) -> i64 {
    let pool = AnyPool::connect(url).await.unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

async fn realistic_rows_once(store: Store, url: String) {
    let (db, mut conn) = GoflyDb::new().await;
    realistic(&mut conn).await;
    let src = gofly::Source::connect(&db.url).await.unwrap();
    let first = gofly::import(&store, &src, &options()).await.unwrap();
    let text = first.render();
    let msgs = first.step("messages").unwrap();
    assert_eq!(msgs.read, 13, "{text}");
    assert_eq!(msgs.written.get("messages"), Some(&10), "{text}");
    // v-zhang twice (a three-day gap), v-anon, v-gone, v-lost.
    assert_eq!(msgs.written.get("conversations"), Some(&5), "{text}");
    for (reason, n) in [("empty", 1), ("deleted in GOFLY", 1), ("no visitor", 1)] {
        assert_eq!(msgs.skipped.get(reason), Some(&n), "{reason}: {text}");
    }
    let agents = first.step("agents").unwrap();
    // kefu2, li.lei, old (deactivated) and ghost (only in messages, deactivated).
    assert_eq!(agents.written.get("users"), Some(&4), "{text}");
    let visitors = first.step("visitors").unwrap();
    assert_eq!(
        visitors.skipped.get("visitor without a visitor_id"),
        Some(&1),
        "{text}"
    );
    assert_eq!(visitors.written.get("contacts"), Some(&3), "{text}");
    assert_eq!(
        msgs.written.get("contacts for visitors only messages name"),
        Some(&1),
        "{text}"
    );
    assert_eq!(
        first.step("replies").unwrap().written.get("canned replies"),
        Some(&2),
        "{text}"
    );
    assert_eq!(
        first.step("welcome").unwrap().written.get("canned replies"),
        Some(&2),
        "{text}"
    );
    let ip = first.step("ipblack").unwrap();
    assert_eq!(ip.written.get("blocked addresses"), Some(&1), "{text}");
    assert_eq!(ip.skipped.get("not an IP address"), Some(&1), "{text}");

    let rows = dump(&url).await;
    let expect = [
        format!(
            "v-anon|{}|2|resolved|li.lei@example.com|1|visitor|text|Hi there 👋 can I pay by card?|{}",
            ms(11),
            ms(11)
        ),
        format!(
            "v-anon|{}|2|resolved|li.lei@example.com|2|li.lei@example.com|text|Yes! [文件 file] 价格表.pdf https://gofly.example.com/static/upload/p.pdf|{}",
            ms(11),
            ms(12)
        ),
        format!(
            "v-gone|{}|1|resolved|old|1|old|text|以前的客服 老王 回复|{}",
            ms(21),
            ms(21)
        ),
        format!(
            "v-lost|{}|1|resolved|-|1|visitor|text|访客记录丢了 😢|{}",
            ms(30),
            ms(30)
        ),
        format!(
            "v-zhang|{}|4|resolved|ghost|1|visitor|text|你好，我想问一下发货时间 🙂|{}",
            ms(1),
            ms(1)
        ),
        format!(
            "v-zhang|{}|4|resolved|ghost|2|kefu2|text|您好🙂，一般48小时内发货 🚚|{}",
            ms(1),
            ms(2)
        ),
        format!(
            "v-zhang|{}|4|resolved|ghost|3|visitor|text|[图片 image] https://gofly.example.com/static/upload/2024/03/01/a.png|{}",
            ms(1),
            ms(3)
        ),
        format!(
            "v-zhang|{}|4|resolved|ghost|4|ghost|text|我是已经删除的客服|{}",
            ms(1),
            ms(22)
        ),
        format!(
            "v-zhang|{}|2|resolved|kefu2|1|visitor|text|两天后又来了 🎉|{}",
            ms(3 * 24 * 60),
            ms(3 * 24 * 60)
        ),
        format!(
            "v-zhang|{}|2|resolved|kefu2|2|kefu2|text|欢迎回来|{}",
            ms(3 * 24 * 60),
            ms(3 * 24 * 60 + 1)
        ),
    ];
    assert_eq!(rows, expect);

    // Agents: names, deactivated ones, and a working password link each for the active.
    let ws = store
        .find_workspace_by_name("Imported")
        .await
        .unwrap()
        .unwrap();
    let users = store.list_users(&ws.id, None, 100).await.unwrap();
    let by_email = |e: &str| users.iter().find(|u| u.email == e).unwrap().clone();
    assert_eq!(by_email("kefu2@example.cn").name, "智能客服");
    assert!(by_email("kefu2@example.cn").active);
    assert!(!by_email("old@example.cn").active);
    assert!(!by_email("ghost@example.cn").active);
    assert_eq!(by_email("li.lei@example.com").name, "Li Lei");
    assert_eq!(first.links.len(), 2);
    let (email, link) = &first.links[0];
    let token = link.rsplit('/').next().unwrap();
    assert!(link.starts_with("https://kefu.example.com/console/#/reset/"));
    let hash = kefu_server::auth::password::hash("a new password 1").unwrap();
    let user = store
        .reset_password(&kefu_server::auth::tokens::sha256_hex(token), &hash)
        .await
        .unwrap();
    assert_eq!(&user.email, email);
    // The inbox got GOFLY's greeting; the contacts keep what GOFLY knew.
    let inbox = store.list_inboxes(&ws.id, None, 10).await.unwrap();
    let gofly_inbox = inbox.iter().find(|i| i.name == "GOFLY").unwrap();
    assert_eq!(gofly_inbox.welcome_text, "请问有什么可以帮您？");
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM contacts WHERE name = '张三' AND ip = '203.0.113.7' AND attributes LIKE '%北京%'").await,
        1
    );
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM contacts WHERE name IS NULL").await,
        2
    );
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM canned_replies WHERE shortcut = '官方地址在哪' AND content LIKE '%https://gofly.sopans.com%'").await,
        1
    );
    assert_eq!(store.list_ip_blocks(ws.id.as_ref()).await.unwrap().len(), 1);

    // A second run finds everything in place and writes nothing.
    let second = gofly::import(&store, &src, &options()).await.unwrap();
    for (name, s) in &second.steps {
        let new: u64 = s
            .written
            .iter()
            .filter(|(k, _)| !k.starts_with("already there"))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(new, 0, "{name} wrote again: {}", second.render());
    }
    assert!(second.links.is_empty());
    assert_eq!(second.step("messages").unwrap().read, 0);
    // Imported history is searchable like any other, once (a re-run adds no
    // second index entry); so are the imported contacts.
    let found = |q: &str| {
        let (store, ws) = (store.clone(), ws.id.clone());
        let q = kefu_core::search::Query::parse(q).unwrap();
        async move {
            let f = kefu_store::SearchFilter {
                include_notes: true,
                ..Default::default()
            };
            let m = store.search_messages(&ws, &q, &f, None, 50).await.unwrap();
            let c = store.search_contacts(&ws, &q, &f, None, 50).await.unwrap();
            (m.items.len(), c.items.len())
        }
    };
    assert_eq!(found("发货时间").await, (1, 0));
    assert_eq!(found("pay by card").await, (1, 0));
    assert_eq!(found("张三").await, (0, 1));
    assert_eq!(dump(&url).await, expect);
    assert_eq!(count(&url, "SELECT COUNT(*) FROM users").await, 4);
    assert_eq!(count(&url, "SELECT COUNT(*) FROM canned_replies").await, 4);

    // New GOFLY messages since: only they are imported, into the right conversation.
    conn.execute(sqlx::AssertSqlSafe(format!(
        "INSERT INTO message (id, kefu_id, visitor_id, content, created_at, mes_type) VALUES (14, 'kefu2', 'v-zhang', '还有一个问题', {}, 'visitor')",
        at(3 * 24 * 60 + 5)
    )))
    .await
    .unwrap();
    let third = gofly::import(&store, &src, &options()).await.unwrap();
    let m = third.step("messages").unwrap();
    assert_eq!(
        (
            m.read,
            m.written.get("messages"),
            m.written.get("conversations")
        ),
        (1, Some(&1), None)
    );
    assert_eq!(
        dump(&url).await.last().unwrap(),
        &format!(
            "v-zhang|{}|3|resolved|kefu2|3|visitor|text|还有一个问题|{}",
            ms(3 * 24 * 60),
            ms(3 * 24 * 60 + 5)
        )
    );
    assert_eq!(found("还有一个问题").await, (1, 0));
    src.close().await;
    store.close().await;
    drop(db);
}

#[tokio::test]
async fn realistic_rows_once_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = kefu_store::testing::sqlite_store(dir.path()).await.unwrap();
    let url = format!("sqlite://{}", dir.path().join("kefu.db").display());
    realistic_rows_once(store, url).await;
}

#[tokio::test]
async fn realistic_rows_once_postgres() {
    let url = kefu_store::testing::fresh_postgres_url().await.unwrap();
    let store = Store::open(&url, &Default::default()).await.unwrap();
    store.migrate().await.unwrap();
    realistic_rows_once(store, url).await;
}

/// `rows` messages from 300 visitors, agent kefu2 answering every third;
/// a three-day pause every 5000 messages splits conversations.
async fn many(conn: &mut MySqlConnection, rows: i64) {
    conn.execute("INSERT INTO `user` (id, name, nickname) VALUES (1, 'kefu2', '客服')")
        .await
        .unwrap();
    conn.execute(
        "INSERT INTO visitor (visitor_id, name, created_at) SELECT CONCAT('v', seq), CONCAT('访客', seq), FROM_UNIXTIME(1700000000) FROM seq_0_to_299",
    )
    .await
    .unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "INSERT INTO message (kefu_id, visitor_id, content, created_at, mes_type)
         SELECT 'kefu2', CONCAT('v', seq % 300), CONCAT('消息 ', seq, ' 😀'),
                FROM_UNIXTIME(1700000000 + seq * 60 + (seq DIV 5000) * 259200),
                IF(seq % 3 = 0, 'kefu', 'visitor')
         FROM seq_0_to_{}",
        rows - 1
    )))
    .await
    .unwrap();
}

fn import_cmd(data: &std::path::Path, db: &GoflyDb) -> Command {
    let mut c = Command::new(BIN);
    c.args([
        "import",
        "gofly",
        "--workspace",
        "Imported",
        "--batch-size",
        "200",
        "--quiet",
    ])
    .env("KEFU_DATA_DIR", data)
    .env("GOFLY_MYSQL_URL", &db.url)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    c
}

async fn messages_position(url: &str) -> Option<i64> {
    let pool = AnyPool::connect(url).await.ok()?;
    let p = sqlx::query("SELECT position FROM import_checkpoints WHERE step = 'messages'")
        .fetch_optional(&pool)
        .await
        .ok()
        .flatten()
        .map(|r| r.get::<i64, _>("position"));
    pool.close().await;
    p
}

#[tokio::test]
async fn killed_import_resumes_to_the_same_result() {
    sqlx::any::install_default_drivers();
    let (db, mut conn) = GoflyDb::new().await;
    const N: i64 = 20_000;
    many(&mut conn, N).await;

    // Uninterrupted.
    let whole = tempfile::tempdir().unwrap();
    let out = import_cmd(whole.path(), &db).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let whole_url = format!("sqlite://{}", whole.path().join("kefu.db").display());

    // Killed (SIGKILL) once the messages step has committed a few chunks.
    let cut = tempfile::tempdir().unwrap();
    let cut_url = format!("sqlite://{}?mode=ro", cut.path().join("kefu.db").display());
    let mut child = import_cmd(cut.path(), &db).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let killed_at = loop {
        if let Some(p) = messages_position(&cut_url).await
            && p >= 1000
        {
            child.kill().unwrap();
            child.wait().unwrap();
            break p;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "the messages step never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let after_kill = messages_position(&cut_url).await.unwrap();
    assert!(
        after_kill < N,
        "killed too late to prove anything ({after_kill} of {N})"
    );
    assert!(after_kill >= killed_at);
    let out = import_cmd(cut.path(), &db).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("messages"), "{summary}");

    let a = dump(&whole_url).await;
    let b = dump(&cut_url).await;
    assert_eq!(a.len(), N as usize);
    assert!(
        a == b,
        "the resumed import differs from the uninterrupted one"
    );
    // 300 visitors, 4 stretches of time: 1200 conversations with dense seqs.
    assert_eq!(
        count(&whole_url, "SELECT COUNT(*) FROM conversations").await,
        1200
    );
    assert_eq!(
        count(&cut_url, "SELECT COUNT(*) FROM conversations").await,
        1200
    );
    assert_eq!(
        count(&cut_url, "SELECT COUNT(*) FROM conversations c WHERE c.last_seq <> (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)").await,
        0
    );
    drop(db);
}

/// With mail on, each imported agent's link is queued as a "reset" mail
/// that carries the link's own lifetime (`invite_ttl_hours`, not the
/// shorter "forgot password" one), which the mail then states.
#[tokio::test]
async fn mailed_links_carry_their_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let store = kefu_store::testing::sqlite_store(dir.path()).await.unwrap();
    let (db, mut conn) = GoflyDb::new().await;
    realistic(&mut conn).await;
    let src = gofly::Source::connect(&db.url).await.unwrap();
    let mut opts = options();
    opts.links.mail = true;
    opts.links.ttl_ms = 72 * 3_600_000;
    let summary = gofly::import(&store, &src, &opts).await.unwrap();
    assert!(summary.mailed);
    let mails = store.claim_mails(60_000, 100).await.unwrap();
    let resets: Vec<_> = mails.iter().filter(|m| m.kind == "reset").collect();
    assert_eq!(resets.len(), summary.links.len(), "{mails:?}");
    assert!(!resets.is_empty());
    for m in resets {
        assert_eq!(m.payload["valid_minutes"], 72 * 60, "{:?}", m.payload);
    }
    src.close().await;
    store.close().await;
    drop(db);
}
