//! Password hashing with Argon2id (the argon2 crate's default parameters:
//! 19 MiB, 2 passes, 1 lane, as OWASP recommends).

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {0} characters")]
    TooShort(usize),
    #[error("password must be at most {0} characters")]
    TooLong(usize),
    #[error("hashing failed")]
    Hash,
}

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

pub fn hash(password: &str) -> Result<String, PasswordError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(PasswordError::TooShort(MIN_LEN));
    }
    if n > MAX_LEN {
        return Err(PasswordError::TooLong(MAX_LEN));
    }
    // The hasher draws a fresh random salt from the OS for every hash.
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hash)
}

/// Constant-time check; a malformed stored hash simply fails.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs `f` (hashing or verifying) on the one password thread.
///
/// Argon2id allocates 19 MiB per hash. On tokio's blocking pool every thread
/// gets its own allocator arena that keeps that memory afterwards, so a burst
/// of logins would pin 19 MiB per thread for good; one dedicated thread keeps
/// it to one, and bounds the CPU a login flood can take. `None` if the thread
/// is gone.
pub async fn on_password_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    static THREAD: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    let sender = THREAD.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let _ = std::thread::Builder::new()
            .name("kefu-password".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                    release_freed_memory();
                }
            });
        std::sync::Mutex::new(tx)
    });
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    sender.lock().ok()?.send(job).ok()?;
    rx.await.ok()
}

/// Hands the hash's freed 19 MiB back to the OS. glibc's allocator raises
/// its mmap threshold after the first big free, so later hashes come from the
/// heap and their memory would otherwise stay resident (measured: an idle
/// server grew from 17 MB to 134 MB RSS after a handful of logins).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it has
    // no preconditions and touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A hash to verify against when the user does not exist, so a login for an
/// unknown email costs the same time as one with a wrong password.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash("not-a-real-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_and_verify() {
        let h = super::hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong horse", &h));
        assert!(!super::verify("x", "garbage"));
        assert!(super::hash("short").is_err());
    }
}
