//! Helpers shared by the xtask integration tests.

use std::fs;
use std::path::PathBuf;

/// A fresh directory for one test, removed when dropped. `suite` keeps the test files'
/// directories apart; the process id keeps concurrent runs apart.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(suite: &str, name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("xtask-{suite}-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
