//! What PayPal holds, read when its answer did not say: adoption of an existing capture, the
//! decision after an unknown outcome, and whether a capture is this attempt's.
//!
//! * A capture belongs to an attempt when every relation PayPal gives for it names the attempt's
//!   own order or authorization (`supplementary_data.related_ids` where the endpoint has it, the
//!   `up` link everywhere), or, when PayPal gives none, when the attempt's order lists it.
//! * A capture whose `invoice_id` names another invoice is not ours.
//! * After a capture was sent and PayPal's answer proved nothing ([`paypal::refusal_proof`]),
//!   the order or authorization is read and decides: a capture of ours listed → adopt; clearly
//!   not captured and not capturable → rejected (an authorization voided, expired or denied,
//!   an order voided or not approved, only once the order lists no capture of ours: an
//!   authorization can be captured and then voided); not captured yet (an approved order
//!   listing only declined captures included: our request may still be capturing) → wait (the
//!   next resume sends the same request id again); unreadable → wait.
//! * A refusal of the capture (a decline, or the state now) with no live capture of ours listed
//!   ends the attempt `rejected` (a declined capture of ours listed: adopted, and rejected by
//!   verification), except while an earlier send of the same request id may still land
//!   (`in_flight.rs`: the client's own earlier tries, an earlier run's send without an answer)
//!   and the order or authorization is still capturable: the refusal (and a declined capture
//!   listed) may be a replay's, and the earlier request may capture after the read, so the
//!   attempt waits.
//!   (An authorization PayPal says is expired, voided or denied is over for good, whatever
//!   status it reads: PayPal's schema has no EXPIRED; no earlier send is waited for then.)
//! * Among several captures, a live one (not declined or failed) is adopted before a declined
//!   one, whatever the order PayPal lists them in; a declined capture adopted is never
//!   finalized (verification rejects it).

use super::engine::{money_of, Engine, Flow};
use super::in_flight;
use super::journal::{Entry, PaypalCaptureStatus, State};
use crate::DeskError;
use money::Money;
use paypal::{
    Authorization, AuthorizationStatus, Capture, CaptureCall, CaptureStatus, Order, OrderStatus, PaypalError,
};
use std::time::Duration;

/// How a capture relates to an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tie {
    Ours,
    /// PayPal names another resource (in a clerk's words: "order 5O19…").
    Other(String),
    /// PayPal names no relation at all.
    Unknown,
}

pub(super) fn is_authorize(e: &Entry) -> bool {
    e.intent.as_deref() == Some("AUTHORIZE")
}

/// Every relation PayPal gives for `c` must name the attempt's order or authorization.
pub(super) fn tie(e: &Entry, c: &Capture) -> Tie {
    let (c_order, c_auth) = (c.order_id(), c.authorization_id());
    if let Some(o) = &c_order {
        if e.order_id.as_deref() != Some(o.as_str()) {
            return Tie::Other(format!("order {o}"));
        }
    }
    match (&c_auth, is_authorize(e)) {
        (Some(a), true) if e.authorization_id.as_deref() != Some(a.as_str()) => {
            return Tie::Other(format!("authorization {a}"))
        }
        // an order with intent CAPTURE has no authorization to capture from
        (Some(a), false) => return Tie::Other(format!("authorization {a}")),
        _ => {}
    }
    if c_order.is_some() || c_auth.is_some() {
        Tie::Ours
    } else {
        Tie::Unknown
    }
}

/// `Some(theirs)` when the capture's `invoice_id` names another invoice than the attempt's.
pub(super) fn other_invoice(e: &Entry, c: &Capture) -> Option<String> {
    c.invoice_id.as_deref().map(str::trim).filter(|i| *i != e.invoice_no.to_string()).map(str::to_owned)
}

pub(super) fn paypal_detail(err: &PaypalError) -> String {
    format!("{}: {}", err.code(), err.detail())
}

/// Not declined or failed (PayPal holds, or may yet hold, its money).
pub(super) fn live(c: &Capture) -> bool {
    !matches!(c.status, Some(CaptureStatus::Declined | CaptureStatus::Failed))
}

/// The attempt's capture among `captures`: not tied elsewhere; the latest that is live and
/// exact (our invoice id or none, the expected amount), else the latest live one, else the
/// latest exact one, else the latest. A declined capture is never preferred to a live one: it
/// would be verified as declined and the attempt rejected while PayPal holds our money.
fn pick<'c>(e: &Entry, captures: &'c [Capture], expected: Option<Money>) -> Option<&'c Capture> {
    let mine: Vec<&Capture> = captures.iter().filter(|c| !matches!(tie(e, c), Tie::Other(_))).collect();
    let exact = |c: &Capture| other_invoice(e, c).is_none() && c.amount.is_some() && c.amount == expected;
    mine.iter()
        .rfind(|c| exact(c) && live(c))
        .or_else(|| mine.iter().rfind(|c| live(c)))
        .or_else(|| mine.iter().rfind(|c| exact(c)))
        .or_else(|| mine.last())
        .copied()
}

