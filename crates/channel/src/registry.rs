//! The channels of a deployment by name, built once at start-up and shared by the HTTP server,
//! the workers and the console, so every part talks to the same instance of each channel.
use std::{collections::BTreeMap, sync::Arc};

use crate::{PayIn, PayOut, fshows::Fshows, sandbox::Sandbox};

/// One channel as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    pub name: &'static str,
    pub pays_in: bool,
    pub pays_out: bool,
    /// New payouts go through it.
    pub takes_new_payouts: bool,
    /// Payments of merchants without a channel of their own go through it.
    pub takes_new_payments: bool,
    pub settings: Vec<(&'static str, String)>,
}

#[derive(Clone, Default)]
pub struct Registry {
    pay_in: BTreeMap<&'static str, Arc<dyn PayIn>>,
    pay_out: BTreeMap<&'static str, Arc<dyn PayOut>>,
    /// The channel payouts go through; the first pay-out channel registered.
    payouts_through: Option<&'static str>,
    /// Upstreams that keep merchants and orders of their own (fshows), by name.
    upstreams: BTreeMap<&'static str, Arc<Fshows>>,
    /// The channel that takes payments of merchants without one of their own; the first pay-in
    /// channel registered.
    payments_through: Option<&'static str>,
}

impl Registry {
    /// A registry of the built-in sandbox alone, for both capabilities.
    pub fn with_sandbox(sandbox: Arc<Sandbox>) -> Registry {
        let mut registry = Registry::default();
        registry.add_pay_in(sandbox.clone());
        registry.add_pay_out(sandbox);
        registry
    }

    pub fn add_pay_in(&mut self, channel: Arc<dyn PayIn>) {
        let name = channel.name();
        self.payments_through.get_or_insert(name);
        self.pay_in.insert(name, channel);
    }

    /// Adds an upstream that takes payments and pays out, with merchants and orders of its own.
    pub fn add_upstream(&mut self, upstream: Arc<Fshows>) {
        self.add_pay_in(upstream.clone());
        self.add_pay_out(upstream.clone());
        self.upstreams.insert(crate::fshows::NAME, upstream);
    }

    /// The upstream of this name, if it is one that keeps merchants and orders.
    pub fn upstream(&self, name: &str) -> Option<Arc<Fshows>> {
        self.upstreams.get(name).cloned()
    }

    /// The names of the upstreams that keep merchants and orders.
    pub fn upstream_names(&self) -> Vec<&'static str> {
        self.upstreams.keys().copied().collect()
    }

    /// The channel that takes payments of merchants without one of their own.
    pub fn payments_default(&self) -> &'static str {
        self.payments_through.unwrap_or(crate::sandbox::NAME)
    }

    /// Sends the payments of merchants without a channel of their own through the pay-in channel
    /// of this name; false if there is none.
    pub fn pay_in_through(&mut self, name: &str) -> bool {
        match self.pay_in.get_key_value(name) {
            Some((name, _)) => {
                self.payments_through = Some(name);
                true
            }
            None => false,
        }
    }

    pub fn add_pay_out(&mut self, channel: Arc<dyn PayOut>) {
        let name = channel.name();
        self.payouts_through.get_or_insert(name);
        self.pay_out.insert(name, channel);
    }

    /// The channel whose callbacks arrive at `/channel/{name}/notify`.
    pub fn pay_in(&self, name: &str) -> Option<Arc<dyn PayIn>> {
        self.pay_in.get(name).cloned()
    }

    /// Every channel that pays out, by name.
    pub fn pay_outs(&self) -> impl Iterator<Item = Arc<dyn PayOut>> + '_ {
        self.pay_out.values().cloned()
    }

    /// Every channel that takes payments in, by name.
    pub fn pay_ins(&self) -> impl Iterator<Item = Arc<dyn PayIn>> + '_ {
        self.pay_in.values().cloned()
    }

    /// The channel new payouts go through, if the deployment has one.
    pub fn payouts(&self) -> Option<Arc<dyn PayOut>> {
        self.payouts_through.and_then(|name| self.pay_out.get(name).cloned())
    }

    /// The pay-out channel of this name (the one a payout was made for).
    pub fn pay_out(&self, name: &str) -> Option<Arc<dyn PayOut>> {
        self.pay_out.get(name).cloned()
    }

    /// Every channel, what it offers and its settings (secrets masked), by name.
    pub fn describe(&self) -> Vec<ChannelView> {
        let names: std::collections::BTreeSet<&'static str> =
            self.pay_in.keys().chain(self.pay_out.keys()).copied().collect();
        names
            .into_iter()
            .map(|name| ChannelView {
                name,
                pays_in: self.pay_in.contains_key(name),
                pays_out: self.pay_out.contains_key(name),
                takes_new_payouts: self.payouts_through == Some(name),
                takes_new_payments: self.payments_through == Some(name),
                settings: self.pay_out.get(name).map(|channel| channel.settings()).unwrap_or_default(),
            })
            .collect()
    }

    /// Every outside upstream's health, to add its counts to the deployment's.
    pub fn healths(&self) -> impl Iterator<Item = &crate::health::Health> + '_ {
        self.pay_out.values().filter_map(|channel| channel.health())
    }

    /// How every outside upstream of the deployment has been answering, method by method.
    pub fn health(&self) -> Vec<crate::health::MethodReport> {
        self.pay_out.values().filter_map(|channel| channel.health()).flat_map(|health| health.report()).collect()
    }

    /// Sends new payouts through the pay-out channel of this name; false if there is none.
    pub fn pay_out_through(&mut self, name: &str) -> bool {
        match self.pay_out.get_key_value(name) {
            Some((name, _)) => {
                self.payouts_through = Some(name);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::SandboxRules;

    #[test]
    fn one_sandbox_serves_both_capabilities_by_name() {
        let registry = Registry::with_sandbox(Arc::new(Sandbox::new(SandboxRules::default(), b"secret")));
        assert_eq!(registry.pay_in("sandbox").map(|channel| channel.name()), Some("sandbox"));
        assert!(registry.pay_in("fshows").is_none());
        assert_eq!(registry.payouts().map(|channel| channel.name()), Some("sandbox"));
        assert!(Registry::default().payouts().is_none());
        let views = registry.describe();
        assert_eq!(views.len(), 1);
        assert!(views[0].pays_in && views[0].pays_out && views[0].takes_new_payouts);
    }
}
