//! The baseline for HTTP benchmarks: actix-web's hello world, built with the same
//! dependencies and profile as Mend, so bench/ can report Mend as a ratio of it.
use actix_web::{web, App, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::var("HELLO_BIND").unwrap_or_else(|_| "127.0.0.1:18090".into());
    HttpServer::new(|| App::new().route("/", web::get().to(|| async { "Hello world!" })))
        .bind(bind)?
        .run()
        .await
}
