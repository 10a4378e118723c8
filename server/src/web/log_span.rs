//! What the request log keeps of each request: the route's pattern, never the address
//! itself (status, survey, acknowledge and reset links carry their tokens in the path or
//! the query), and the real client: the peer, or what a trusted proxy says it forwarded,
//! never an `X-Forwarded-For` anyone could type.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{web, Error, HttpMessage};
use tracing::field::Empty;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

use crate::web::client::client_ip;
use crate::web::AppState;

pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let trusted = request
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.trusted_proxies.clone())
            .unwrap_or_default();
        let client = client_ip(request.request(), &trusted)
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.client_ip = %client,
            http.status_code = Empty,
            otel.status_code = Empty,
            exception.message = Empty,
            exception.details = Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_logged_request_keeps_no_token_and_no_address_a_client_typed() {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let req = actix_web::test::TestRequest::with_uri(
            "/manage/password/set?u=someone&exp=1&sig=SIGNATURE-SECRET",
        )
        .peer_addr("192.0.2.10:4000".parse().unwrap())
        .insert_header(("x-forwarded-for", "6.6.6.6"))
        .to_srv_request();
        tracing::subscriber::with_default(subscriber, || {
            let span = RedactedRootSpan::on_request_start(&req);
            let _in = span.enter();
            tracing::error!("request failed");
        });
        let logged = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("request failed"), "{logged}");
        assert!(logged.contains("192.0.2.10"), "the real peer: {logged}");
        assert!(!logged.contains("SIGNATURE-SECRET"), "{logged}");
        assert!(!logged.contains("6.6.6.6"), "{logged}");
    }

    /// A page that wants a sign-in answers 303 to the sign-in page: routine, not an error
    /// in the log; a server error still is one.
    #[actix_web::test]
    async fn a_redirect_to_sign_in_is_not_logged_as_an_error() {
        use crate::web::AppError;
        use actix_web::{test, App};
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(
            App::new()
                .wrap(tracing_actix_web::TracingLogger::<RedactedRootSpan>::new())
                .route(
                    "/manage/",
                    web::get().to(|| async {
                        Err::<String, _>(AppError::SignInRequired("/manage/".into()))
                    }),
                )
                .route(
                    "/broken",
                    web::get().to(|| async {
                        Err::<String, _>(AppError::Internal(anyhow::anyhow!("disk on fire")))
                    }),
                ),
        )
        .await;
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/manage/").to_request()).await;
        assert_eq!(res.status(), 303);
        let logged = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(!logged.contains("ERROR"), "{logged}");
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/broken").to_request()).await;
        assert_eq!(res.status(), 500);
        let logged = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(
            logged.contains("ERROR") && logged.contains("disk on fire"),
            "{logged}"
        );
    }
}
