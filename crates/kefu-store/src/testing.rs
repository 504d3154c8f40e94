//! Helpers for tests that need a real database: a fresh SQLite file or a
//! fresh PostgreSQL schema per test, so runs never collide.

use crate::{Result, Store, StoreOptions};

/// The PostgreSQL server tests use: `KEFU_TEST_POSTGRES_URL`, or the machine's
/// local server (127.0.0.1:5432, trust auth, database `test`).
pub fn postgres_base_url() -> String {
    std::env::var("KEFU_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Creates a new schema on the test server and returns a URL whose
/// connections use it. Fails loudly if PostgreSQL is unreachable: these
/// tests never skip silently.
pub async fn fresh_postgres_url() -> Result<String> {
    sqlx::any::install_default_drivers();
    let base = postgres_base_url();
    let schema = format!("kefu_t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&base).await.map_err(|e| {
        crate::StoreError::Invalid(format!(
            "PostgreSQL at {} is unreachable ({e}); start it with `make services` or set KEFU_TEST_POSTGRES_URL",
            crate::backend::redact(&base)
        ))
    })?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

/// A migrated store on a fresh SQLite file in `dir`.
pub async fn sqlite_store(dir: &std::path::Path) -> Result<Store> {
    let url = format!("sqlite://{}", dir.join("kefu.db").display());
    let store = Store::open(&url, &StoreOptions::default()).await?;
    store.migrate().await?;
    Ok(store)
}

/// A migrated store on a fresh PostgreSQL schema.
pub async fn postgres_store() -> Result<Store> {
    let store = Store::open(&fresh_postgres_url().await?, &StoreOptions::default()).await?;
    store.migrate().await?;
    Ok(store)
}

/// A new schema `kefu_b_…` on the PostgreSQL server at `base`, for tools
/// (`kefu search bench`) that fill a database and drop it afterwards:
/// (a URL whose connections use it, the schema's name).
pub async fn fresh_postgres_schema(base: &str) -> Result<(String, String)> {
    sqlx::any::install_default_drivers();
    let schema = format!("kefu_b_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(base).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok((
        format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        schema,
    ))
}

/// Drops a schema [`fresh_postgres_schema`] made, with everything in it.
pub async fn drop_postgres_schema(base: &str, schema: &str) -> Result<()> {
    if !schema.starts_with("kefu_b_")
        || !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(crate::StoreError::Invalid(format!(
            "not a schema of ours: {schema}"
        )));
    }
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(base).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// A new workspace named `prefix-<id>` (so tests sharing a database never
/// meet) with one inbox, "Website": what most store tests start from.
pub async fn workspace_with_inbox(
    store: &Store,
    prefix: &str,
) -> Result<(crate::Workspace, crate::Inbox)> {
    let (ws, _) = store
        .ensure_workspace(&format!("{prefix}-{}", crate::new_id()))
        .await?;
    let inbox = store
        .create_inbox(crate::NewInbox {
            workspace_id: ws.id.clone(),
            name: "Website".into(),
            ..Default::default()
        })
        .await?;
    Ok((ws, inbox))
}
