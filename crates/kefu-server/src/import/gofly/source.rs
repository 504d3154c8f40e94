//! Reading a GOFLY database (MySQL or MariaDB): its tables as GOFLY's
//! `import.sql` defines them, each a [`Table`] (its SQL and its row), all
//! read the same way: in primary-key order in bounded chunks (`WHERE id > ?
//! ORDER BY id LIMIT ?`, [`Source::chunk`]), so nothing is held whole in
//! memory and a chunk's last id is a position to resume from. The big ones
//! (visitors, messages) are read ahead by a task of their own
//! ([`Source::read_ahead`]). `ORDER BY` names
//! the table's column: a bare `id` would mean the `CAST(id …) AS id` of the
//! select list, which no index serves (a sort of the whole rest of the
//! table for every chunk).
//!
//! Times are read as epoch milliseconds computed by the server
//! (`UNIX_TIMESTAMP`), so the session's time zone cannot shift them; a zero
//! or missing time reads as `None`.

use super::GoflyError;
use sqlx::{MySqlPool, Row, mysql::MySqlPoolOptions, mysql::MySqlRow};

/// A connection pool to the GOFLY database.
#[derive(Clone)]
pub struct Source {
    pool: MySqlPool,
    /// The database's name (part of the default import source name).
    pub database: String,
    /// Its tables, as found on connecting (the optional ones differ
    /// between GOFLY versions).
    tables: std::sync::Arc<[String]>,
}

/// `user`: an agent. `name` is the login and what other tables refer to.
#[derive(Debug, Clone)]
pub struct Agent {
    pub id: i64,
    pub name: String,
    pub nickname: String,
    pub created_at: Option<i64>,
    pub deleted: bool,
}

/// `visitor`: `visitor_id` is the string messages refer to.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub id: i64,
    pub visitor_id: String,
    pub name: String,
    pub avatar: String,
    pub source_ip: String,
    pub client_ip: String,
    pub to_id: String,
    pub refer: String,
    pub city: String,
    pub extra: String,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub deleted: bool,
}

/// `message`: one line of a visitor's chat; `mes_type` says who wrote it.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: i64,
    pub kefu_id: String,
    pub visitor_id: String,
    pub content: String,
    pub created_at: Option<i64>,
    pub mes_type: String,
    pub deleted: bool,
}

/// `reply_item` (its `reply_group` is not kept: see the extras step).
#[derive(Debug, Clone)]
pub struct Reply {
    pub id: i64,
    pub user_id: String,
    pub item_name: String,
    pub content: String,
}

/// `welcome`: an agent's greeting (`keyword` `welcome`) or offline text.
#[derive(Debug, Clone)]
pub struct Welcome {
    pub id: i64,
    pub user_id: String,
    pub keyword: String,
    pub content: String,
    pub is_default: bool,
    pub created_at: Option<i64>,
}

/// `ipblack`: a refused address.
#[derive(Debug, Clone)]
pub struct IpBlack {
    pub id: i64,
    pub ip: String,
    pub kefu_id: String,
    pub created_at: Option<i64>,
}

/// Epoch ms of a TIMESTAMP column, `NULL` for a missing or zero one.
macro_rules! ms {
    ($col:literal) => {
        concat!(
            "CAST(NULLIF(UNIX_TIMESTAMP(",
            $col,
            "), 0) * 1000 AS SIGNED)"
        )
    };
}

fn time(r: &MySqlRow, col: &str) -> Result<Option<i64>, sqlx::Error> {
    r.try_get::<Option<i64>, _>(col)
}

fn int(r: &MySqlRow, col: &str) -> Result<i64, sqlx::Error> {
    r.try_get::<i64, _>(col)
}

/// A GOFLY table as the import reads it: one SQL text and one row mapping,
/// and every table goes through the same chunked read ([`Source::chunk`]).
pub trait Table: Sized + Send + 'static {
    /// The table, as `information_schema` names it.
    const NAME: &'static str;
    /// Whether every GOFLY version has it (the others read as empty when missing).
    const REQUIRED: bool;
    /// `SELECT … FROM … WHERE <key> > ? ORDER BY <key> LIMIT ?`, the key
    /// qualified by its table (see the module doc).
    const SELECT: &'static str;
    fn from_row(r: &MySqlRow) -> Result<Self, sqlx::Error>;
    /// The row's key: where the next chunk starts.
    fn key(&self) -> i64;
}

impl Table for Agent {
    const NAME: &'static str = "user";
    const REQUIRED: bool = true;
    const SELECT: &'static str = concat!(
        "SELECT CAST(id AS SIGNED) AS id, name, nickname, ",
        ms!("created_at"),
        " AS created_at, CAST(deleted_at IS NOT NULL AS SIGNED) AS deleted
          FROM `user` WHERE `user`.id > ? ORDER BY `user`.id LIMIT ?"
    );
    fn from_row(r: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Agent {
            id: int(r, "id")?,
            name: r.try_get("name")?,
            nickname: r.try_get("nickname")?,
            created_at: time(r, "created_at")?,
            deleted: int(r, "deleted")? != 0,
        })
    }
    fn key(&self) -> i64 {
        self.id
    }
}

