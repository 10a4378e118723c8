//! Mend kiosk agent: the in-store tap-to-rate screen. For now it only knows its version;
//! the screen, the durable tap outbox and the sync loop come with the kiosk issue.

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `mend-kiosk --version` prints.
pub fn version_line() -> String {
    format!("mend-kiosk {VERSION}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_line_names_the_program_and_its_version() {
        assert_eq!(
            super::version_line(),
            format!("mend-kiosk {}", env!("CARGO_PKG_VERSION"))
        );
    }
}
