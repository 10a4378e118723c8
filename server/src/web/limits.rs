//! Limits on what one client can hold: a request must arrive whole (headers and body)
//! within a deadline, and one client may have only so many requests in progress at once.
//! Without them, connections that send headers and then trickle a body stay open for
//! ever, and a few hundred of them take every file descriptor the service has.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error};

use crate::web::client::client_ip;
use crate::web::rate_limit::network_of;
use crate::web::{AppError, AppState};

/// A complaint with a phone photo (up to 8 MB) from a customer on 3G, and a chain's store
/// list (up to 32 MB), get ten times the deadline: an honest slow upload must arrive.
const UPLOAD_DEADLINE_FACTOR: u32 = 10;

/// Requests in progress per client.
#[derive(Clone, Default)]
pub struct InFlight(Arc<Mutex<HashMap<IpAddr, u32>>>);

/// Counts one request of a client while it lives.
struct Slot {
    table: InFlight,
    client: IpAddr,
}

impl InFlight {
    fn enter(&self, client: IpAddr, max: u32) -> Option<Slot> {
        let mut table = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = table.entry(client).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            table: self.clone(),
            client,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = table.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                table.remove(&self.client);
            }
        }
    }
}

/// The middleware: refuses a client over its share at once (429), and answers 408 to a
/// request whose body has not arrived by the deadline (the connection is then closed).
pub async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let settings = &state.settings;
    let client = client_ip(req.request(), &settings.trusted_proxies).map(network_of);
    let _slot = match client {
        Some(ip) => match state.in_flight.enter(ip, settings.max_requests_per_client) {
            Some(slot) => Some(slot),
            None => return Err(AppError::TooManyRequests.into()),
        },
        None => None,
    };
    // Only requests with a body wait on the client; the rest answer as fast as they can
    // (an export may take longer than a body is allowed to).
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let complaint = req.path().starts_with("/t/");
    let mut seconds = settings.request_deadline_seconds;
    if complaint || req.path().starts_with("/manage/import") {
        seconds = seconds.saturating_mul(UPLOAD_DEADLINE_FACTOR);
    }
    // A customer is answered in their language, as the form does.
    let lang = crate::domain::language::Language::negotiate(
        None,
        req.headers()
            .get("accept-language")
            .and_then(|v| v.to_str().ok()),
        "en",
    );
    match tokio::time::timeout(Duration::from_secs(u64::from(seconds)), next.call(req)).await {
        Ok(response) => response.map(ServiceResponse::map_into_boxed_body),
        Err(_) if complaint => Err(AppError::Customer {
            status: actix_web::http::StatusCode::REQUEST_TIMEOUT,
            lang,
            title_key: "form.title",
            message_key: "error.too_slow",
        }
        .into()),
        Err(_) => Err(AppError::RequestTimeout.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_at_most_its_share_and_gets_it_back() {
        let table = InFlight::default();
        let ip = IpAddr::from([10, 0, 0, 1]);
        let held: Vec<Slot> = (0..3).map(|_| table.enter(ip, 3).unwrap()).collect();
        assert!(table.enter(ip, 3).is_none());
        assert!(table.enter(IpAddr::from([10, 0, 0, 2]), 3).is_some());
        drop(held);
        assert!(table.enter(ip, 3).is_some());
        assert!(table.0.lock().unwrap().is_empty(), "nothing left behind");
    }
}
