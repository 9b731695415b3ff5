use booking_api::cli::{self, Command};
use booking_api::{telemetry, Application, Settings};

// Every request allocates (headers, bodies, log lines, futures): glibc's
// malloc spent about a tenth of the api's CPU on them, mimalloc less
// (docs/PERFORMANCE.md, "Results of 2026-12-01, later").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    match cli::parse(std::env::args().skip(1)) {
        Command::Serve => {}
        Command::Help => {
            print!("{}", cli::HELP);
            return Ok(());
        }
        Command::Version => {
            println!("{}", cli::version());
            return Ok(());
        }
        Command::Refused(arg) => {
            eprintln!(
                "booking-api: unknown argument {arg:?}; it is configured by files and \
                 environment variables only (booking-api --help)"
            );
            std::process::exit(2);
        }
    }
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("booking-api cannot start: {error}");
            std::process::exit(2);
        }
    };
    let flush_logs_on_exit = telemetry::init(&settings.log);
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(error) => {
            tracing::error!("booking-api cannot start: {error:#}");
            // `exit` runs no destructors: write the queued lines first.
            drop(flush_logs_on_exit);
            std::process::exit(1);
        }
    };
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    drop(flush_logs_on_exit);
    Ok(())
}
