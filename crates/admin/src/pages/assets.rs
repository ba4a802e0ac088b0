//! The console's static files, compiled into the binary so it runs from any directory.
use actix_web::{HttpResponse, http::header, web};

const FILES: &[(&str, &str, &str)] =
    &[("console.css", "text/css; charset=utf-8", include_str!("../../../../web/static/console.css"))];

pub async fn serve(file: web::Path<String>) -> HttpResponse {
    match FILES.iter().find(|(name, _, _)| *name == file.as_str()) {
        Some((_, content_type, body)) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, *content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(*body),
        None => HttpResponse::NotFound().finish(),
    }
}
