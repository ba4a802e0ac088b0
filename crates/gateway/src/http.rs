//! The gateway's HTTP surface: `POST /gateway` and the documents clients need.
use actix_web::{HttpRequest, HttpResponse, http::header, web};

use fshows::envelope::MAX_BODY_BYTES;

use crate::service::Gateway;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/gateway").app_data(web::PayloadConfig::new(MAX_BODY_BYTES)).route(web::post().to(post)),
    )
    .route("/gateway/openapi.json", web::get().to(openapi))
    .route("/cashier/code", web::get().to(crate::cashier::show))
    .route("/cashier/pay", web::post().to(crate::cashier::pay))
    .route("/channel/{name}/notify", web::post().to(crate::cashier::notify))
    .route("/channel/{name}/payout-notify", web::post().to(crate::cashier::payout_notify));
}

async fn post(request: HttpRequest, body: web::Bytes, gateway: web::Data<Gateway>) -> HttpResponse {
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let client_ip = request.peer_addr().map(|address| address.ip().to_string());
    let response = gateway.handle(content_type, &body, client_ip).await;
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(response.status).unwrap_or(actix_web::http::StatusCode::OK),
    )
    .content_type("application/json; charset=utf-8")
    .body(response.body)
}

/// The methods' content and replies, for client developers.
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(include_str!("../openapi.json"))
}
