//! Sign-in and sign-out.
use crate::pages::Empty;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::Utc;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use storage::{
    audit::{self, Actor, NewEntry},
    database::run_blocking,
    operators::{self, Operator, Username},
};

use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, csrf, password, session, signed_in::client_ip, throttle::Throttle},
    i18n::{Labels, Lang},
    render,
};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'static Labels,
    lang: Lang,
    csrf_token: &'a str,
    next: &'a str,
    username: &'a str,
    error: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Only console paths are valid places to return to after sign-in (no open redirect), and only
/// as text a `Location` header can carry: visible ASCII, no space or control character (a
/// browser sends anything else percent-encoded), so no header can be injected or fail to build.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|next| {
        next.starts_with("/admin")
            && !next.starts_with("/admin/login")
            && !next.contains("//")
            && !next.contains('\\')
            && next.bytes().all(|byte| byte.is_ascii_graphic())
    })
    .unwrap_or("/admin")
}

pub async fn form(
    request: HttpRequest,
    query: web::Query<LoginQuery>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let lang = Lang::of(&request);
    let token = csrf::new_token();
    let page = LoginPage {
        t: lang.labels(),
        lang,
        csrf_token: &token,
        next: safe_next(query.next.as_deref()),
        username: "",
        error: None,
    };
    let mut response = render::page(&page)?;
    response
        .add_cookie(&csrf::login_cookie(token.clone(), state.secure_cookies))
        .map_err(|error| ConsoleError::Internal(error.to_string()))?;
    Ok(response)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: SecretString,
    csrf_token: String,
    next: Option<String>,
}

pub async fn submit(
    request: HttpRequest,
    form: web::Form<LoginForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let form = form.into_inner();
    let cookie_token =
        request.cookie(csrf::LOGIN_CSRF_COOKIE).map(|cookie| cookie.value().to_string()).unwrap_or_default();
    if !csrf::matches(&cookie_token, &form.csrf_token) {
        return Err(ConsoleError::CsrfRejected);
    }
    let lang = Lang::of(&request);
    let ip = client_ip(&request);
    let username = form.username.trim().to_ascii_lowercase();
    let throttle = Throttle { pool: &state.pool, cache: &state.cache, settings: state.throttle };
    let rejected = |status: StatusCode, error: &'static str| {
        let page = LoginPage {
            t: lang.labels(),
            lang,
            csrf_token: &cookie_token,
            next: safe_next(form.next.as_deref()),
            username: &username,
            error: Some(error),
        };
        render::page_with_status(&page, status)
    };

    if throttle.is_locked(&username, &ip).await? {
        return rejected(StatusCode::TOO_MANY_REQUESTS, lang.labels().too_many_attempts);
    }
    let operator = match Username::parse(&username) {
        Ok(name) => find_operator(&state, name).await?,
        Err(_) => None,
    };
    let verified = verify_password(form.password, operator.clone()).await?;
    let Some(operator) = operator.filter(|operator| verified && operator.is_active()) else {
        throttle.record(&username, &ip, false).await?;
        return rejected(StatusCode::UNAUTHORIZED, lang.labels().invalid_credentials);
    };
    // The session and the whole response first: a sign-in is recorded (attempt and audit) only
    // once there is a session to hand over.
    let now = u64::try_from(Utc::now().timestamp()).unwrap_or_default();
    let (token, _) = state
        .sessions
        .issue(operator.id, operator.session_epoch, now)
        .map_err(|error| ConsoleError::Internal(error.to_string()))?;
    let mut spent_login_token = csrf::login_cookie(String::new(), state.secure_cookies);
    spent_login_token.make_removal();
    let response = HttpResponse::SeeOther()
        .insert_header(("Location", safe_next(form.next.as_deref())))
        .cookie(state.sessions.cookie(token, state.secure_cookies))
        .cookie(spent_login_token)
        .finish();
    throttle.record(&username, &ip, true).await?;
    let actor = Actor { operator_id: Some(operator.id), name: operator.username.clone(), client_ip: Some(ip) };
    run_blocking(&state.pool, move |conn| {
        audit::record(
            conn,
            &actor,
            NewEntry {
                action: "session.sign_in",
                target: format!("operator:{}", actor.name),
                before: None,
                after: None,
            },
        )?;
        Ok::<_, ConsoleError>(())
    })
    .await?;
    Ok(response)
}

async fn find_operator(state: &ConsoleState, username: Username) -> Result<Option<Operator>, ConsoleError> {
    run_blocking(&state.pool, move |conn| Ok::<_, ConsoleError>(operators::find_by_username(conn, username.as_str())?))
        .await
}

/// argon2 is deliberately slow: run it off the async threads.
async fn verify_password(candidate: SecretString, operator: Option<Operator>) -> Result<bool, ConsoleError> {
    actix_web::rt::task::spawn_blocking(move || {
        password::verify(&candidate, operator.as_ref().map(|o| o.password_hash.as_str()))
    })
    .await
    .map_err(|error| ConsoleError::Internal(error.to_string()))
}

/// Signs out everywhere: the cookie goes, and the epoch bump revokes any copy of the token.
pub async fn logout(form: ConsoleForm<Empty>, state: web::Data<ConsoleState>) -> Result<HttpResponse, ConsoleError> {
    let session = form.session;
    let actor = session.actor();
    let id = session.operator.id;
    run_blocking(&state.pool, move |conn| {
        storage::database::transaction(conn, |conn| {
            operators::bump_session_epoch(conn, id)?;
            audit::record(
                conn,
                &actor,
                NewEntry {
                    action: "session.sign_out",
                    target: format!("operator:{}", actor.name),
                    before: None,
                    after: Some(json!({})),
                },
            )?;
            Ok::<_, ConsoleError>(())
        })
    })
    .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/admin/login"))
        .cookie(session::removal_cookie(state.secure_cookies))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_console_paths_are_returned_to() {
        assert_eq!(safe_next(Some("/admin/operators")), "/admin/operators");
        assert_eq!(safe_next(Some("https://evil.example/admin")), "/admin");
        assert_eq!(safe_next(Some("//evil.example")), "/admin");
        assert_eq!(safe_next(Some("/admin//evil.example")), "/admin");
        assert_eq!(safe_next(Some("/admin/login")), "/admin");
        assert_eq!(safe_next(None), "/admin");
        assert_eq!(safe_next(Some("/admin\nX-Injected: 1")), "/admin");
        assert_eq!(safe_next(Some("/admin/orders?q=a b")), "/admin");
        assert_eq!(safe_next(Some("/admin/订单")), "/admin");
        assert_eq!(safe_next(Some("/admin/orders?merchant=%E7%A4%BA")), "/admin/orders?merchant=%E7%A4%BA");
    }
}
