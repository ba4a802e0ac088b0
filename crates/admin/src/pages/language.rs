//! The language switch: a cookie, then back to the page the operator was on.
use actix_web::{HttpRequest, HttpResponse, cookie::Cookie, web};

use crate::i18n::{LANG_COOKIE, Lang};

pub async fn switch(request: HttpRequest, lang: web::Path<String>) -> HttpResponse {
    let lang = Lang::parse(&lang).unwrap_or(Lang::Zh);
    // Only return to console pages, never to another site named in a forged Referer.
    let back = request
        .headers()
        .get("Referer")
        .and_then(|value| value.to_str().ok())
        .and_then(|referer| referer.find("/admin").map(|start| referer[start..].to_string()))
        .filter(|path| !path.starts_with("/admin/lang") && !path.contains("//"))
        .unwrap_or_else(|| "/admin".into());
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    HttpResponse::SeeOther().insert_header(("Location", back)).cookie(cookie).finish()
}
