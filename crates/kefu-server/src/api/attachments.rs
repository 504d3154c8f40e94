//! Uploads and downloads. The content type is detected from the bytes, the
//! stored name is generated, and downloads check who may see them.

use crate::{
    app::SharedState,
    auth::{Caller, need},
    blob::{BlobError, is_inline_image, sniff},
    conversations::visible_conversation,
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};
use axum::{
    extract::{Multipart, State, multipart::MultipartError},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use kefu_store::{Attachment, new_id, now_ms};

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the file is larger than the upload limit",
        )
    } else {
        ApiError::bad_request("bad_multipart", e.body_text())
    }
}

/// A display name without path parts or control characters.
fn clean_name(name: Option<&str>) -> String {
    let base = name.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let clean = clean.trim().trim_start_matches('.').to_string();
    if clean.is_empty() {
        "file".into()
    } else {
        clean
    }
}

/// Upload a file (multipart field `file`); send it with a message's `attachment_id`.
#[utoipa::path(post, operation_id = "attachments_upload", path = "/api/v1/attachments", tag = "attachments", security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "A form with one `file` field"),
    responses((status = 201, description = "Created", body = Attachment), (status = 413, description = "Body or file too large", body = ErrorBody), (status = 422, description = "Invalid input", body = ErrorBody)))]
pub async fn upload(
    State(state): State<SharedState>,
    Caller(who, ..): Caller<need::MessagesWrite>,
    mut form: Multipart,
) -> ApiResult<(StatusCode, ApiJson<Attachment>)> {
    let max = state.cfg.limits.max_upload_bytes;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = clean_name(field.file_name());
        let bytes = field.bytes().await.map_err(multipart_error)?;
        if bytes.len() > max {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the upload limit is {max} bytes"),
            ));
        }
        if bytes.is_empty() {
            return Err(ApiError::validation("the file is empty"));
        }
        let content_type = sniff(&bytes);
        let size = bytes.len() as i64;
        let storage_key = state.blobs.put(bytes).await.map_err(|e| {
            tracing::error!(error = %e, "storing upload failed");
            ApiError::internal()
        })?;
        let sender = who.sender();
        let a = Attachment {
            id: new_id(),
            workspace_id: who.workspace_id().clone(),
            uploader_kind: sender.kind.as_str().to_string(),
            uploader_id: sender.id,
            name,
            content_type,
            size,
            storage_key,
            created_at: now_ms(),
        };
        return Ok((
            StatusCode::CREATED,
            ApiJson(state.store.create_attachment(a).await?),
        ));
    }
    Err(ApiError::validation("the form has no `file` field"))
}

/// Download a file. Only checked images are shown inline; everything else is
/// an attachment download, with a sandboxing CSP.
#[utoipa::path(get, operation_id = "attachments_download", path = "/api/v1/attachments/{id}", tag = "attachments", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The file"), (status = 404, description = "Not found (or not visible to the caller)", body = ErrorBody)))]
pub async fn download(
    State(state): State<SharedState>,
    Caller(who, ..): Caller<need::ConversationsRead>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let (a, conv) = state
        .store
        .get_attachment(who.workspace_id(), &id)
        .await
        .map_err(|e| ApiError::from_store(e, "attachment"))?;
    match conv {
        Some(conv_id) => {
            visible_conversation(&state, &who, &conv_id)
                .await
                .map_err(|_| ApiError::not_found("attachment"))?;
        }
        None if a.uploader_id == who.sender().id => {}
        None => return Err(ApiError::not_found("attachment")),
    }
    let bytes = state.blobs.get(&a.storage_key).await.map_err(|e| match e {
        BlobError::NotFound => ApiError::not_found("attachment"),
        other => {
            tracing::error!(error = %other, "reading upload failed");
            ApiError::internal()
        }
    })?;
    let disposition = if is_inline_image(&a.content_type) {
        "inline"
    } else {
        "attachment"
    };
    let encoded: String = a
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&a.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename*=UTF-8''{encoded}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_cleaned() {
        assert_eq!(super::clean_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(super::clean_name(Some("C:\\x\\报告.pdf")), "报告.pdf");
        assert_eq!(super::clean_name(Some(".htaccess")), "htaccess");
        assert_eq!(super::clean_name(None), "file");
    }
}
