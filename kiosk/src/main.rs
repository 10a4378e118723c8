#[actix_web::main]
async fn main() -> std::process::ExitCode {
    // Bad settings: which one (flag and environment variable) and why; exit status 2.
    let settings = mend_kiosk::config::Settings::from_args_and_env();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match mend_kiosk::run(settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mend-kiosk: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
