//! Business categories: the fixed list a sub-merchant chooses from, and the categories JD Pay
//! will not serve at all (seed 001: 凡涉政治类、军警器材治安类、黄赌毒及相关、非法医疗器械类、
//! 国家保护动植物类、电信欺诈非法服务类、违法违规虚拟货币类、假冒伪劣产品类等不予合作).

/// What a sub-merchant sells. Stored and sent as its stable snake_case [`code`](Self::code).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BusinessCategory {
    Retail,
    Catering,
    ECommerce,
    Education,
    Travel,
    Entertainment,
    SoftwareServices,
    Logistics,
    Healthcare,
    LifeServices,
    Transport,
    Other,
}

/// A category that is never onboarded. Applications naming one are refused with the reason, so
/// the applicant learns why instead of seeing "unknown category".
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ProhibitedCategory {
    Politics,
    MilitaryPoliceEquipment,
    GamblingDrugsPornography,
    IllegalMedicalDevices,
    ProtectedSpecies,
    TelecomFraud,
    IllegalVirtualCurrency,
    CounterfeitGoods,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum CategoryError {
    #[error("business category is prohibited: {}", .0.reason_en())]
    Prohibited(ProhibitedCategory),
    #[error("business category is not one of the allowed categories")]
    Unknown,
}

impl BusinessCategory {
    pub const ALL: [BusinessCategory; 12] = [
        Self::Retail,
        Self::Catering,
        Self::ECommerce,
        Self::Education,
        Self::Travel,
        Self::Entertainment,
        Self::SoftwareServices,
        Self::Logistics,
        Self::Healthcare,
        Self::LifeServices,
        Self::Transport,
        Self::Other,
    ];

    /// Parses a category code such as "retail" or "e_commerce", ignoring case and surrounding
    /// whitespace. A prohibited code gives [`CategoryError::Prohibited`] with its reason.
    pub fn parse(code: &str) -> Result<Self, CategoryError> {
        let code = code.trim().to_ascii_lowercase();
        if let Some(category) = Self::ALL.into_iter().find(|c| c.code() == code) {
            return Ok(category);
        }
        match ProhibitedCategory::parse(&code) {
            Some(prohibited) => Err(CategoryError::Prohibited(prohibited)),
            None => Err(CategoryError::Unknown),
        }
    }

    pub fn code(self) -> &'static str {
        self.names().0
    }

    pub fn label_zh(self) -> &'static str {
        self.names().1
    }

    pub fn label_en(self) -> &'static str {
        self.names().2
    }

    /// (code, Chinese label, English label), kept together so that a new category cannot get
    /// one without the others.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Retail => ("retail", "零售", "retail"),
            Self::Catering => ("catering", "餐饮", "catering"),
            Self::ECommerce => ("e_commerce", "电子商务", "e-commerce"),
            Self::Education => ("education", "教育培训", "education and training"),
            Self::Travel => ("travel", "旅游", "travel"),
            Self::Entertainment => ("entertainment", "休闲娱乐", "leisure and entertainment"),
            Self::SoftwareServices => ("software_services", "软件和信息技术服务", "software and IT services"),
            Self::Logistics => ("logistics", "物流快递", "logistics and delivery"),
            Self::Healthcare => ("healthcare", "医疗健康", "healthcare"),
            Self::LifeServices => ("life_services", "生活服务", "local life services"),
            Self::Transport => ("transport", "交通出行", "transport"),
            Self::Other => ("other", "其他", "other"),
        }
    }
}

impl ProhibitedCategory {
    pub const ALL: [ProhibitedCategory; 8] = [
        Self::Politics,
        Self::MilitaryPoliceEquipment,
        Self::GamblingDrugsPornography,
        Self::IllegalMedicalDevices,
        Self::ProtectedSpecies,
        Self::TelecomFraud,
        Self::IllegalVirtualCurrency,
        Self::CounterfeitGoods,
    ];

    /// The prohibited category a code names, if any. Gambling, drugs and pornography have a code
    /// each but share one category, as seed 001 groups them (黄赌毒).
    pub fn parse(code: &str) -> Option<Self> {
        let category = match code {
            "politics" => Self::Politics,
            "military_police_equipment" => Self::MilitaryPoliceEquipment,
            "gambling" | "drugs" | "pornography" => Self::GamblingDrugsPornography,
            "illegal_medical_devices" => Self::IllegalMedicalDevices,
            "protected_species" => Self::ProtectedSpecies,
            "telecom_fraud" => Self::TelecomFraud,
            "illegal_virtual_currency" => Self::IllegalVirtualCurrency,
            "counterfeit_goods" => Self::CounterfeitGoods,
            _ => return None,
        };
        Some(category)
    }

    /// The category as seed 001 words it.
    pub fn reason_zh(self) -> &'static str {
        match self {
            Self::Politics => "政治类",
            Self::MilitaryPoliceEquipment => "军警器材治安类",
            Self::GamblingDrugsPornography => "黄赌毒及相关",
            Self::IllegalMedicalDevices => "非法医疗器械类",
            Self::ProtectedSpecies => "国家保护动植物类",
            Self::TelecomFraud => "电信欺诈非法服务类",
            Self::IllegalVirtualCurrency => "违法违规虚拟货币类",
            Self::CounterfeitGoods => "假冒伪劣产品类",
        }
    }

    pub fn reason_en(self) -> &'static str {
        match self {
            Self::Politics => "politics",
            Self::MilitaryPoliceEquipment => "military, police or public security equipment",
            Self::GamblingDrugsPornography => "gambling, drugs or pornography",
            Self::IllegalMedicalDevices => "illegal medical devices",
            Self::ProtectedSpecies => "protected animals or plants",
            Self::TelecomFraud => "telecom fraud or illegal services",
            Self::IllegalVirtualCurrency => "illegal virtual currency",
            Self::CounterfeitGoods => "counterfeit or substandard goods",
        }
    }
}

serialize_as_code!(BusinessCategory => code);
