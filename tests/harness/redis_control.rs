//! One-off commands to a Redis node by port, each on a fresh connection and
//! bounded in time: the harness asks nodes that may be down, paused or
//! loading, and must never hang on one.

use std::time::Duration;

use redis::FromRedisValue;

/// How long one command may take, connecting included.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

pub fn url(port: u16) -> String {
    format!("redis://127.0.0.1:{port}")
}

/// Runs `cmd` on the node at `port`; the error says what went wrong.
pub async fn query<T: FromRedisValue>(port: u16, cmd: &redis::Cmd) -> Result<T, String> {
    let attempt = async {
        let client = redis::Client::open(url(port)).map_err(|e| e.to_string())?;
        // The client's own default (500 ms per reply) would cut a slow
        // command (a save, a failover) short on a busy machine: the bound
        // is COMMAND_TIMEOUT, below.
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
        let mut connection = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| format!("connecting to {port}: {e}"))?;
        cmd.query_async::<T>(&mut connection)
            .await
            .map_err(|e| format!("{port}: {e}"))
    };
    tokio::time::timeout(COMMAND_TIMEOUT, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("{port}: no answer within {COMMAND_TIMEOUT:?}")))
}

/// `Ok` when the node answers PONG; a loading node answers LOADING, and is
/// not ready.
pub async fn ping(port: u16) -> Result<(), String> {
    let pong: String = query(port, &redis::cmd("PING")).await?;
    if pong == "PONG" {
        Ok(())
    } else {
        Err(format!("{port} answered {pong:?} to PING"))
    }
}

/// One `field:value` line of `INFO <section>`.
pub async fn info_field(port: u16, section: &str, field: &str) -> Result<String, String> {
    let info: String = query(port, redis::cmd("INFO").arg(section)).await?;
    field_of(&info, field).ok_or_else(|| format!("{port}: no {field} in INFO {section}"))
}

/// The value of `field` in INFO-style text (`field:value` lines).
pub fn field_of(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name == field).then(|| value.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn fields_are_read_from_info_text() {
        let info = "# Cluster\r\ncluster_state:ok\r\ncluster_slots_ok:16384\r\n";
        assert_eq!(field_of(info, "cluster_state").as_deref(), Some("ok"));
        assert_eq!(field_of(info, "cluster_slots_ok").as_deref(), Some("16384"));
        assert_eq!(field_of(info, "cluster"), None);
    }
}
