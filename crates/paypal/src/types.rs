//! PayPal's resources as the client hands them out.
//!
//! PayPal's schemas mark (almost) nothing as required, so every field here that the official
//! schema leaves optional is an `Option` (or an empty list): a documented answer without it
//! still reads. Deciding what to do when a field is missing is the caller's job (the engine reads
//! the resource again). Relations come from what each endpoint's schema has: the `up` link
//! everywhere, `supplementary_data.related_ids` only in the Payments v2 answers (captures and
//! authorizations GET); see [`Capture::order_id`] and [`Capture::authorization_id`].

use chrono::{DateTime, Utc};
use money::Money;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizationStatus {
    Created,
    Captured,
    Denied,
    PartiallyCaptured,
    Voided,
    Pending,
    /// Not in the official enum, but sent for an authorization past its validity.
    Expired,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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
    pub fn as_str(self) -> &'static str {
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
    pub fn as_str(self) -> &'static str {
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

    /// The status in a clerk's words ("partially captured").
    pub fn words(self) -> &'static str {
        match self {
            AuthorizationStatus::Created => "open",
            AuthorizationStatus::Captured => "captured",
            AuthorizationStatus::Denied => "denied",
            AuthorizationStatus::PartiallyCaptured => "partially captured",
            AuthorizationStatus::Voided => "voided",
            AuthorizationStatus::Pending => "pending review at PayPal",
            AuthorizationStatus::Expired => "expired",
            AuthorizationStatus::Unknown => "in a state Capture Desk does not know",
        }
    }
}

impl CaptureStatus {
    /// PayPal's own word for the status (`PARTIALLY_REFUNDED`, ...).
    pub fn as_str(self) -> &'static str {
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

    /// The status in a clerk's words ("partially refunded").
    pub fn words(self) -> &'static str {
        match self {
            CaptureStatus::Completed => "completed",
            CaptureStatus::Declined => "declined",
            CaptureStatus::PartiallyRefunded => "partially refunded",
            CaptureStatus::Pending => "pending",
            CaptureStatus::Refunded => "refunded",
            CaptureStatus::Failed => "failed",
            CaptureStatus::Unknown => "in a state Capture Desk does not know",
        }
    }
}

/// A HATEOAS link (`href` and `rel` are required by the schema; links without them are dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub href: String,
    pub rel: String,
    pub method: Option<String>,
}

/// What a resource's `up` link names: the resource it hangs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parent {
    Order(String),
    Authorization(String),
    Capture(String),
}

/// `supplementary_data.related_ids` (Payments v2 answers only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RelatedIds {
    pub order_id: Option<String>,
    pub authorization_id: Option<String>,
}

