//! What the binary's test files share: the real `ozontrack` run in a directory of the test's,
//! blind to the developer's own configuration.

use std::path::Path;
use std::process::Command;

/// `ozontrack ARGS` in `dir`, without `OZONTRACK__*` or `RUST_LOG` from the environment.
pub(crate) fn ozontrack(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ozontrack"));
    command.args(args).current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("OZONTRACK__") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
}
