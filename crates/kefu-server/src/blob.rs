//! Where uploaded bytes live. Behind a small interface so object storage can
//! be added later; the default keeps files under `<data_dir>/uploads` with
//! generated names (never a path the uploader chose).

use futures::future::BoxFuture;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob not found")]
    NotFound,
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
}

pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` durably under a new key and returns it.
    fn put(&self, bytes: bytes::Bytes) -> BoxFuture<'_, Result<String, BlobError>>;
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bytes::Bytes, BlobError>>;
}

/// Files in a directory, named by random UUIDs.
pub struct FsBlobs {
    dir: PathBuf,
}

impl FsBlobs {
    pub fn new(dir: PathBuf) -> Self {
        FsBlobs { dir }
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        // Keys are our own UUIDs; anything else never reaches the file system.
        uuid::Uuid::parse_str(key)
            .ok()
            .map(|u| self.dir.join(u.simple().to_string()))
    }
}

impl BlobStore for FsBlobs {
    fn put(&self, bytes: bytes::Bytes) -> BoxFuture<'_, Result<String, BlobError>> {
        Box::pin(async move {
            let key = uuid::Uuid::new_v4().simple().to_string();
            let path = self.path(&key).ok_or(BlobError::NotFound)?;
            let tmp = path.with_extension("part");
            let mut f = tokio::fs::File::create(&tmp).await?;
            tokio::io::AsyncWriteExt::write_all(&mut f, &bytes).await?;
            f.sync_all().await?;
            tokio::fs::rename(&tmp, &path).await?;
            Ok(key)
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bytes::Bytes, BlobError>> {
        Box::pin(async move {
            let path = self.path(key).ok_or(BlobError::NotFound)?;
            match tokio::fs::read(&path).await {
                Ok(b) => Ok(b.into()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BlobError::NotFound),
                Err(e) => Err(e.into()),
            }
        })
    }
}

/// Image types browsers display inline that cannot carry script (no SVG).
pub fn is_inline_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// The content type, detected from the bytes; unknown → octet-stream.
pub fn sniff(bytes: &[u8]) -> String {
    match infer::get(bytes) {
        Some(t) => t.mime_type().to_string(),
        None if std::str::from_utf8(bytes).is_ok() => "text/plain".into(),
        None => "application/octet-stream".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content_not_name() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R',
        ];
        assert_eq!(sniff(&png), "image/png");
        assert_eq!(sniff(b"<svg onload=alert(1)>"), "text/plain");
        assert_eq!(sniff(&[0xff, 0x00, 0xfe]), "application/octet-stream");
        assert!(!is_inline_image("image/svg+xml"));
    }

    #[tokio::test]
    async fn keys_are_ours_only() {
        let dir = tempfile::tempdir().unwrap();
        let b = FsBlobs::new(dir.path().to_path_buf());
        let k = b.put(bytes::Bytes::from_static(b"hi")).await.unwrap();
        assert_eq!(&b.get(&k).await.unwrap()[..], b"hi");
        assert!(matches!(
            b.get("../../etc/passwd").await,
            Err(BlobError::NotFound)
        ));
    }
}
