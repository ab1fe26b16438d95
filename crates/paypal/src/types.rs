//! PayPal's resources, read strictly: amounts through `money`, unknown statuses kept as such.

use crate::PaypalError;
use chrono::{DateTime, Utc};
use money::{Currency, Money};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Created,
    Saved,
    Approved,
    Voided,
    Completed,
    PayerActionRequired,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizationStatus {
    Created,
    Captured,
    Denied,
    PartiallyCaptured,
    Voided,
    Pending,
    Expired,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaptureStatus {
    Completed,
    Declined,
    PartiallyRefunded,
    Pending,
    Refunded,
    Failed,
    #[serde(other)]
    Unknown,
}

impl OrderStatus {
    /// PayPal's own word for the status (`PAYER_ACTION_REQUIRED`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::Created => "CREATED",
            OrderStatus::Saved => "SAVED",
            OrderStatus::Approved => "APPROVED",
            OrderStatus::Voided => "VOIDED",
            OrderStatus::Completed => "COMPLETED",
            OrderStatus::PayerActionRequired => "PAYER_ACTION_REQUIRED",
            OrderStatus::Unknown => "UNKNOWN",
        }
    }
}

impl AuthorizationStatus {
    /// PayPal's own word for the status (`PARTIALLY_CAPTURED`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthorizationStatus::Created => "CREATED",
            AuthorizationStatus::Captured => "CAPTURED",
            AuthorizationStatus::Denied => "DENIED",
            AuthorizationStatus::PartiallyCaptured => "PARTIALLY_CAPTURED",
            AuthorizationStatus::Voided => "VOIDED",
            AuthorizationStatus::Pending => "PENDING",
            AuthorizationStatus::Expired => "EXPIRED",
            AuthorizationStatus::Unknown => "UNKNOWN",
        }
    }
}

