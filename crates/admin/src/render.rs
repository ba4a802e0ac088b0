//! Renders an askama template into a response.
use actix_web::{HttpResponse, http::StatusCode};
use askama::Template;

use crate::ConsoleError;

pub fn page<T: Template>(template: &T) -> Result<HttpResponse, ConsoleError> {
    page_with_status(template, StatusCode::OK)
}

pub fn page_with_status<T: Template>(template: &T, status: StatusCode) -> Result<HttpResponse, ConsoleError> {
    let body = template.render().map_err(|error| ConsoleError::Internal(error.to_string()))?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

/// After a successful POST: back to a page with a GET (post/redirect/get).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", location)).finish()
}
