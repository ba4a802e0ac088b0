//! Labels of a merchant's payments panel: the channel that takes its payments, and its
//! registration at an upstream.
use domain::upstream::RegistrationState;

pub struct UpstreamLabels {
    pub payments: &'static str,
    pub pay_in_channel: &'static str,
    pub own_channel: &'static str,
    pub platform_channel: &'static str,
    pub save_channel: &'static str,
    pub unknown_channel: &'static str,
    pub registration: &'static str,
    pub not_registered: &'static str,
    pub upstream_id: &'static str,
    pub detail: &'static str,
    pub attempts: &'static str,
    pub next_attempt: &'static str,
    pub ask_again: &'static str,
    pub notice_channel: &'static str,
    pub notice_asked: &'static str,
    pub nothing_to_ask: &'static str,
    states: [&'static str; 6],
}

impl UpstreamLabels {
    pub fn of(lang: super::Lang) -> &'static UpstreamLabels {
        match lang {
            super::Lang::Zh => &ZH,
            super::Lang::En => &EN,
        }
    }

    pub fn state(&self, state: RegistrationState) -> &'static str {
        let index = RegistrationState::ALL.iter().position(|known| *known == state).unwrap_or(0);
        self.states[index]
    }
}

// In the order of `RegistrationState::ALL`.
const _: () = assert!(RegistrationState::ALL.len() == 6);

static ZH: UpstreamLabels = UpstreamLabels {
    payments: "收款通道",
    pay_in_channel: "收款通道",
    own_channel: "商户自有设置",
    platform_channel: "平台默认",
    save_channel: "保存收款通道",
    unknown_channel: "没有这个收款通道",
    registration: "上游进件",
    not_registered: "未在上游进件",
    upstream_id: "上游商户号",
    detail: "上游答复",
    attempts: "重试次数",
    next_attempt: "下次询问",
    ask_again: "立即再次询问",
    notice_channel: "收款通道已保存。",
    notice_asked: "将立即再次询问上游。",
    nothing_to_ask: "没有需要询问上游的进件。",
    states: ["提交中", "上游审核中", "绑定结算卡", "设置费率", "已就绪", "上游拒绝"],
};

static EN: UpstreamLabels = UpstreamLabels {
    payments: "Payments channel",
    pay_in_channel: "Payments channel",
    own_channel: "set for this merchant",
    platform_channel: "platform default",
    save_channel: "Save payments channel",
    unknown_channel: "No such payments channel",
    registration: "Registration upstream",
    not_registered: "Not registered upstream",
    upstream_id: "Upstream merchant id",
    detail: "Upstream's last word",
    attempts: "Attempts",
    next_attempt: "Next question",
    ask_again: "Ask again now",
    notice_channel: "Payments channel saved.",
    notice_asked: "The upstream will be asked again now.",
    nothing_to_ask: "There is no registration to ask the upstream about.",
    states: ["Applying", "In review upstream", "Binding account", "Setting rates", "Ready", "Refused upstream"],
};