impl CaptureStatus {
    /// PayPal's own word for the status (`PARTIALLY_REFUNDED`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            CaptureStatus::Completed => "COMPLETED",
            CaptureStatus::Declined => "DECLINED",
            CaptureStatus::PartiallyRefunded => "PARTIALLY_REFUNDED",
            CaptureStatus::Pending => "PENDING",
            CaptureStatus::Refunded => "REFUNDED",
            CaptureStatus::Failed => "FAILED",
            CaptureStatus::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub id: String,
    pub status: CaptureStatus,
    /// `status_details.reason` (e.g. `PENDING_REVIEW`, `DECLINED_BY_RISK_FRAUD_FILTERS`).
    pub status_reason: Option<String>,
    pub amount: Money,
    pub final_capture: bool,
    pub invoice_id: Option<String>,
    pub custom_id: Option<String>,
    pub order_id: Option<String>,
    pub authorization_id: Option<String>,
    pub paypal_fee: Option<Money>,
    pub net_amount: Option<Money>,
    pub create_time: Option<DateTime<Utc>>,
    pub update_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub id: String,
    pub status: AuthorizationStatus,
    pub amount: Money,
    pub invoice_id: Option<String>,
    pub order_id: Option<String>,
    pub expiration_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseUnit {
    pub reference_id: Option<String>,
    pub invoice_id: Option<String>,
    pub amount: Money,
    pub captures: Vec<Capture>,
    pub authorizations: Vec<Authorization>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    pub intent: String,
    pub status: OrderStatus,
    pub purchase_units: Vec<PurchaseUnit>,
}

impl Order {
    /// Every capture of the order, across purchase units.
    pub fn captures(&self) -> impl Iterator<Item = &Capture> {
        self.purchase_units.iter().flat_map(|u| u.captures.iter())
    }
    pub fn authorizations(&self) -> impl Iterator<Item = &Authorization> {
        self.purchase_units.iter().flat_map(|u| u.authorizations.iter())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    pub status: String,
    pub amount: Money,
}

/// The body of an authorization capture.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthorizationCaptureRequest {
    /// `None`: the full authorized amount.
    pub amount: Option<Money>,
    pub invoice_id: Option<String>,
    pub final_capture: bool,
}

// ----------------------------------------------------------------------------------------------
// Wire shapes

#[derive(Deserialize)]
pub(crate) struct AmountWire {
    currency_code: String,
    value: String,
}

impl AmountWire {
    fn money(&self, what: &str) -> Result<Money, PaypalError> {
        let invalid = |e: String| PaypalError::InvalidResponse { detail: format!("{what}: {e}") };
        let cur = Currency::from_code(&self.currency_code).map_err(|e| invalid(e.to_string()))?;
        Money::parse_paypal(&self.value, cur).map_err(|e| invalid(e.to_string()))
    }
}

#[derive(Deserialize, Default)]
struct RelatedIds {
    order_id: Option<String>,
    authorization_id: Option<String>,
}

#[derive(Deserialize, Default)]
struct Supplementary {
    #[serde(default)]
    related_ids: RelatedIds,
}

#[derive(Deserialize)]
struct StatusDetails {
    reason: Option<String>,
}

#[derive(Deserialize)]
struct Breakdown {
    paypal_fee: Option<AmountWire>,
    net_amount: Option<AmountWire>,
}

#[derive(Deserialize)]
pub(crate) struct CaptureWire {
    id: String,
    status: CaptureStatus,
    status_details: Option<StatusDetails>,
    amount: AmountWire,
    #[serde(default)]
    final_capture: bool,
    invoice_id: Option<String>,
    custom_id: Option<String>,
    #[serde(default)]
    supplementary_data: Supplementary,
    seller_receivable_breakdown: Option<Breakdown>,
    create_time: Option<DateTime<Utc>>,
    update_time: Option<DateTime<Utc>>,
}

impl CaptureWire {
    pub(crate) fn typed(self) -> Result<Capture, PaypalError> {
        let what = format!("capture {}", self.id);
        let amount = self.amount.money(&what)?;
        let fee = self
            .seller_receivable_breakdown
            .as_ref()
            .and_then(|b| b.paypal_fee.as_ref())
            .map(|a| a.money(&what))
            .transpose()?;
        let net = self
            .seller_receivable_breakdown
            .as_ref()
            .and_then(|b| b.net_amount.as_ref())
            .map(|a| a.money(&what))
            .transpose()?;
        non_empty(&self.id, "capture id")?;
        Ok(Capture {
            id: self.id,
            status: self.status,
            status_reason: self.status_details.and_then(|d| d.reason),
            amount,
            final_capture: self.final_capture,
            invoice_id: self.invoice_id,
            custom_id: self.custom_id,
            order_id: self.supplementary_data.related_ids.order_id,
            authorization_id: self.supplementary_data.related_ids.authorization_id,
            paypal_fee: fee,
            net_amount: net,
            create_time: self.create_time,
            update_time: self.update_time,
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct AuthorizationWire {
    id: String,
    status: AuthorizationStatus,
    amount: AmountWire,
    invoice_id: Option<String>,
    #[serde(default)]
    supplementary_data: Supplementary,
    expiration_time: Option<DateTime<Utc>>,
}

impl AuthorizationWire {
    pub(crate) fn typed(self) -> Result<Authorization, PaypalError> {
        non_empty(&self.id, "authorization id")?;
        Ok(Authorization {
            amount: self.amount.money(&format!("authorization {}", self.id))?,
            id: self.id,
            status: self.status,
            invoice_id: self.invoice_id,
            order_id: self.supplementary_data.related_ids.order_id,
            expiration_time: self.expiration_time,
        })
    }
}

#[derive(Deserialize, Default)]
struct PaymentsWire {
    #[serde(default)]
    captures: Vec<CaptureWire>,
    #[serde(default)]
    authorizations: Vec<AuthorizationWire>,
}

#[derive(Deserialize)]
struct UnitWire {
    reference_id: Option<String>,
    invoice_id: Option<String>,
    amount: AmountWire,
    #[serde(default)]
    payments: Option<PaymentsWire>,
}

#[derive(Deserialize)]
pub(crate) struct OrderWire {
    id: String,
    intent: Option<String>,
    status: OrderStatus,
    #[serde(default)]
    purchase_units: Vec<UnitWire>,
}

impl OrderWire {
    pub(crate) fn typed(self) -> Result<Order, PaypalError> {
        non_empty(&self.id, "order id")?;
        let what = format!("order {}", self.id);
        let purchase_units = self
            .purchase_units
            .into_iter()
            .map(|u| {
                let payments = u.payments.unwrap_or_default();
                Ok(PurchaseUnit {
                    reference_id: u.reference_id,
                    invoice_id: u.invoice_id,
                    amount: u.amount.money(&what)?,
                    captures: payments.captures.into_iter().map(CaptureWire::typed).collect::<Result<_, _>>()?,
                    authorizations: payments
                        .authorizations
                        .into_iter()
                        .map(AuthorizationWire::typed)
                        .collect::<Result<_, _>>()?,
                })
            })
            .collect::<Result<Vec<_>, PaypalError>>()?;
        Ok(Order { id: self.id, intent: self.intent.unwrap_or_default(), status: self.status, purchase_units })
    }
}

#[derive(Deserialize)]
pub(crate) struct RefundWire {
    id: String,
    status: String,
    amount: AmountWire,
}

impl RefundWire {
    pub(crate) fn typed(self) -> Result<Refund, PaypalError> {
        non_empty(&self.id, "refund id")?;
        Ok(Refund { amount: self.amount.money(&format!("refund {}", self.id))?, id: self.id, status: self.status })
    }
}

fn non_empty(s: &str, what: &str) -> Result<(), PaypalError> {
    if s.trim().is_empty() || s.len() > 64 {
        return Err(PaypalError::InvalidResponse { detail: format!("{what} empty or too long") });
    }
    Ok(())
}

#[cfg(test)]
mod status_words {
    use super::*;

    /// `as_str` gives back exactly the word PayPal sends (what serde reads).
    #[test]
    fn status_words_are_paypals() {
        fn check<T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(v: T, word: &str) {
            assert_eq!(serde_json::from_str::<T>(&format!("\"{word}\"")).expect("reads"), v, "{word}");
        }
        use AuthorizationStatus as A;
        use CaptureStatus as C;
        use OrderStatus as O;
        for o in [O::Created, O::Saved, O::Approved, O::Voided, O::Completed, O::PayerActionRequired] {
            check(o.clone(), o.as_str());
        }
        for a in [A::Created, A::Captured, A::Denied, A::PartiallyCaptured, A::Voided, A::Pending, A::Expired] {
            check(a.clone(), a.as_str());
        }
        for c in [C::Completed, C::Declined, C::PartiallyRefunded, C::Pending, C::Refunded, C::Failed] {
            check(c.clone(), c.as_str());
        }
        assert_eq!(A::PartiallyCaptured.as_str(), "PARTIALLY_CAPTURED");
        assert_eq!(O::Unknown.as_str(), "UNKNOWN");
    }
}
