//! The operators page (admin only): list, create, change role, disable and enable.
use crate::pages::Empty;
use actix_web::{HttpResponse, web};
use askama::Template;
use domain::OperatorId;
use secrecy::SecretString;
use serde::Deserialize;
use storage::{
    database::run_blocking,
    operators::{self as operator_rows, Operator, Role, Username},
};

use super::layout::{Chrome, Section};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission, SignedIn, password::NewPassword},
    operators::{self, OperatorError},
    render,
};

#[derive(Template)]
#[template(path = "operators.html")]
struct OperatorsPage {
    chrome: Chrome,
    operators: Vec<OperatorRow>,
    roles: [Role; 4],
    notice: Option<String>,
}

struct OperatorRow {
    id: OperatorId,
    username: String,
    role: Role,
    active: bool,
    created_at: String,
}

impl From<Operator> for OperatorRow {
    fn from(operator: Operator) -> Self {
        OperatorRow {
            id: operator.id,
            active: operator.is_active(),
            username: operator.username,
            role: operator.role,
            created_at: crate::view::china_time(operator.created_at),
        }
    }
}

#[derive(Deserialize)]
pub struct Notice {
    notice: Option<String>,
}

pub async fn list(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    query: web::Query<Notice>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Administer)?;
    let operators = run_blocking(&state.pool, |conn| Ok::<_, ConsoleError>(operator_rows::list(conn)?)).await?;
    render::page(&OperatorsPage {
        chrome: Chrome::new(&session, Section::Operators),
        operators: operators.into_iter().map(OperatorRow::from).collect(),
        roles: Role::ALL,
        notice: query.into_inner().notice.filter(|notice| notice.len() <= 200),
    })
}

#[derive(Deserialize)]
pub struct CreateForm {
    username: String,
    password: SecretString,
    role: String,
}

fn parse_role(text: &str) -> Result<Role, ConsoleError> {
    Role::parse(text).ok_or_else(|| ConsoleError::BadRequest(format!("unknown role {text:?}")))
}

impl From<OperatorError> for ConsoleError {
    fn from(error: OperatorError) -> Self {
        match error {
            OperatorError::Storage(error) => ConsoleError::Storage(error),
            OperatorError::NotFound => ConsoleError::NotFound,
            other => ConsoleError::BadRequest(other.to_string()),
        }
    }
}

pub async fn create(
    posted: ConsoleForm<CreateForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::Administer)?;
    let username = Username::parse(&form.username).map_err(|error| ConsoleError::BadRequest(error.to_string()))?;
    let role = parse_role(&form.role)?;
    let password = NewPassword::parse(form.password).map_err(|error| ConsoleError::BadRequest(error.to_string()))?;
    let password_hash = actix_web::rt::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|error| ConsoleError::Internal(error.to_string()))?
        .map_err(|error| ConsoleError::Internal(error.to_string()))?;
    let actor = session.actor();
    run_blocking(&state.pool, move |conn| {
        Ok::<_, ConsoleError>(operators::create(conn, &actor, &username, role, &password_hash)?)
    })
    .await?;
    Ok(render::see_other("/admin/operators?notice=created"))
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn change_role(
    id: web::Path<OperatorId>,
    posted: ConsoleForm<RoleForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::Administer)?;
    let role = parse_role(&form.role)?;
    let (actor, id) = (session.actor(), id.into_inner());
    run_blocking(&state.pool, move |conn| Ok::<_, ConsoleError>(operators::change_role(conn, &actor, id, role)?))
        .await?;
    Ok(render::see_other("/admin/operators?notice=role_changed"))
}

pub async fn disable(
    id: web::Path<OperatorId>,
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    set_disabled(id.into_inner(), posted.session, state, true).await
}

pub async fn enable(
    id: web::Path<OperatorId>,
    posted: ConsoleForm<Empty>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    set_disabled(id.into_inner(), posted.session, state, false).await
}

async fn set_disabled(
    id: OperatorId,
    session: SignedIn,
    state: web::Data<ConsoleState>,
    disabled: bool,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Administer)?;
    let actor = session.actor();
    run_blocking(&state.pool, move |conn| Ok::<_, ConsoleError>(operators::set_disabled(conn, &actor, id, disabled)?))
        .await?;
    Ok(render::see_other(if disabled { "/admin/operators?notice=disabled" } else { "/admin/operators?notice=enabled" }))
}
