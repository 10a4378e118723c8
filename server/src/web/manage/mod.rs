//! Pages for managers and staff: everything under `/manage/`, behind sign-in.

mod cases;
mod categories;
pub mod changes;
mod dashboard;
pub(crate) mod export;
mod import;
mod inbox;
mod integrations;
mod kiosks;
mod locations;
mod log;
mod login;
mod logo;
mod password;
mod people;
mod remedies;
mod settings;
pub mod stickers;
mod stores;
mod test_mail;

use actix_web::web;

use crate::db::models::Location;
use crate::db::queries::{locations as location_queries, users};
use crate::db::states::Role;
use crate::domain::account::access::may_manage_location;
use crate::web::session::SignedIn;
use crate::web::{AppError, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/manage", web::get().to(locations::redirect_to_index))
        .route("/manage/", web::get().to(locations::index))
        .route("/manage/login", web::get().to(login::form))
        .route("/manage/login", web::post().to(login::submit))
        .route("/manage/logout", web::post().to(login::logout))
        .route(
            "/manage/language",
            web::post().to(crate::web::reader::switch),
        )
        .route(
            "/manage/locations/{id}/stickers",
            web::get().to(stickers::sheet),
        )
        .service(
            web::resource("/manage/locations/{id}/logo")
                .app_data(logo::upload_config())
                .route(web::post().to(logo::upload)),
        )
        .route(
            "/manage/locations/{id}/logo/remove",
            web::post().to(logo::remove),
        )
        .route(
            "/manage/password/forgot",
            web::get().to(password::forgot_form),
        )
        .route("/manage/password/forgot", web::post().to(password::forgot))
        .route("/manage/password/set", web::get().to(password::set_form))
        .route("/manage/password/set", web::post().to(password::set))
        .route(
            "/manage/locations/{id}/settings",
            web::get().to(settings::form),
        )
        .route(
            "/manage/locations/{id}/remedies",
            web::get().to(remedies::show),
        )
        .route(
            "/manage/locations/{id}/remedies/limit",
            web::post().to(remedies::save_limit),
        )
        .route(
            "/manage/locations/{id}/remedies/replies",
            web::post().to(remedies::save_replies),
        )
        .route(
            "/manage/locations/{id}/settings",
            web::post().to(settings::save),
        )
        .route(
            "/manage/locations/{id}/test/{sample}",
            web::get().to(test_mail::preview),
        )
        .route(
            "/manage/locations/{id}/test/{sample}",
            web::post().to(test_mail::send),
        )
        .route("/manage/locations/{id}/kiosks", web::get().to(kiosks::list))
        .route("/manage/locations/{id}/kiosks", web::post().to(kiosks::add))
        .route(
            "/manage/locations/{id}/kiosks/{kiosk}/revoke",
            web::post().to(kiosks::revoke),
        )
        .route(
            "/manage/locations/{id}/kiosks/{kiosk}/spot",
            web::post().to(kiosks::choose_spot),
        )
        .route("/manage/integrations", web::get().to(integrations::show))
        .route(
            "/manage/integrations/tokens",
            web::post().to(integrations::make_token),
        )
        .route(
            "/manage/integrations/tokens/{id}/revoke",
            web::post().to(integrations::revoke_token),
        )
        .route(
            "/manage/integrations/webhooks",
            web::post().to(integrations::add_webhook),
        )
        .route(
            "/manage/integrations/webhooks/{id}",
            web::get().to(integrations::show_webhook),
        )
        // Before `{action}`: "again" takes a delivery, the others only the form's token.
        .route(
            "/manage/integrations/webhooks/{id}/again",
            web::post().to(integrations::send_again),
        )
        .route(
            "/manage/integrations/webhooks/{id}/{action}",
            web::post().to(integrations::webhook_action),
        )
        .route("/manage/log", web::get().to(log::show))
        .route("/manage/import", web::get().to(import::form))
        .service(
            web::resource("/manage/import/{kind}/preview")
                .app_data(import::upload_config())
                .route(web::post().to(import::preview)),
        )
        .route(
            "/manage/import/{kind}/confirm",
            web::post().to(import::confirm),
        )
        .route("/manage/stores", web::get().to(stores::list))
        .route("/manage/stores", web::post().to(stores::create))
        .route("/manage/stores.csv", web::get().to(stores::export_csv))
        .route("/manage/stores.xlsx", web::get().to(stores::export_xlsx))
        .route("/manage/stores/{id}", web::get().to(stores::show))
        .route("/manage/stores/{id}", web::post().to(stores::save))
        .route(
            "/manage/stores/{id}/spots",
            web::post().to(stores::add_spot),
        )
        .route(
            "/manage/stores/{id}/categories",
            web::get().to(categories::show),
        )
        .route(
            "/manage/stores/{id}/categories",
            web::post().to(categories::add),
        )
        .route(
            "/manage/stores/{id}/categories/{key}/{action}",
            web::post().to(categories::act),
        )
        .route(
            "/manage/stores/{id}/{action}",
            web::post().to(stores::archive),
        )
        .route(
            "/manage/spots/{id}/{action}",
            web::post().to(stores::spot_action),
        )
        .route("/manage/users", web::get().to(people::list))
        .route("/manage/users/invite", web::post().to(people::invite))
        .route("/manage/users/edit", web::get().to(people::edit_form))
        .route("/manage/users/edit", web::post().to(people::edit))
        .route("/manage/users/resend", web::post().to(people::resend))
        .route(
            "/manage/users/deactivate",
            web::post().to(people::deactivate),
        )
        .route(
            "/manage/users/reactivate",
            web::post().to(people::reactivate),
        )
        .route("/manage/export/{file}", web::get().to(export::download))
        .route("/manage/dashboard", web::get().to(dashboard::show))
        .route("/manage/changes", web::get().to(changes::list))
        .route("/manage/changes", web::post().to(changes::record))
        .route(
            "/manage/changes/{id}/withdraw",
            web::post().to(changes::withdraw),
        )
        .route("/manage/cases", web::get().to(inbox::inbox))
        .route("/manage/cases/{reference}", web::get().to(cases::show))
        .route(
            "/manage/cases/{reference}/{action}",
            web::post().to(cases::act),
        )
        .route(
            "/manage/cases/{reference}/photo",
            web::get().to(cases::photo),
        );
}

/// The location, if it exists and the signed-in user may manage it. Staff get 403 (the
/// wrong role for the page); a manager of other stores gets 404, as for a store that does
/// not exist: a chain's store list is not theirs to probe.
pub(crate) async fn managed_location(
    state: &web::Data<AppState>,
    who: &SignedIn,
    location_id: String,
) -> Result<Location, AppError> {
    let db = state.db.clone();
    let user_id = who.user.id.clone();
    let (location, own) = web::block(move || {
        db.read(|c| {
            Ok((
                location_queries::find(c, &location_id)?,
                users::location_ids(c, &user_id)?,
            ))
        })
    })
    .await??;
    let location = location.ok_or(AppError::NotFound)?;
    if who.role == Role::Staff {
        return Err(AppError::Forbidden);
    }
    if !may_manage_location(who.role, &own, &location.id) {
        return Err(AppError::NotFound);
    }
    Ok(location)
}