impl Table for Visitor {
    const NAME: &'static str = "visitor";
    const REQUIRED: bool = true;
    const SELECT: &'static str = concat!(
        "SELECT CAST(id AS SIGNED) AS id, visitor_id, name, avator, source_ip, client_ip, to_id, refer, city, extra, ",
        ms!("created_at"),
        " AS created_at, ",
        ms!("updated_at"),
        " AS updated_at, CAST(deleted_at IS NOT NULL AS SIGNED) AS deleted
          FROM visitor WHERE visitor.id > ? ORDER BY visitor.id LIMIT ?"
    );
    fn from_row(r: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Visitor {
            id: int(r, "id")?,
            visitor_id: r.try_get("visitor_id")?,
            name: r.try_get("name")?,
            avatar: r.try_get("avator")?,
            source_ip: r.try_get("source_ip")?,
            client_ip: r.try_get("client_ip")?,
            to_id: r.try_get("to_id")?,
            refer: r.try_get("refer")?,
            city: r.try_get("city")?,
            extra: r.try_get("extra")?,
            created_at: time(r, "created_at")?,
            updated_at: time(r, "updated_at")?,
            deleted: int(r, "deleted")? != 0,
        })
    }
    fn key(&self) -> i64 {
        self.id
    }
}

impl Table for Message {
    const NAME: &'static str = "message";
    const REQUIRED: bool = true;
    const SELECT: &'static str = concat!(
        "SELECT CAST(id AS SIGNED) AS id, kefu_id, visitor_id, content, ",
        ms!("created_at"),
        " AS created_at, CAST(mes_type AS CHAR) AS mes_type, CAST(deleted_at IS NOT NULL AS SIGNED) AS deleted
          FROM message WHERE message.id > ? ORDER BY message.id LIMIT ?"
    );
    fn from_row(r: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Message {
            id: int(r, "id")?,
            kefu_id: r.try_get("kefu_id")?,
            visitor_id: r.try_get("visitor_id")?,
            content: r.try_get("content")?,
            created_at: time(r, "created_at")?,
            mes_type: r.try_get("mes_type")?,
            deleted: int(r, "deleted")? != 0,
        })
    }
    fn key(&self) -> i64 {
        self.id
    }
}

impl Table for Reply {
    const NAME: &'static str = "reply_item";
    const REQUIRED: bool = false;
    const SELECT: &'static str = "SELECT CAST(id AS SIGNED) AS id, user_id, item_name, content
         FROM reply_item WHERE reply_item.id > ? ORDER BY reply_item.id LIMIT ?";
    fn from_row(r: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Reply {
            id: int(r, "id")?,
            user_id: r.try_get("user_id")?,
            item_name: r.try_get("item_name")?,
            content: r.try_get("content")?,
        })
    }
    fn key(&self) -> i64 {
        self.id
    }
}

impl Table for Welcome {
    const NAME: &'static str = "welcome";
    const REQUIRED: bool = false;
    const SELECT: &'static str = concat!(
        "SELECT CAST(id AS SIGNED) AS id, user_id, keyword, content, CAST(is_default AS SIGNED) AS is_default, ",
        ms!("ctime"),
        " AS created_at FROM welcome WHERE welcome.id > ? ORDER BY welcome.id LIMIT ?"
    );
    fn from_row(r: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Welcome {
            id: int(r, "id")?,
            user_id: r.try_get("user_id")?,
            keyword: r.try_get("keyword")?,
            content: r.try_get("content")?,
            is_default: int(r, "is_default")? != 0,
            created_at: time(r, "created_at")?,
        })
    }
    fn key(&self) -> i64 {
        self.id
    }
}

impl Table for IpBlack {
    const NAME: &'static str = "ipblack";
    const REQUIRED: bool = false;
    const SELECT: &'static str = concat!(
        "SELECT CAST(id AS SIGNED) AS id, ip, kefu_id, ",
        ms!("create_at"),
        " AS created_at FROM ipblack WHERE ipblack.id > ? ORDER BY ipblack.id LIMIT ?"
    );
    fn from_row(r: &MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(IpBlack {
            id: int(r, "id")?,
            ip: r.try_get("ip")?,
            kefu_id: r.try_get("kefu_id")?,
            created_at: time(r, "created_at")?,
        })
    }
    fn key(&self) -> i64 {
        self.id
    }
}

/// Rows per chunk when a small table is read whole ([`Source::all`]).
const ALL_CHUNK: usize = 10_000;

/// A table read ahead of its consumer by a task of its own
/// ([`Source::read_ahead`]): the next chunks come from MySQL while the
/// current one is mapped and written. The channel's bound is how far ahead
/// (in chunks) it may get, so memory stays bounded. Dropping it stops the task.
pub struct Chunks<T> {
    rx: tokio::sync::mpsc::Receiver<Result<Vec<T>, GoflyError>>,
    task: tokio::task::JoinHandle<()>,
}

impl<T> Chunks<T> {
    /// The next chunk in key order; `None` after the last one (or after an error was returned).
    pub async fn next(&mut self) -> Option<Result<Vec<T>, GoflyError>> {
        self.rx.recv().await
    }

