//! Where the Postgres binaries are, and whom the server must run as.

use std::path::PathBuf;

/// Overrides where the server binaries are looked for.
pub const BIN_ENV: &str = "BOOKING_TEST_PG_BIN";

/// The path of Postgres binary `name` (`postgres`, `initdb`,
/// `pg_basebackup`): in `BOOKING_TEST_PG_BIN`, else in the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout, where they are not
/// on the PATH).
///
/// # Panics
/// When there is none, saying how to install or point at one.
pub fn binary(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var(BIN_ENV) {
        return PathBuf::from(dir).join(name);
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .max();
    let path =
        newest.map(|version| PathBuf::from(format!("/usr/lib/postgresql/{version}/bin/{name}")));
    match path {
        Some(path) if path.exists() => path,
        _ => panic!(
            "no Postgres binary {name} under /usr/lib/postgresql/<version>/bin: \
             install the server (apt-get install postgresql) or set {BIN_ENV}"
        ),
    }
}

/// The uid and gid to run the server and its tools as, when the tests run
/// as root (the server refuses root): the `postgres` user's. `None` when
/// the tests run as another user, who can run the server as itself.
///
/// # Panics
/// When running as root with no `postgres` user.
pub fn server_user() -> Option<(u32, u32)> {
    if effective_uid() != Some(0) {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let ids = passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.first() != Some(&"postgres") || fields.len() < 4 {
            return None;
        }
        Some((fields[2].parse().ok()?, fields[3].parse().ok()?))
    });
    Some(ids.unwrap_or_else(|| {
        panic!("the tests run as root, which Postgres refuses, and there is no postgres user to run it as")
    }))
}

/// From `/proc/self/status` ("Uid: real effective saved fs"): no unsafe
/// `geteuid` needed.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_binaries_are_found() {
        assert!(binary("postgres").exists());
        assert!(binary("initdb").exists());
        assert!(binary("pg_basebackup").exists());
    }

    #[test]
    fn root_runs_the_server_as_postgres_and_others_as_themselves() {
        match (effective_uid(), server_user()) {
            (Some(0), user) => assert!(user.is_some_and(|(uid, _)| uid != 0)),
            (_, user) => assert_eq!(user, None),
        }
    }
}
