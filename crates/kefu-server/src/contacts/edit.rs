//! An agent edits a contact: name, e-mail, phone, custom attributes.

use crate::{
    app::SharedState,
    auth::Principal,
    conversations::after_commit,
    error::{ApiError, ApiResult},
};
use kefu_core::ContactId;
use kefu_store::{Contact, ContactEdit, StoreError};

/// Longest name, e-mail and phone an agent may set.
const MAX_NAME: usize = 100;
const MAX_EMAIL: usize = 254;
const MAX_PHONE: usize = 32;

pub async fn edit_contact(
    state: &SharedState,
    who: &Principal,
    id: &ContactId,
    edit: ContactEdit,
) -> ApiResult<Contact> {
    who.require_staff()?;
    check(&edit)?;
    let current = state
        .store
        .get_contact(who.workspace_id(), id)
        .await
        .map_err(|e| ApiError::from_store(e, "contact"))?;
    super::check_attributes(&state.cfg.limits, &current.attributes, &edit.attributes)
        .map_err(ApiError::validation)?;
    let (st, ws, id, actor) = (
        state.clone(),
        who.workspace_id().clone(),
        id.clone(),
        who.actor(),
    );
    crate::conversations::run(state, async move {
        let (contact, events) =
            st.store
                .edit_contact(&ws, &id, edit, actor)
                .await
                .map_err(|e| match e {
                    StoreError::Invalid(m) => ApiError::validation(m),
                    other => ApiError::from_store(other, "contact"),
                })?;
        after_commit(&st, &events);
        Ok(contact)
    })
    .await
}

fn check(e: &ContactEdit) -> ApiResult<()> {
    if let Some(n) = &e.name
        && n.chars().count() > MAX_NAME
    {
        return Err(ApiError::validation(format!(
            "the name is longer than {MAX_NAME} characters"
        )));
    }
    if let Some(m) = e.email.as_deref().map(str::trim).filter(|m| !m.is_empty())
        && (m.len() > MAX_EMAIL || !plausible_email(m))
    {
        return Err(ApiError::validation(format!(
            "{m:?} is not an e-mail address"
        )));
    }
    if let Some(p) = e.phone.as_deref().map(str::trim).filter(|p| !p.is_empty())
        && (p.chars().count() > MAX_PHONE
            || !p.chars().any(|c| c.is_ascii_digit())
            || !p
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c)))
    {
        return Err(ApiError::validation(format!(
            "{p:?} is not a phone number (digits, spaces and + - ( ) ., at most {MAX_PHONE})"
        )));
    }
    Ok(())
}

/// One `@` with something on both sides and a dot in the domain: the
/// mistakes people make, not RFC 5322.
fn plausible_email(m: &str) -> bool {
    match m.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !m.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_phones() {
        assert!(plausible_email("li.lei@example.com"));
        assert!(plausible_email("韩梅梅@例子.中国"));
        for bad in ["x", "@a.b", "a@b", "a@.b", "a@b.", "a b@c.d", "a@b@c.d"] {
            assert!(!plausible_email(bad), "{bad}");
        }
        let phone = |p: &str| {
            check(&ContactEdit {
                phone: Some(p.into()),
                ..Default::default()
            })
            .is_ok()
        };
        assert!(phone("+86 138-0013-8000"));
        assert!(phone(""), "empty clears it");
        assert!(!phone("call me"));
        assert!(!phone("+++"));
    }
}