impl Engine<'_> {
    /// The order as PayPal holds it now, or the flow to return when it cannot be read.
    async fn read_order(&self, e: &mut Entry, why: &str) -> Result<Result<Order, Flow>, DeskError> {
        let order_id = e.order_id.clone().unwrap_or_default();
        match self.paypal.get_order(&order_id).await {
            Ok(o) if o.id.as_deref().is_none_or(|id| id == order_id) => Ok(Ok(o)),
            Ok(o) => {
                let got = o.id.unwrap_or_default();
                Ok(Err(self.wait(e, &format!("{why}; PayPal answered the order {order_id} with order {got}")).await?))
            }
            Err(err) => {
                Ok(Err(self.wait(e, &format!("{why}; reading the order failed: {}", paypal_detail(&err))).await?))
            }
        }
    }

    /// Someone (this attempt earlier, this desk, another desk) captured already: find that
    /// capture and carry on with it; never capture again. `order`: the order if just read.
    pub(super) async fn adopt(&self, e: &mut Entry, order: Option<Order>) -> Result<Flow, DeskError> {
        let order = match order {
            Some(o) => o,
            None => match self.read_order(e, "PayPal holds a capture").await? {
                Ok(o) => o,
                Err(flow) => return Ok(flow),
            },
        };
        let mut captures: Vec<Capture> = order.captures().cloned().collect();
        // The captures inside an order carry no related ids; one without an `up` link either is
        // read on its own (`GET /v2/payments/captures/{id}` has both).
        for c in captures.iter_mut().filter(|c| tie(e, c) == Tie::Unknown) {
            if let Some(id) = c.id.clone() {
                match self.paypal.get_capture(&id).await {
                    Ok(full) => *c = full,
                    Err(err) => tracing::warn!(capture_id = %id, detail = %paypal_detail(&err), "capture unreadable"),
                }
            }
        }
        let expected = money_of(e.paypal_amount.as_deref().unwrap_or("0"), &e.currency).ok();
        let Some(capture) = pick(e, &captures, expected) else {
            let reauthorized = match e.authorization_id.as_deref().filter(|_| is_authorize(e)) {
                Some(a) => super::reauthorize::original_of(self.pool, a).await?,
                None => None,
            };
            let why = match (reauthorized, is_authorize(e)) {
                // PayPal holds an authorization and its reauthorization as one payment
                (Some(original), _) => format!(
                    "PayPal says this payment was captured already, through the customer's original authorization \
                     {original} (this desk captures its reauthorization {}); another desk may have captured it. \
                     Check the invoice's payments at the gateway",
                    e.authorization_id.as_deref().unwrap_or_default()
                ),
                (None, true) => "PayPal says it was captured already, but shows no capture of its authorization".into(),
                (None, false) => "PayPal says it was captured already, but shows no capture of the order".into(),
            };
            return self.attention(e, why).await;
        };
        let Some(id) = capture.id.clone() else {
            return self.wait(e, "PayPal listed the capture without its id; the order is read again on resume").await;
        };
        tracing::info!(capture_id = %id, "adopting the existing capture");
        e.capture_id = Some(id);
        e.capture_status = capture.status.map(PaypalCaptureStatus::from);
        e.adopted = true;
        e.last_error = None;
        self.to(e, State::PaypalCaptured).await?;
        Ok(Flow::Continue)
    }

    /// After a capture was sent and the answer proved nothing: read the order or authorization
    /// and decide from what PayPal holds. `why`: what the answer was (for the log).
    pub(super) async fn settle_from_paypal(&self, e: &mut Entry, why: &str) -> Result<Flow, DeskError> {
        tracing::info!(why, "the capture's outcome is unknown; reading what PayPal holds");
        if is_authorize(e) {
            let auth_id = e.authorization_id.clone().unwrap_or_default();
            let auth = match self.paypal.get_authorization(&auth_id).await {
                Ok(a) if a.id.as_deref().is_none_or(|id| id == auth_id) => a,
                Ok(a) => {
                    let got = a.id.unwrap_or_default();
                    return self
                        .wait(
                            e,
                            &format!("{why}; PayPal answered the authorization {auth_id} with authorization {got}"),
                        )
                        .await;
                }
                Err(err) => {
                    return self
                        .wait(e, &format!("{why}; reading the authorization failed: {}", paypal_detail(&err)))
                        .await
                }
            };
            return match auth.status {
                Some(AuthorizationStatus::Captured | AuthorizationStatus::PartiallyCaptured) => self.adopt(e, None).await,
                // captured and then voided (the rest of it) reads VOIDED too: look for our capture
                Some(
                    status @ (AuthorizationStatus::Voided | AuthorizationStatus::Expired | AuthorizationStatus::Denied),
                ) => {
                    let reason = format!("the PayPal authorization is {}; nothing was captured", status.words());
                    self.reject_unless_listed(e, why, reason, None).await
                }
                Some(AuthorizationStatus::Created) => {
                    self.wait(e, &format!("{why}; PayPal holds no capture of the authorization yet (the same request is sent again on resume)")).await
                }
                Some(status @ (AuthorizationStatus::Pending | AuthorizationStatus::Unknown)) => {
                    self.wait(e, &format!("{why}; the authorization is {}", status.as_str())).await
                }
                None => self.wait(e, &format!("{why}; PayPal's answer for the authorization has no status")).await,
            };
        }
        let order = match self.read_order(e, why).await? {
            Ok(o) => o,
            Err(flow) => return Ok(flow),
        };
        // a live capture of ours: adopt it. Only declined ones on an order still approved: our
        // request may still be capturing, so they decide nothing yet.
        if order.captures().any(|c| !matches!(tie(e, c), Tie::Other(_)) && live(c)) {
            return self.adopt(e, Some(order)).await;
        }
        let listed = order.captures().any(|c| !matches!(tie(e, c), Tie::Other(_)));
        match order.status {
            Some(OrderStatus::Completed) => self.adopt(e, Some(order)).await,
            Some(OrderStatus::Approved) => {
                self.wait(
                    e,
                    &format!(
                        "{why}; PayPal holds no capture of the order yet (the same request is sent again on resume)"
                    ),
                )
                .await
            }
            // a capture listed (declined): verified, and rejected as declined
            Some(
                OrderStatus::Voided | OrderStatus::Created | OrderStatus::Saved | OrderStatus::PayerActionRequired,
            ) if listed => self.adopt(e, Some(order)).await,
            Some(OrderStatus::Voided) => {
                e.last_error = Some(why.chars().take(500).collect());
                self.reject(e, "the PayPal order was voided; nothing was captured").await
            }
            Some(OrderStatus::Created | OrderStatus::Saved | OrderStatus::PayerActionRequired) => {
                e.last_error = Some(why.chars().take(500).collect());
                self.reject(e, "the customer has not approved the PayPal payment; nothing was captured").await
            }
            Some(OrderStatus::Unknown) | None => {
                self.wait(e, &format!("{why}; the order's status cannot be read from PayPal's answer")).await
            }
        }
    }

    /// PayPal says the order or authorization cannot be captured now (`why`): that proves
    /// nothing of ours was captured only when the order lists no live capture of ours (an
    /// authorization can be captured and then voided; a capture of an authorization is listed
    /// under its order's payments too). A live capture listed: adopted (and verified); only
    /// declined ones: adopted (verified, rejected as declined) unless `open` makes it wait
    /// (below); none: rejected with `reason`; the order unreadable: wait.
    ///
    /// `open`: an earlier send of the same request may still land for this long (its answer
    /// lost; PayPal's refusal may be a replay's). Then a state still capturable (an order
    /// APPROVED; an authorization CREATED or PENDING) decides nothing: the earlier request may
    /// capture after this read, so the attempt waits (`in_flight.rs`) and is rejected only by a
    /// run after the window. A state that cannot be captured any more rejects as before.
    pub(super) async fn reject_unless_listed(
        &self,
        e: &mut Entry,
        why: &str,
        reason: String,
        open: Option<Duration>,
    ) -> Result<Flow, DeskError> {
        let order = match self.read_order(e, why).await? {
            Ok(o) => o,
            Err(flow) => return Ok(flow),
        };
        if order.captures().any(|c| !matches!(tie(e, c), Tie::Other(_)) && live(c)) {
            tracing::info!(why, "PayPal refused, but lists a capture of ours");
            return self.adopt(e, Some(order)).await;
        }
        // Only declined (or failed) captures of ours listed: one of them may answer an earlier
        // send, or this one, while another send of the same request may still capture. They
        // are adopted (verified, and rejected as declined) only once nothing can land, or
        // when the order or authorization cannot be captured any more; below.
        let declined_listed = order.captures().any(|c| !matches!(tie(e, c), Tie::Other(_)));
        // Not listed is not "none": an answer may leave out the payments (no schema requires
        // them). What holds a capture says so itself: an authorization CAPTURED, an order
        // (intent CAPTURE) COMPLETED; then the order is read again and the capture adopted (or,
        // still not shown, a clerk is told PayPal holds a capture it does not list), never
        // `rejected`.
        let capturable = if is_authorize(e) {
            let auth_id = e.authorization_id.clone().unwrap_or_default();
            match self.paypal.get_authorization(&auth_id).await {
                Ok(a)
                    if matches!(
                        a.status,
                        Some(AuthorizationStatus::Captured | AuthorizationStatus::PartiallyCaptured)
                    ) =>
                {
                    return self.adopt(e, None).await
                }
                Ok(Authorization { status: Some(st), .. }) if st != AuthorizationStatus::Unknown => {
                    matches!(st, AuthorizationStatus::Created | AuthorizationStatus::Pending)
                }
                Ok(_) => {
                    return self
                        .wait(e, &format!("{why}; the authorization's answer has no status it can be read by"))
                        .await
                }
                Err(err) => {
                    return self
                        .wait(e, &format!("{why}; reading the authorization failed: {}", paypal_detail(&err)))
                        .await
                }
            }
        } else if order.status == Some(OrderStatus::Completed) && !order.captures_listed() {
            return self.adopt(e, None).await;
        } else if matches!(order.status, None | Some(OrderStatus::Unknown)) {
            // an order whose state cannot be read tells nothing of a capture it does not list
            return self.wait(e, &format!("{why}; the order's status cannot be read from PayPal's answer")).await;
        } else {
            order.status == Some(OrderStatus::Approved)
        };
        if let (true, Some(remaining)) = (capturable, open) {
            tracing::info!(why, ?remaining, "PayPal refused, but an earlier send may still capture: waiting");
            return self.wait(e, &in_flight::waiting_for_capture(why, remaining)).await;
        }
        if declined_listed {
            tracing::info!(why, "PayPal refused, and lists only declined captures of ours");
            return self.adopt(e, Some(order)).await;
        }
        e.last_error = Some(why.chars().take(500).collect());
        self.reject(e, reason).await
    }

    /// Whether the capture is the attempt's, when PayPal named no relation for it: the
    /// attempt's order lists it. `Err(flow)`: the order cannot be read now.
    pub(super) async fn listed_in_order(
        &self,
        e: &mut Entry,
        capture_id: &str,
    ) -> Result<Result<bool, Flow>, DeskError> {
        Ok(match self.read_order(e, "the capture names no order or authorization").await? {
            Ok(o) => Ok(o.captures().any(|c| c.id.as_deref() == Some(capture_id))),
            Err(flow) => Err(flow),
        })
    }
}

