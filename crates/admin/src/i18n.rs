//! Console labels in Chinese (the default) and English. A missing label is a compile error, not a
//! blank on screen: each language is one value of the same struct.
use actix_web::HttpRequest;

mod ledger_labels;
mod merchant_labels;
mod order_labels;
mod payout_labels;
mod reconciliation_labels;
mod upstream_labels;
pub use ledger_labels::LedgerLabels;
pub use merchant_labels::MerchantLabels;
pub use order_labels::OrderLabels;
pub use payout_labels::PayoutLabels;
pub use reconciliation_labels::ReconciliationLabels;
pub use upstream_labels::UpstreamLabels;

pub const LANG_COOKIE: &str = "liq_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language chosen with the switch, else Chinese.
    pub fn of(request: &HttpRequest) -> Lang {
        request.cookie(LANG_COOKIE).and_then(|cookie| Lang::parse(cookie.value())).unwrap_or(Lang::Zh)
    }

    pub fn labels(self) -> &'static Labels {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

pub struct Labels {
    pub product: &'static str,
    pub switch_language: &'static str,
    pub dashboard: &'static str,
    pub operators: &'static str,
    pub audit_log: &'static str,
    pub merchants: &'static str,
    pub rate_plans: &'static str,
    pub settings: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub role: &'static str,
    pub status: &'static str,
    pub created_at: &'static str,
    pub actions: &'static str,
    pub active: &'static str,
    pub disabled: &'static str,
    pub disable: &'static str,
    pub enable: &'static str,
    pub change_role: &'static str,
    pub create_operator: &'static str,
    pub create: &'static str,
    pub search: &'static str,
    pub next_page: &'static str,
    pub first_page: &'static str,
    pub time: &'static str,
    pub actor: &'static str,
    pub action: &'static str,
    pub target: &'static str,
    pub before: &'static str,
    pub after: &'static str,
    pub client_ip: &'static str,
    pub no_rows: &'static str,
    pub system_health: &'static str,
    pub database: &'static str,
    pub redis: &'static str,
    pub up: &'static str,
    pub down: &'static str,
    pub jobs_pending: &'static str,
    pub jobs_failed: &'static str,
    pub active_operators: &'static str,
    pub recent_activity: &'static str,
    pub signed_in_as: &'static str,
    pub role_viewer: &'static str,
    pub role_operator: &'static str,
    pub role_finance: &'static str,
    pub role_admin: &'static str,
    pub invalid_credentials: &'static str,
    pub too_many_attempts: &'static str,
    pub error: &'static str,
    pub back: &'static str,
    pub password_hint: &'static str,
    /// The sub-merchant pages.
    pub merchant: &'static MerchantLabels,
    /// The order pages.
    pub order: &'static OrderLabels,
    pub payouts: &'static str,
    /// The ledger pages.
    pub ledger: &'static LedgerLabels,
}

pub static ZH: Labels = Labels {
    product: "清算平台",
    switch_language: "English",
    dashboard: "概览",
    operators: "操作员",
    audit_log: "审计日志",
    merchants: "商户",
    rate_plans: "费率模板",
    settings: "设置",
    sign_in: "登录",
    sign_out: "退出",
    username: "用户名",
    password: "密码",
    role: "角色",
    status: "状态",
    created_at: "创建时间",
    actions: "操作",
    active: "启用",
    disabled: "已停用",
    disable: "停用",
    enable: "启用",
    change_role: "修改角色",
    create_operator: "新建操作员",
    create: "创建",
    search: "查询",
    next_page: "下一页",
    first_page: "第一页",
    time: "时间 (UTC+8)",
    actor: "操作人",
    action: "动作",
    target: "对象",
    before: "变更前",
    after: "变更后",
    client_ip: "来源地址",
    no_rows: "暂无记录",
    system_health: "系统状态",
    database: "数据库",
    redis: "Redis",
    up: "正常",
    down: "不可用",
    jobs_pending: "待处理任务",
    jobs_failed: "失败任务",
    active_operators: "启用的操作员",
    recent_activity: "最近操作",
    signed_in_as: "当前用户",
    role_viewer: "只读",
    role_operator: "运营",
    role_finance: "财务",
    role_admin: "管理员",
    invalid_credentials: "用户名或密码错误",
    too_many_attempts: "登录失败次数过多,请稍后再试",
    error: "出错了",
    back: "返回",
    password_hint: "至少 12 个字符",
    merchant: &merchant_labels::ZH,
    order: &order_labels::ZH,
    payouts: "代付",
    ledger: &ledger_labels::ZH,
};

pub static EN: Labels = Labels {
    product: "Liquidator",
    switch_language: "中文",
    dashboard: "Dashboard",
    operators: "Operators",
    audit_log: "Audit log",
    merchants: "Merchants",
    rate_plans: "Rate plans",
    settings: "Settings",
    sign_in: "Sign in",
    sign_out: "Sign out",
    username: "Username",
    password: "Password",
    role: "Role",
    status: "Status",
    created_at: "Created",
    actions: "Actions",
    active: "Active",
    disabled: "Disabled",
    disable: "Disable",
    enable: "Enable",
    change_role: "Change role",
    create_operator: "New operator",
    create: "Create",
    search: "Search",
    next_page: "Next page",
    first_page: "First page",
    time: "Time (UTC+8)",
    actor: "Actor",
    action: "Action",
    target: "Target",
    before: "Before",
    after: "After",
    client_ip: "Client address",
    no_rows: "Nothing here yet",
    system_health: "System health",
    database: "Database",
    redis: "Redis",
    up: "Up",
    down: "Down",
    jobs_pending: "Jobs pending",
    jobs_failed: "Jobs failed",
    active_operators: "Active operators",
    recent_activity: "Recent activity",
    signed_in_as: "Signed in as",
    role_viewer: "Viewer",
    role_operator: "Operator",
    role_finance: "Finance",
    role_admin: "Admin",
    invalid_credentials: "Wrong username or password",
    too_many_attempts: "Too many failed sign-ins; try again later",
    error: "Something went wrong",
    back: "Back",
    password_hint: "at least 12 characters",
    merchant: &merchant_labels::EN,
    order: &order_labels::EN,
    payouts: "Payouts",
    ledger: &ledger_labels::EN,
};

impl Labels {
    pub fn role(&self, role: impl std::borrow::Borrow<storage::operators::Role>) -> &'static str {
        use storage::operators::Role;
        match role.borrow() {
            Role::Viewer => self.role_viewer,
            Role::Operator => self.role_operator,
            Role::Finance => self.role_finance,
            Role::Admin => self.role_admin,
        }
    }
}
