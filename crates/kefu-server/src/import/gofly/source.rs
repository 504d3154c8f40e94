//! Reading a GOFLY database (MySQL or MariaDB): its tables as GOFLY's
//! `import.sql` defines them, read in primary-key order in bounded chunks
//! (`WHERE id > ? ORDER BY id LIMIT ?`), so nothing is held whole in memory
//! and a chunk's last id is a position to resume from. `ORDER BY` names
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

/// `reply_item` with its `reply_group`'s name.
#[derive(Debug, Clone)]
pub struct Reply {
    pub id: i64,
    pub user_id: String,
    pub item_name: String,
    pub content: String,
    pub group_name: String,
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
        let s = Source { pool, database };
        for t in ["user", "visitor", "message"] {
            if !s.has_table(t).await? {
                return Err(GoflyError::Schema(format!(
                    "database {:?} has no table `{t}`: is it GOFLY's?",
                    s.database
                )));
            }
        }
        Ok(s)
    }

    /// Whether a table exists (the optional ones differ between GOFLY versions).
    pub async fn has_table(&self, table: &str) -> Result<bool, GoflyError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
        )
        .bind(table)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// The number of rows after `after` (for the progress bar).
    pub async fn count_after(&self, table: &'static str, after: i64) -> Result<u64, GoflyError> {
        let sql = format!("SELECT COUNT(*) FROM `{table}` WHERE id > ?");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.max(0) as u64)
    }

    pub async fn agents(&self) -> Result<Vec<Agent>, GoflyError> {
        let rows = sqlx::query(concat!(
            "SELECT CAST(id AS SIGNED) AS id, name, nickname, ",
            ms!("created_at"),
            " AS created_at, CAST(deleted_at IS NOT NULL AS SIGNED) AS deleted FROM `user` ORDER BY `user`.id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Agent {
                    id: int(r, "id")?,
                    name: r.try_get("name")?,
                    nickname: r.try_get("nickname")?,
                    created_at: time(r, "created_at")?,
                    deleted: int(r, "deleted")? != 0,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Agent names messages mention that the `user` table does not have
    /// (agents deleted for good). Reads only the `kefu_id` index: asking for
    /// anything else of those rows (a first time) would visit millions of
    /// rows one by one.
    pub async fn missing_agents(&self) -> Result<Vec<String>, GoflyError> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT m.kefu_id FROM message m
             WHERE m.kefu_id <> '' AND NOT EXISTS (SELECT 1 FROM `user` u WHERE u.name = m.kefu_id)
             ORDER BY m.kefu_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(names)
    }

    pub async fn visitors(&self, after: i64, limit: usize) -> Result<Vec<Visitor>, GoflyError> {
        let rows = sqlx::query(concat!(
            "SELECT CAST(id AS SIGNED) AS id, visitor_id, name, avator, source_ip, client_ip, to_id, refer, city, extra, ",
            ms!("created_at"),
            " AS created_at, ",
            ms!("updated_at"),
            " AS updated_at, CAST(deleted_at IS NOT NULL AS SIGNED) AS deleted
              FROM visitor WHERE visitor.id > ? ORDER BY visitor.id LIMIT ?"
        ))
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
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
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    pub async fn messages(&self, after: i64, limit: usize) -> Result<Vec<Message>, GoflyError> {
        let rows = sqlx::query(concat!(
            "SELECT CAST(id AS SIGNED) AS id, kefu_id, visitor_id, content, ",
            ms!("created_at"),
            " AS created_at, CAST(mes_type AS CHAR) AS mes_type, CAST(deleted_at IS NOT NULL AS SIGNED) AS deleted
              FROM message WHERE message.id > ? ORDER BY message.id LIMIT ?"
        ))
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Message {
                    id: int(r, "id")?,
                    kefu_id: r.try_get("kefu_id")?,
                    visitor_id: r.try_get("visitor_id")?,
                    content: r.try_get("content")?,
                    created_at: time(r, "created_at")?,
                    mes_type: r.try_get("mes_type")?,
                    deleted: int(r, "deleted")? != 0,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    pub async fn replies(&self) -> Result<Vec<Reply>, GoflyError> {
        if !self.has_table("reply_item").await? {
            return Ok(Vec::new());
        }
        let groups = self.has_table("reply_group").await?;
        let sql = if groups {
            "SELECT CAST(i.id AS SIGNED) AS id, i.user_id, i.item_name, i.content, COALESCE(g.group_name, '') AS group_name
             FROM reply_item i LEFT JOIN reply_group g ON g.id = i.group_id ORDER BY i.id"
        } else {
            "SELECT CAST(id AS SIGNED) AS id, user_id, item_name, content, '' AS group_name FROM reply_item ORDER BY reply_item.id"
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(Reply {
                    id: int(r, "id")?,
                    user_id: r.try_get("user_id")?,
                    item_name: r.try_get("item_name")?,
                    content: r.try_get("content")?,
                    group_name: r.try_get("group_name")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    pub async fn welcomes(&self) -> Result<Vec<Welcome>, GoflyError> {
        if !self.has_table("welcome").await? {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(
            "SELECT CAST(id AS SIGNED) AS id, user_id, keyword, content, CAST(is_default AS SIGNED) AS is_default, ",
            ms!("ctime"),
            " AS created_at FROM welcome ORDER BY welcome.id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Welcome {
                    id: int(r, "id")?,
                    user_id: r.try_get("user_id")?,
                    keyword: r.try_get("keyword")?,
                    content: r.try_get("content")?,
                    is_default: int(r, "is_default")? != 0,
                    created_at: time(r, "created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// `config`'s `WelcomeMessage`, GOFLY's global greeting, if set.
    pub async fn config_welcome(&self) -> Result<Option<String>, GoflyError> {
        if !self.has_table("config").await? {
            return Ok(None);
        }
        let v: Option<String> = sqlx::query_scalar(
            "SELECT conf_value FROM config WHERE conf_key = 'WelcomeMessage' ORDER BY id LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(v.filter(|s| !s.trim().is_empty()))
    }

    pub async fn ip_blacks(&self) -> Result<Vec<IpBlack>, GoflyError> {
        if !self.has_table("ipblack").await? {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(
            "SELECT CAST(id AS SIGNED) AS id, ip, kefu_id, ",
            ms!("create_at"),
            " AS created_at FROM ipblack ORDER BY ipblack.id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IpBlack {
                    id: int(r, "id")?,
                    ip: r.try_get("ip")?,
                    kefu_id: r.try_get("kefu_id")?,
                    created_at: time(r, "created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