    /// The next chunk, for a consumer on a blocking thread.
    pub fn blocking_next(&mut self) -> Option<Result<Vec<T>, GoflyError>> {
        self.rx.blocking_recv()
    }
}

impl<T> Drop for Chunks<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Source {
    /// Connects; the URL is `mysql://user:password@host:port/database`.
    pub async fn connect(url: &str) -> Result<Source, GoflyError> {
        let pool = MySqlPoolOptions::new()
            .max_connections(4)
            .connect(url)
            .await
            .map_err(|e| GoflyError::Connect(e.to_string()))?;
        let database: Option<String> = sqlx::query_scalar("SELECT DATABASE()")
            .fetch_one(&pool)
            .await?;
        let database = database.ok_or_else(|| {
            GoflyError::Schema("the MySQL URL names no database (mysql://…/DATABASE)".into())
        })?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE()",
        )
        .fetch_all(&pool)
        .await?;
        let s = Source {
            pool,
            database,
            tables: tables.into(),
        };
        for t in [Agent::NAME, Visitor::NAME, Message::NAME] {
            if !s.has_table(t) {
                return Err(GoflyError::Schema(format!(
                    "database {:?} has no table `{t}`: is it GOFLY's?",
                    s.database
                )));
            }
        }
        Ok(s)
    }

    /// Whether a table exists (the optional ones differ between GOFLY versions).
    pub fn has_table(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t.eq_ignore_ascii_case(table))
    }

    /// The number of rows after `after` (for the progress bar).
    pub async fn count_after<T: Table>(&self, after: i64) -> Result<u64, GoflyError> {
        if !self.has_table(T::NAME) {
            return Ok(0);
        }
        let sql = format!("SELECT COUNT(*) FROM `{}` WHERE id > ?", T::NAME);
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.max(0) as u64)
    }

    /// Up to `limit` rows of `T` with a key above `after`, in key order; a
    /// missing optional table reads as empty.
    pub async fn chunk<T: Table>(&self, after: i64, limit: usize) -> Result<Vec<T>, GoflyError> {
        if !T::REQUIRED && !self.has_table(T::NAME) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(T::SELECT)
            .bind(after)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(T::from_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// All of a small table (agents, replies, …), in key order.
    pub async fn all<T: Table>(&self) -> Result<Vec<T>, GoflyError> {
        let mut out: Vec<T> = Vec::new();
        let mut after = 0;
        loop {
            let rows = self.chunk::<T>(after, ALL_CHUNK).await?;
            let full = rows.len() == ALL_CHUNK;
            out.extend(rows);
            match out.last() {
                Some(last) if full => after = last.key(),
                _ => return Ok(out),
            }
        }
    }

    /// Reads `T` after `after` in chunks of `size` on a task of its own,
    /// up to `ahead` chunks ahead of the consumer.
    pub fn read_ahead<T: Table>(&self, after: i64, size: usize, ahead: usize) -> Chunks<T> {
        let (tx, rx) = tokio::sync::mpsc::channel(ahead.max(1));
        let src = self.clone();
        let task = tokio::spawn(async move {
            let mut after = after;
            loop {
                let chunk = src.chunk::<T>(after, size).await;
                let next = match &chunk {
                    Ok(rows) => rows.last().map(T::key),
                    Err(_) => None,
                };
                // An empty chunk (the end) and an error are sent too, then
                // the task ends; a failed send means the consumer stopped.
                if tx.send(chunk).await.is_err() {
                    return;
                }
                match next {
                    Some(k) => after = k,
                    None => return,
                }
            }
        });
        Chunks { rx, task }
    }

    /// Agent names messages mention that the `user` table does not have
    /// (agents deleted for good). A skip scan over the `kefu_id` index: one
    /// seek per distinct name (`MIN(kefu_id) … WHERE kefu_id > previous`),
    /// where a `SELECT DISTINCT` read the whole index (7 s for 8 million
    /// messages) and asking for anything else of those rows would visit them
    /// one by one. Names compare in the column's collation, as GOFLY's do.
    pub async fn missing_agents(&self) -> Result<Vec<String>, GoflyError> {
        let mut names = Vec::new();
        let mut after = String::new();
        loop {
            let next: Option<String> =
                sqlx::query_scalar("SELECT MIN(kefu_id) FROM message WHERE kefu_id > ?")
                    .bind(&after)
                    .fetch_one(&self.pool)
                    .await?;
            let Some(name) = next else {
                return Ok(names);
            };
            let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM `user` WHERE name = ?")
                .bind(&name)
                .fetch_one(&self.pool)
                .await?;
            if known == 0 {
                names.push(name.clone());
            }
            after = name;
        }
    }

    /// `config`'s `WelcomeMessage`, GOFLY's global greeting, if set.
    pub async fn config_welcome(&self) -> Result<Option<String>, GoflyError> {
        if !self.has_table("config") {
            return Ok(None);
        }
        let v: Option<String> = sqlx::query_scalar(
            "SELECT conf_value FROM config WHERE conf_key = 'WelcomeMessage' ORDER BY id LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(v.filter(|s| !s.trim().is_empty()))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
