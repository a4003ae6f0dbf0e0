use super::{Batch, Stage, StageContext, StageError};

/// Spending category from the merchant category code, with a merchant-name fallback for
/// the generic codes that say little on their own.
pub fn category_for(mcc: u16, merchant: &str) -> &'static str {
    let by_code = match mcc {
        3000..=3350 | 4511 | 4582 => "travel_airline",
        3351..=3500 | 7512 | 7513 | 7519 => "travel_car_rental",
        3501..=3999 | 7011 | 7012 => "travel_lodging",
        4111 | 4112 | 4121 | 4131 | 4784 | 4789 => "transport",
        4812 | 4814 | 4816 | 4899 => "telecom",
        4829 | 6012 | 6051 | 6540 => "money_transfer",
        4900 => "utilities",
        5200..=5299 | 5712 | 5713 | 5714 | 5719 | 5722 => "home",
        5300 | 5310 | 5311 | 5331 | 5399 => "general_merchandise",
        5411 | 5422 | 5441 | 5451 | 5462 | 5499 => "groceries",
        5541 | 5542 => "fuel",
        5511..=5599 => "automotive",
        5600..=5699 => "clothing",
        5732..=5735 | 5045 => "electronics",
        5811..=5814 => "dining",
        5912 | 8011..=8099 => "health",
        5921 => "alcohol",
        5942 | 5943 | 5945 | 5947 | 5999 | 5964 | 5965 | 5966 | 5967 | 5968 | 5969 => "shopping",
        6010 | 6011 => "cash",
        6211 | 6300 => "financial_services",
        7995 => "gambling",
        7832 | 7841 | 7911..=7999 => "entertainment",
        8211..=8299 => "education",
        9211..=9399 => "government",
        _ => "",
    };
    if !by_code.is_empty() {
        return by_code;
    }
    let m = merchant.to_ascii_lowercase();
    const KEYWORDS: [(&str, &str); 8] = [
        ("uber", "transport"),
        ("taxi", "transport"),
        ("netflix", "entertainment"),
        ("spotify", "entertainment"),
        ("amazon", "shopping"),
        ("market", "groceries"),
        ("cafe", "dining"),
        ("pharma", "health"),
    ];
    KEYWORDS
        .iter()
        .find(|(k, _)| m.contains(k))
        .map(|(_, c)| *c)
        .unwrap_or("other")
}

/// categorise: MCC and merchant to a spending category.
pub struct Categorise;

impl Stage for Categorise {
    fn name(&self) -> &'static str {
        "categorise"
    }

    fn execute(&mut self, batch: &mut Batch, _ctx: &mut StageContext) -> Result<(), StageError> {
        for r in &mut batch.records {
            r.category = category_for(r.txn.mcc.code(), &r.txn.merchant);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::category_for;

    #[test]
    fn codes_and_fallbacks() {
        assert_eq!(category_for(5411, "Aldi"), "groceries");
        assert_eq!(category_for(5541, "Shell"), "fuel");
        assert_eq!(category_for(7995, "Casino"), "gambling");
        assert_eq!(category_for(6011, "ATM"), "cash");
        assert_eq!(category_for(4829, "Wise"), "money_transfer");
        assert_eq!(category_for(7299, "Uber BV"), "transport");
        assert_eq!(category_for(7299, "Acme"), "other");
    }
}
