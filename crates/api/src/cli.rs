//! The command line. The service is configured by files and environment
//! variables only (README.md, "Configuration"), so the only arguments are
//! the ones people type to find that out; anything else is refused rather
//! than ignored, so `booking-api --port 5000` does not quietly start a
//! server on another port than the one asked for.

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Serve,
    Help,
    Version,
    /// An argument this binary does not take.
    Refused(String),
}

/// Reads the arguments after the program's name.
pub fn parse(mut args: impl Iterator<Item = String>) -> Command {
    match (args.next(), args.next()) {
        (None, _) => Command::Serve,
        (Some(arg), None) if arg == "--help" || arg == "-h" => Command::Help,
        (Some(arg), None) if arg == "--version" || arg == "-V" => Command::Version,
        (Some(arg), _) => Command::Refused(arg),
    }
}

pub fn version() -> String {
    format!("booking-api {}", env!("CARGO_PKG_VERSION"))
}

pub const HELP: &str = "\
booking-api: the seat-booking HTTP service.

Usage: booking-api            start serving (stop with Ctrl-C or SIGTERM)
       booking-api --help     print this
       booking-api --version  print the version

It takes no other arguments: settings come from config/default.toml, then
config/<APP_ENV>.toml (APP_ENV: development, test or production), then
environment variables BOOKING__<SECTION>__<KEY>. For example:

  PORT=4001 booking-api                           listen on port 4001
  BOOKING__STORAGE=postgres_redis PG_URL=postgres://postgres@127.0.0.1/booking \\
    REDIS_URL=redis://127.0.0.1:6379 booking-api  keep data in Postgres and Redis
  APP_ENV=production BOOKING__AUTH__JWT_SECRET=... booking-api

Started with nothing set, it serves on 0.0.0.0:4000 with data in memory and
callers named by X-User-Id (trust mode). Every setting, its variable and
default: README.md, \"Configuration\"; deployment: docs/DEPLOY.md.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(args: &[&str]) -> Command {
        parse(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn no_argument_serves_and_help_or_version_do_not() {
        assert_eq!(parse_all(&[]), Command::Serve);
        assert_eq!(parse_all(&["--help"]), Command::Help);
        assert_eq!(parse_all(&["-h"]), Command::Help);
        assert_eq!(parse_all(&["--version"]), Command::Version);
        assert_eq!(parse_all(&["-V"]), Command::Version);
    }

    #[test]
    fn anything_else_is_refused_by_name() {
        assert_eq!(
            parse_all(&["--port", "5000"]),
            Command::Refused("--port".into())
        );
        assert_eq!(
            parse_all(&["--help", "extra"]),
            Command::Refused("--help".into())
        );
    }
}
