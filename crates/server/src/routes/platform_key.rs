//! `GET /gateway/platform-key`: the key clients verify replies and notifications with — as PEM,
//! or with `?format=base64` as the single line Alipay-style SDKs take.
use actix_web::{HttpResponse, web};
use onboarding::platform_key::PlatformKey;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Format {
    format: Option<String>,
}

pub async fn download(key: web::Data<PlatformKey>, query: web::Query<Format>) -> HttpResponse {
    match query.format.as_deref() {
        None | Some("pem") => HttpResponse::Ok()
            .content_type("application/x-pem-file")
            .insert_header(("Content-Disposition", "inline; filename=\"liquidator_platform_public_key.pem\""))
            .body(key.public_key_pem.clone()),
        Some("base64") => {
            HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(key.public_key_base64.clone())
        }
        Some(_) => {
            HttpResponse::BadRequest().content_type("text/plain; charset=utf-8").body("format must be pem or base64")
        }
    }
}
