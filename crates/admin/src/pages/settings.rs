//! The settings page: the platform's public key for download (SPEC §4), and the deployment's
//! channels with their settings (from the configuration file; secrets are never shown), as shown
//! to every role.
use actix_web::{HttpResponse, web};
use askama::Template;

use super::layout::{Chrome, Section};
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    i18n::MerchantLabels,
    render,
};

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    m: &'static MerchantLabels,
    public_key_pem: String,
    channels: Vec<channel::ChannelView>,
}

pub async fn show(session: SignedIn, state: web::Data<ConsoleState>) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    render::page(&SettingsPage {
        chrome: Chrome::new(&session, Section::Settings),
        m: session.lang.labels().merchant,
        public_key_pem: state.platform_public_key_pem.to_string(),
        channels: state.channels.describe(),
    })
}
