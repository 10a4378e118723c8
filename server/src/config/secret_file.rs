//! The signing key kept in the data dir when `MEND_SECRET` is not set: generated once,
//! readable by the owner only, and reused on every start so signed links stay valid.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;

use super::{ConfigError, SigningKey};

const FILE_NAME: &str = "secret";

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

pub fn load_or_create(data_dir: &Path) -> Result<SigningKey, ConfigError> {
    let file = path(data_dir);
    let shown = file.display().to_string();
    let data_dir_error = |e: std::io::Error| {
        ConfigError::new(
            "MEND_DATA_DIR",
            format!("cannot create {}: {e}", data_dir.display()),
        )
    };
    std::fs::create_dir_all(data_dir).map_err(data_dir_error)?;

    if !file.exists() {
        create(&file).map_err(|e| {
            ConfigError::new(
                "MEND_SECRET",
                format!("not set, and cannot create {shown}: {e}"),
            )
        })?;
    }
    let text = std::fs::read_to_string(&file).map_err(|e| {
        ConfigError::new(
            "MEND_SECRET",
            format!("not set, and cannot read {shown}: {e}"),
        )
    })?;
    SigningKey::parse(&text)
        .map_err(|p| ConfigError::new("MEND_SECRET", format!("{shown} is not usable: {p}")))
}

/// Writes a fresh key to a private temporary file and links it into place, so that a
/// concurrent start never reads a half-written key, and an existing key is never replaced.
fn create(file: &Path) -> std::io::Result<()> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let tmp = file.with_extension(format!("tmp-{}", std::process::id()));
    let written = create_owner_only(&tmp).and_then(|mut f| {
        f.write_all(hex::encode(bytes).as_bytes())?;
        f.sync_all()
    });
    let linked = written.and_then(|()| match std::fs::hard_link(&tmp, file) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    });
    let _ = std::fs::remove_file(&tmp);
    linked
}

#[cfg(unix)]
fn create_owner_only(file: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)
}

#[cfg(not(unix))]
fn create_owner_only(file: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(file)
}