/// The parent named by the `up` link among `links`, if there is one and it reads as a PayPal
/// resource path (absolute or relative `href`).
pub(crate) fn up_of(links: &[Link]) -> Option<Parent> {
    let up = links.iter().find(|l| l.rel.eq_ignore_ascii_case("up"))?;
    let path = match up.href.find("://") {
        Some(i) => {
            let rest = &up.href[i + 3..];
            &rest[rest.find('/')?..]
        }
        None => up.href.as_str(),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let id = |s: &&str| -> Option<String> {
        let ok =
            !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| (*s).to_owned())
    };
    match segments.as_slice() {
        ["v2", "checkout", "orders", o] => id(o).map(Parent::Order),
        ["v2", "payments", "authorizations", a] => id(a).map(Parent::Authorization),
        ["v2", "payments", "captures", c] => id(c).map(Parent::Capture),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub id: Option<String>,
    pub status: Option<CaptureStatus>,
    /// `status_details.reason` (e.g. `PENDING_REVIEW`, `DECLINED_BY_RISK_FRAUD_FILTERS`).
    pub status_reason: Option<String>,
    pub amount: Option<Money>,
    pub final_capture: Option<bool>,
    pub invoice_id: Option<String>,
    pub custom_id: Option<String>,
    /// Only in `GET /v2/payments/captures/{id}`; inside Orders v2 answers it is absent.
    pub related: RelatedIds,
    pub links: Vec<Link>,
    pub paypal_fee: Option<Money>,
    pub net_amount: Option<Money>,
    pub create_time: Option<DateTime<Utc>>,
    pub update_time: Option<DateTime<Utc>>,
}

impl Capture {
    /// The resource the `up` link names (the order for an order capture, the authorization
    /// for an authorization capture).
    pub fn up(&self) -> Option<Parent> {
        up_of(&self.links)
    }

    /// The order this capture belongs to: `supplementary_data.related_ids.order_id`, else the
    /// `up` link when it names an order.
    pub fn order_id(&self) -> Option<String> {
        order_of(&self.related, &self.links)
    }

    /// The authorization this capture was taken from: `related_ids.authorization_id`, else the
    /// `up` link when it names an authorization.
    pub fn authorization_id(&self) -> Option<String> {
        self.related.authorization_id.clone().or_else(|| match self.up() {
            Some(Parent::Authorization(a)) => Some(a),
            _ => None,
        })
    }
}

/// A resource's order: `related_ids.order_id`, else the `up` link when it names an order.
fn order_of(related: &RelatedIds, links: &[Link]) -> Option<String> {
    related.order_id.clone().or_else(|| match up_of(links) {
        Some(Parent::Order(o)) => Some(o),
        _ => None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub id: Option<String>,
    pub status: Option<AuthorizationStatus>,
    pub status_reason: Option<String>,
    pub amount: Option<Money>,
    pub invoice_id: Option<String>,
    pub custom_id: Option<String>,
    /// Only in `GET /v2/payments/authorizations/{id}`.
    pub related: RelatedIds,
    pub links: Vec<Link>,
    pub expiration_time: Option<DateTime<Utc>>,
    /// When PayPal made it (a reauthorization: when it was reauthorized); its 3-day honour
    /// period runs from here.
    pub create_time: Option<DateTime<Utc>>,
}

impl Authorization {
    pub fn up(&self) -> Option<Parent> {
        up_of(&self.links)
    }

    /// The order this authorization belongs to: `related_ids.order_id`, else the `up` link.
    pub fn order_id(&self) -> Option<String> {
        order_of(&self.related, &self.links)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseUnit {
    pub reference_id: Option<String>,
    pub invoice_id: Option<String>,
    pub custom_id: Option<String>,
    /// Absent from the order-capture answer (PayPal's own example has none).
    pub amount: Option<Money>,
    pub captures: Vec<Capture>,
    /// The answer listed the unit's captures (`payments.captures`, which no schema requires):
    /// without it, `captures` being empty says nothing.
    pub captures_listed: bool,
    pub authorizations: Vec<Authorization>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: Option<String>,
    pub intent: Option<String>,
    pub status: Option<OrderStatus>,
    pub purchase_units: Vec<PurchaseUnit>,
    pub links: Vec<Link>,
}

impl Order {
    /// Every capture of the order, across purchase units.
    pub fn captures(&self) -> impl Iterator<Item = &Capture> {
        self.purchase_units.iter().flat_map(|u| u.captures.iter())
    }
    /// Every purchase unit listed its captures: "none of ours among them" can be read from it.
    pub fn captures_listed(&self) -> bool {
        !self.purchase_units.is_empty() && self.purchase_units.iter().all(|u| u.captures_listed)
    }
    pub fn authorizations(&self) -> impl Iterator<Item = &Authorization> {
        self.purchase_units.iter().flat_map(|u| u.authorizations.iter())
    }
    /// The first purchase unit's amount (what the customer approved), when the answer has it.
    pub fn amount(&self) -> Option<Money> {
        self.purchase_units.first().and_then(|u| u.amount)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: Option<String>,
    pub status: Option<String>,
    pub amount: Option<Money>,
}

/// The body of an authorization capture.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthorizationCaptureRequest {
    /// `None`: the full authorized amount.
    pub amount: Option<Money>,
    pub invoice_id: Option<String>,
    pub final_capture: bool,
}

#[cfg(test)]
mod tests {
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
            check(o, o.as_str());
        }
        for a in [A::Created, A::Captured, A::Denied, A::PartiallyCaptured, A::Voided, A::Pending, A::Expired] {
            check(a, a.as_str());
        }
        for c in [C::Completed, C::Declined, C::PartiallyRefunded, C::Pending, C::Refunded, C::Failed] {
            check(c, c.as_str());
        }
        assert_eq!(A::PartiallyCaptured.as_str(), "PARTIALLY_CAPTURED");
        assert_eq!(O::Unknown.as_str(), "UNKNOWN");
        check(C::Unknown, "SOMETHING_NEW");
    }

    fn link(href: &str, rel: &str) -> Link {
        Link { href: href.into(), rel: rel.into(), method: Some("GET".into()) }
    }

    #[test]
    fn the_up_link_names_the_parent_absolute_or_relative() {
        let cases = [
            (
                "https://api.sandbox.paypal.com/v2/checkout/orders/24F22464WC842504J",
                Some(Parent::Order("24F22464WC842504J".into())),
            ),
            (
                "https://api-m.paypal.com/v2/payments/authorizations/6DR965477U7140544",
                Some(Parent::Authorization("6DR965477U7140544".into())),
            ),
            (
                "/v2/payments/authorizations/0T620041CK889853A?x=1",
                Some(Parent::Authorization("0T620041CK889853A".into())),
            ),
            ("/v2/payments/captures/7KY78659SG487110K", Some(Parent::Capture("7KY78659SG487110K".into()))),
            ("https://example.com/elsewhere/24F22464WC842504J", None),
            ("/v2/checkout/orders/../x", None),
            ("/v2/checkout/orders/24F2/capture", None),
        ];
        for (href, want) in cases {
            assert_eq!(up_of(&[link("x", "self"), link(href, "up")]), want, "{href}");
        }
        assert_eq!(up_of(&[link("/v2/checkout/orders/A1", "self")]), None, "only rel=up counts");
    }

    #[test]
    fn relations_prefer_related_ids_and_fall_back_to_the_up_link() {
        let mut c = Capture {
            id: Some("C1".into()),
            status: None,
            status_reason: None,
            amount: None,
            final_capture: None,
            invoice_id: None,
            custom_id: None,
            related: RelatedIds::default(),
            links: vec![link("/v2/payments/authorizations/A1", "up")],
            paypal_fee: None,
            net_amount: None,
            create_time: None,
            update_time: None,
        };
        assert_eq!((c.authorization_id().as_deref(), c.order_id()), (Some("A1"), None));
        c.related = RelatedIds { order_id: Some("O1".into()), authorization_id: Some("A2".into()) };
        assert_eq!((c.authorization_id().as_deref(), c.order_id().as_deref()), (Some("A2"), Some("O1")));
        c.related = RelatedIds::default();
        c.links = vec![link("/v2/checkout/orders/O9", "up")];
        assert_eq!((c.authorization_id(), c.order_id().as_deref()), (None, Some("O9")));
    }
}