/// PayPal refused the capture because the authorization is over for good (expired, voided,
/// denied): from this answer on no request can capture it, an earlier send of ours still being
/// worked on included (it captured before, and PayPal lists it, or it never will), so no earlier
/// send is waited for. PayPal's schema has no EXPIRED status: an expired authorization still
/// reads CREATED, and only the refusal tells. A decline is not such an answer: it is a decision
/// on one request, and the authorization or order stays capturable by another.
///
/// Why no wait (issue 9, finding 7), from `payments_payment_v2.json`: the three 422 issues of
/// `authorizations.capture` describe the authorization, not the request ("An expired / A voided /
/// An denied authorization cannot be captured"; a voided one cannot be reauthorized either), and
/// `authorization_status` has no way back from VOIDED or DENIED to CREATED, nor does time run
/// back on an expiry. An earlier send of the same request id that PayPal still works on is
/// either answered as that same request (a retry while it runs meets `409
/// PREVIOUS_REQUEST_IN_PROGRESS`, not a fresh decision) or was decided before: PayPal decides one
/// authorization's capture and void one after the other. So when PayPal answers that the
/// authorization is over, the earlier request had either captured already, and its capture is
/// listed under the order, which `reject_unless_listed` reads after this answer and adopts (a
/// capture and then a void of the rest reads VOIDED with the capture listed), or it can no longer
/// capture. The only way left for it to land would be PayPal capturing an authorization it has
/// just said cannot be captured, against its own state machine; an order listing that lags the
/// capture is a risk of every adoption, not of this one.
pub(super) fn authorization_over(call: CaptureCall, err: &PaypalError) -> bool {
    call == CaptureCall::Authorization
        && err.api().is_some_and(|api| {
            api.issues.iter().any(|i| {
                matches!(i.as_str(), "AUTHORIZATION_EXPIRED" | "AUTHORIZATION_VOIDED" | "AUTHORIZATION_DENIED")
            })
        })
}

/// Our capture in an order-capture answer: the answer is our order's (or names none), and the
/// capture is not tied elsewhere; the latest one not declined, else the latest.
pub(super) fn capture_in_answer(e: &Entry, o: Order) -> Option<Capture> {
    if o.id.as_deref().is_some_and(|id| Some(id) != e.order_id.as_deref()) {
        return None;
    }
    let mine: Vec<&Capture> = o.captures().filter(|c| !matches!(tie(e, c), Tie::Other(_))).collect();
    mine.iter().rfind(|c| live(c)).or_else(|| mine.last()).map(|c| (*c).clone())
}

#[cfg(test)]
#[path = "paypal_holds_tests.rs"]
mod tests;
