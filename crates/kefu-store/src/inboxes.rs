//! Inboxes: the channels visitors write in (website widgets for now).

use crate::{Inbox, Result, Store, StoreError, WidgetSettings, new_id, now_ms};
use kefu_core::{WorkspaceId, bot::BotSettings};
use sqlx::{Row, any::AnyRow};

macro_rules! cols {
    () => {
        "id, workspace_id, name, public_key, allowed_origins, display_name, welcome_text, widget, created_at, reopen_window_secs, closing_message, bot, closing_message_zh"
    };
}

fn from_row(r: &AnyRow) -> Result<Inbox> {
    let origins: String = r.try_get("allowed_origins")?;
    let widget: String = r.try_get("widget")?;
    let bot: String = r.try_get("bot")?;
    Ok(Inbox {
        id: r.try_get("id")?,
        workspace_id: r.try_get("workspace_id")?,
        name: r.try_get("name")?,
        public_key: r.try_get("public_key")?,
        allowed_origins: serde_json::from_str(&origins)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        display_name: r.try_get("display_name")?,
        welcome_text: r.try_get("welcome_text")?,
        widget: serde_json::from_str(&widget).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: r.try_get("created_at")?,
        reopen_window_secs: r.try_get("reopen_window_secs")?,
        closing_message: r.try_get("closing_message")?,
        closing_message_zh: r.try_get("closing_message_zh")?,
        bot: serde_json::from_str(&bot).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

/// Settings of a new inbox.
#[derive(Debug, Clone, Default)]
pub struct NewInbox {
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub allowed_origins: Vec<String>,
    pub display_name: String,
    pub welcome_text: String,
    pub widget: WidgetSettings,
    pub bot: BotSettings,
}

/// Changes to an inbox; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct InboxPatch {
    pub name: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub display_name: Option<String>,
    pub welcome_text: Option<String>,
    /// Replaces all widget settings.
    pub widget: Option<WidgetSettings>,
    pub reopen_window_secs: Option<i64>,
    /// The English closing message.
    pub closing_message: Option<String>,
    /// The Chinese closing message.
    pub closing_message_zh: Option<String>,
    /// Replaces all bot settings.
    pub bot: Option<BotSettings>,
}

/// How long after a resolve a visitor's message reopens the conversation
/// (a day), unless the inbox says otherwise.
pub const DEFAULT_REOPEN_WINDOW_SECS: i64 = 86_400;

/// What visitors are told when their conversation is resolved, unless the
/// inbox says otherwise: in English (the same text as migration 0032 sets).
pub const DEFAULT_CLOSING_MESSAGE: &str =
    "This conversation has been resolved. Write again any time if you need more help.";

/// The same for visitors who read Chinese (migration 0032's column default).
pub const DEFAULT_CLOSING_MESSAGE_ZH: &str = "本次会话已结束，如需帮助请随时留言。";

impl crate::Inbox {
    /// The closing message for a visitor whose language tag is `language`
    /// (`zh-CN`, `en-US`, none): Chinese for `zh*`, English otherwise.
    pub fn closing_message_for(&self, language: Option<&str>) -> &str {
        let zh = language.is_some_and(|l| l.trim().to_ascii_lowercase().starts_with("zh"));
        if zh {
            &self.closing_message_zh
        } else {
            &self.closing_message
        }
    }
}

fn widget_json(w: &WidgetSettings) -> String {
    serde_json::to_string(w).unwrap_or_else(|_| "{}".into())
}

fn bot_json(b: &BotSettings) -> String {
    serde_json::to_string(b).unwrap_or_else(|_| "{}".into())
}

fn origins_json(o: &[String]) -> String {
    serde_json::to_string(o).unwrap_or_else(|_| "[]".into())
}

impl Store {
    pub async fn create_inbox(&self, new: NewInbox) -> Result<Inbox> {
        let inbox = Inbox {
            id: new_id(),
            workspace_id: new.workspace_id,
            name: new.name,
            public_key: uuid::Uuid::new_v4().simple().to_string(),
            allowed_origins: new.allowed_origins,
            display_name: new.display_name,
            welcome_text: new.welcome_text,
            widget: new.widget,
            created_at: now_ms(),
            reopen_window_secs: DEFAULT_REOPEN_WINDOW_SECS,
            closing_message: DEFAULT_CLOSING_MESSAGE.into(),
            closing_message_zh: DEFAULT_CLOSING_MESSAGE_ZH.into(),
            bot: new.bot,
        };
        let i = inbox.clone();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(concat!(
                    "INSERT INTO inboxes (",
                    cols!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ))
                .bind(&i.id)
                .bind(&i.workspace_id)
                .bind(&i.name)
                .bind(&i.public_key)
                .bind(origins_json(&i.allowed_origins))
                .bind(&i.display_name)
                .bind(&i.welcome_text)
                .bind(widget_json(&i.widget))
                .bind(i.created_at)
                .bind(i.reopen_window_secs)
                .bind(&i.closing_message)
                .bind(bot_json(&i.bot))
                .bind(&i.closing_message_zh)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(inbox)
    }

    pub async fn get_inbox(&self, workspace_id: &WorkspaceId, id: &str) -> Result<Inbox> {
        let r = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM inboxes WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_one(self.reader())
        .await?;
        from_row(&r)
    }

    /// The oldest inbox of any workspace (ids are time-ordered), if there is one.
    pub async fn oldest_inbox(&self) -> Result<Option<Inbox>> {
        let r = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM inboxes ORDER BY id LIMIT 1"
        ))
        .fetch_optional(self.reader())
        .await?;
        r.as_ref().map(from_row).transpose()
    }

    pub async fn find_inbox_by_key(&self, public_key: &str) -> Result<Option<Inbox>> {
        let r = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM inboxes WHERE public_key = $1"
        ))
        .bind(public_key)
        .fetch_optional(self.reader())
        .await?;
        r.as_ref().map(from_row).transpose()
    }

    pub async fn list_inboxes(
        &self,
        workspace_id: &WorkspaceId,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Inbox>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM inboxes WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(workspace_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn update_inbox(
        &self,
        workspace_id: &WorkspaceId,
        id: &str,
        patch: InboxPatch,
    ) -> Result<Inbox> {
        let (ws, iid) = (workspace_id.clone(), id.to_string());
        self.write(move |c| {
            Box::pin(async move {
                let n = sqlx::query(
                    "UPDATE inboxes SET
                        name = COALESCE($3, name),
                        allowed_origins = COALESCE($4, allowed_origins),
                        display_name = COALESCE($5, display_name),
                        welcome_text = COALESCE($6, welcome_text),
                        widget = COALESCE($7, widget),
                        reopen_window_secs = COALESCE($8, reopen_window_secs),
                        closing_message = COALESCE($9, closing_message),
                        bot = COALESCE($10, bot),
                        closing_message_zh = COALESCE($11, closing_message_zh)
                     WHERE id = $1 AND workspace_id = $2",
                )
                .bind(&iid)
                .bind(&ws)
                .bind(patch.name)
                .bind(patch.allowed_origins.as_deref().map(origins_json))
                .bind(patch.display_name)
                .bind(patch.welcome_text)
                .bind(patch.widget.as_ref().map(widget_json))
                .bind(patch.reopen_window_secs)
                .bind(patch.closing_message)
                .bind(patch.bot.as_ref().map(bot_json))
                .bind(patch.closing_message_zh)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Ok(())
                }
            })
        })
        .await?;
        self.get_inbox(workspace_id, id).await
    }
}
