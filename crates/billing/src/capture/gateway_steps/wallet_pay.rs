//! The full wallet payment: wallet_pay_sent → finalized (or rejected); an unknown outcome waits.

use crate::capture::engine::{cur, money_of, Engine, Flow};
use crate::capture::in_flight::{self, Window};
use crate::capture::journal::{self, Entry, State};
use crate::capture::result::Step;
use crate::DeskError;
use chrono::DateTime;
use gateway::{GatewayError, InvoicePayment};
use money::Money;
use sqlx::SqlitePool;
use std::time::Duration;

/// How long before our journaled send the gateway may date a wallet payment that is still ours.
/// The gateway dates `at` by its clock (the sandbox to the second, so up to 1 s early), the
/// journal's `sent_at` is this machine's wall clock: the two disagree a little. The in-flight
/// window already trusts clocks to agree within [`in_flight::MARGIN`]; the same allowance here.
/// Smaller, a desk whose clock runs a little ahead would call its own payment another's (needs
/// attention, a clerk's check); larger, a payment another desk made just before ours would be
/// taken for ours.
pub(crate) const WALLET_CLOCK_SKEW: Duration = in_flight::MARGIN;

/// The journaled send time (Unix ms, this machine's clock) of `e`'s current state, if it was
/// sent (the query of `in_flight::window`).
pub(crate) async fn sent_at(pool: &SqlitePool, e: &Entry) -> Result<Option<i64>, DeskError> {
    let row: Option<Option<i64>> = sqlx::query_scalar("SELECT sent_at FROM capture_journal WHERE id = ? AND state = ?")
        .bind(e.id)
        .bind(e.state().as_str())
        .fetch_optional(pool)
        .await?;
    Ok(row.flatten())
}

impl Engine<'_> {
    /// What the gateway's invoice says of the full wallet payment. Neither our request nor its
    /// answer names a payment id (GATEWAY-API.md: `pay` takes the invoice and currency, answers
    /// `amount` and `walletBalance`), so ours is what the contract lets us match on: a payment of
    /// method `wallet`, in the invoice's currency, of the whole outstanding amount the attempt
    /// was planned for, on an attempt that did send its payment (`sent`: a wallet payment on
    /// one that never sent is another's), made at or after that send (`sent_at`, Unix ms: the
    /// payment's `at`, less [`WALLET_CLOCK_SKEW`]; one made before is another desk's or a
    /// clerk's). A paid invoice whose answer lists no payments cannot tell; one paid without any
    /// `wallet` payment was paid otherwise; one with wallet payments of which none matches is
    /// not taken for ours ([`WalletRead::Unmatched`]); one whose match the gateway lists without
    /// a readable time cannot be placed ([`WalletRead::Undated`]).
    async fn wallet_pay_read(&self, e: &Entry, sent: Window, sent_at: Option<i64>) -> Result<WalletRead, DeskError> {
        let no = u64::try_from(e.invoice_no).map_err(DeskError::internal)?;
        let inv = match self.gateway.invoice(no).await {
            Ok(inv) => inv,
            Err(err) => return Ok(WalletRead::Unknown(format!("{}: {}", err.code(), err.detail()))),
        };
        if inv.status == gateway::InvoiceStatus::Outstanding {
            return Ok(WalletRead::Outstanding);
        }
        let Some(list) = inv.payments.as_deref() else {
            return Ok(WalletRead::Unknown(format!(
                "gateway_payments_missing: the gateway's invoice {no} is {} and came without its payments; cannot tell whether the wallet paid it",
                inv.status.as_str()
            )));
        };
        let wallet: Vec<&InvoicePayment> =
            list.iter().filter(|p| p.method.trim().eq_ignore_ascii_case("wallet")).collect();
        if inv.status != gateway::InvoiceStatus::Paid || wallet.is_empty() || sent == Window::NeverSent {
            return Ok(WalletRead::PaidOtherwise(inv.status));
        }
        let outstanding = money_of(&e.outstanding, &e.currency)?;
        let whole: Vec<&InvoicePayment> = wallet.iter().copied().filter(|p| p.amount == outstanding).collect();
        if whole.is_empty() {
            let theirs: Vec<String> = wallet.iter().map(|p| format!("{} ({})", p.amount, p.payment_id)).collect();
            return Ok(WalletRead::Unmatched(format!(
                "the invoice is paid, from the customer's wallet by {} and not by a payment of the whole {outstanding} this \
                 attempt sent; Capture Desk cannot tell whether its wallet payment went through: check the customer's \
                 wallet history at the gateway",
                theirs.join(", ")
            )));
        }
        let sent_time = sent_at.and_then(DateTime::from_timestamp_millis);
        let since = sent_time.and_then(|t| chrono::Duration::from_std(WALLET_CLOCK_SKEW).ok().map(|skew| t - skew));
        if let Some(since) = since {
            if whole.iter().any(|p| p.at.is_some_and(|at| at >= since)) {
                return Ok(WalletRead::Ours(outstanding));
            }
        }
        let sent_words = sent_time.map_or_else(|| "(its time is not journaled)".to_owned(), crate::time::text);
        let undated: Vec<&str> =
            whole.iter().filter(|p| p.at.is_none() || since.is_none()).map(|p| p.payment_id.as_str()).collect();
        if !undated.is_empty() {
            return Ok(WalletRead::Undated(
                outstanding,
                format!(
                    "taken for this attempt's wallet payment by method and amount alone: the gateway lists the wallet \
                     payment of the whole {outstanding} ({}) without a time (or one that does not read), so it cannot \
                     be told from one made before this attempt sent its own at {sent_words}; either way the invoice is \
                     paid once from the wallet. If another desk or a clerk paid it, this attempt's payment was refused: \
                     the customer's wallet history at the gateway tells",
                    undated.join(", ")
                ),
            ));
        }
        let earlier: Vec<String> = whole
            .iter()
            .map(|p| format!("{} ({}) at {}", p.amount, p.payment_id, p.at.map(crate::time::text).unwrap_or_default()))
            .collect();
        Ok(WalletRead::Unmatched(format!(
            "the invoice is paid, from the customer's wallet by {}, before this attempt sent its wallet payment of the \
             whole {outstanding} at {sent_words} (by the gateway's clock and this computer's, allowing {} s between \
             them): that payment is not this attempt's (another desk, a clerk at the gateway or an earlier attempt \
             made it). Capture Desk cannot tell whether its own wallet payment went through: check the customer's \
             wallet history at the gateway",
            earlier.join(", "),
            WALLET_CLOCK_SKEW.as_secs()
        )))
    }

    pub(in crate::capture) async fn wallet_pay(&self, e: &mut Entry, resumed: bool) -> Result<Flow, DeskError> {
        if resumed {
            // A payment that may still be in flight (no answer, within the window) can land
            // after this read: until it cannot, only finding it decides (in_flight.rs).
            // A match that cannot be placed in time waits like one that is not ours.
            let window = in_flight::window(self.pool, e).await?;
            let sent_at = sent_at(self.pool, e).await?;
            match self.wallet_pay_read(e, window, sent_at).await? {
                WalletRead::Unknown(why) => return self.wait(e, &why).await,
                WalletRead::Ours(amount) => return self.wallet_paid(e, amount, None).await,
                read => {
                    if let Some(remaining) = window.open() {
                        return self.wait(e, &in_flight::waiting_words("wallet payment", remaining)).await;
                    }
                    match read {
                        WalletRead::PaidOtherwise(status) => return self.wallet_paid_otherwise(e, status).await,
                        WalletRead::Unmatched(why) => return self.attention(e, why).await,
                        WalletRead::Undated(amount, note) => return self.wallet_paid(e, amount, Some(note)).await,
                        WalletRead::Outstanding | WalletRead::Unknown(_) | WalletRead::Ours(_) => {}
                    }
                }
            }
        }
        let currency = cur(&e.currency)?;
        let no = u64::try_from(e.invoice_no).map_err(DeskError::internal)?;
        self.check_before(Step::WalletPay, e.id)?;
        // the pace's slot first: the request leaves right after the journal says it was sent
        let slot = self.gateway.slot().await;
        let sent_at = self.sending(e).await?;
        let result = self.gateway.pay_from_wallet(slot, no, currency).await;
        self.check_after(Step::WalletPay, e.id)?;
        if result.as_ref().err().is_none_or(in_flight::gateway_answered) {
            in_flight::mark_answered(self.pool, e, sent_at).await?;
        }
        match result {
            Ok(paid) => {
                let outstanding = money_of(&e.outstanding, &e.currency)?;
                let amount = Money::new(paid.amount, currency).ok().filter(|m| !m.is_zero()).unwrap_or(outstanding);
                self.wallet_paid(e, amount, None).await
            }
            Err(err)
                if err.is_transient() || err.is_offline() || matches!(err, GatewayError::InvalidResponse { .. }) =>
            {
                self.wait(e, &format!("{}: {}", err.code(), err.detail())).await
            }
            // The gateway's documented refusal of this send, with no earlier send of this attempt
            // that may have paid: nothing of ours moved, whatever the invoice lists.
            Err(err) if documented_refusal(&err) && self.nothing_else_sent(e).await? => {
                self.wallet_refused(e, err).await
            }
            // A refusal may follow a payment that went through (an undocumented error after the
            // gateway acted, or an earlier send whose answer was lost): the invoice decides.
            Err(err) => match self.wallet_pay_read(e, Window::Closed, Some(sent_at)).await? {
                WalletRead::Unknown(why) => {
                    self.wait(e, &format!("{}: {}; then {why}", err.code(), err.detail())).await
                }
                WalletRead::Ours(amount) => self.wallet_paid(e, amount, None).await,
                WalletRead::Undated(amount, note) => self.wallet_paid(e, amount, Some(note)).await,
                WalletRead::PaidOtherwise(status) => self.wallet_paid_otherwise(e, status).await,
                WalletRead::Unmatched(why) => {
                    e.last_error = Some(format!("{}: {}", err.code(), err.detail()));
                    self.attention(e, why).await
                }
                WalletRead::Outstanding if err == GatewayError::InvoiceAlreadyPaid => {
                    self.wallet_paid_otherwise(e, gateway::InvoiceStatus::Paid).await
                }
                WalletRead::Outstanding => self.reject(e, format!("the wallet payment was refused: {err}")).await,
            },
        }
    }

    /// Whether this attempt's latest send, just answered, is the only one of its state that may
    /// have paid: no earlier send of it went unanswered (`sent_open_until`, kept by
    /// `in_flight::mark_sent` when a send is resent; a resume resends only once that earlier
    /// send's window has closed, so its payment, if it made one, is at the gateway already).
    async fn nothing_else_sent(&self, e: &Entry) -> Result<bool, DeskError> {
        let earlier: Option<Option<i64>> =
            sqlx::query_scalar("SELECT sent_open_until FROM capture_journal WHERE id = ? AND state = ?")
                .bind(e.id)
                .bind(e.state().as_str())
                .fetch_optional(self.pool)
                .await?;
        Ok(earlier.flatten().is_none() && in_flight::window(self.pool, e).await?.open().is_none())
    }

    /// The gateway refused this send with one of its documented refusals ([`documented_refusal`])
    /// and no other send of this attempt may have paid ([`Self::nothing_else_sent`]): this
    /// attempt moved nothing, so no wallet payment the invoice lists is ours, however close to
    /// our send the gateway dates it (another desk or a clerk paid just before; the date
    /// matching of [`WalletRead::Ours`] is for an answer that was lost). "Invoice already paid"
    /// (or "Bad Invoice", already paid or in a state that takes no payment) on a settled invoice
    /// was paid otherwise; any other refusal on a settled invoice needs a clerk's look; on an
    /// outstanding one the payment was refused (or, "Invoice already paid", the read lags the
    /// refusal). An invoice that cannot be read does not make this attempt wait: nothing of it
    /// can land, and a resume would no longer know that its send was refused.
    async fn wallet_refused(&self, e: &mut Entry, err: GatewayError) -> Result<Flow, DeskError> {
        let no = u64::try_from(e.invoice_no).map_err(DeskError::internal)?;
        let refusal = format!("{}: {}", err.code(), err.detail());
        let already_paid = matches!(err, GatewayError::InvoiceAlreadyPaid | GatewayError::BadInvoice);
        let read = self.gateway.invoice(no).await;
        e.last_error = Some(match &read {
            Ok(_) => refusal,
            Err(read_err) => format!("{refusal}; then {}: {}", read_err.code(), read_err.detail()),
        });
        match read {
            Ok(inv) if inv.status == gateway::InvoiceStatus::Outstanding => {
                if err == GatewayError::InvoiceAlreadyPaid {
                    self.wallet_paid_otherwise(e, gateway::InvoiceStatus::Paid).await
                } else {
                    self.reject(e, format!("the wallet payment was refused: {err}")).await
                }
            }
            Ok(inv) if already_paid => self.wallet_paid_otherwise(e, inv.status).await,
            Ok(inv) => {
                let by = inv.payments.as_deref().map_or_else(
                    || "payments the gateway did not list".to_owned(),
                    |list| {
                        list.iter()
                            .map(|p| format!("{} {} ({})", p.method, p.amount, p.payment_id))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                );
                self.attention(
                    e,
                    format!(
                        "the gateway refused this attempt's wallet payment ({err}), yet the invoice is {} at the gateway, \
                         by {by}: not by this attempt, whose payment was refused and moved nothing. Check with the \
                         customer's wallet history at the gateway who settled it",
                        inv.status.as_str()
                    ),
                )
                .await
            }
            Err(_) if err == GatewayError::InvoiceAlreadyPaid => {
                self.wallet_paid_otherwise(e, gateway::InvoiceStatus::Paid).await
            }
            Err(_) => self.reject(e, format!("the wallet payment was refused: {err}")).await,
        }
    }

    /// Finalized by our wallet payment; `note`: how it was told ours, when not for certain.
    async fn wallet_paid(&self, e: &mut Entry, amount: Money, note: Option<String>) -> Result<Flow, DeskError> {
        record_wallet_payment(e, amount);
        if let Some(note) = note {
            tracing::warn!(journal = e.id, invoice = e.invoice_no, "{note}");
            e.reason = Some(note);
        }
        e.last_error = None;
        self.to(e, State::Finalized).await?;
        Ok(Flow::Continue)
    }

    /// The invoice was settled at the gateway (paid or cancelled), not by the wallet payment:
    /// nothing moved; the cache shows it as the gateway does.
    async fn wallet_paid_otherwise(&self, e: &mut Entry, status: gateway::InvoiceStatus) -> Result<Flow, DeskError> {
        journal::mark_invoice_settled(self.pool, e.invoice_no, &e.currency, status).await?;
        self.reject(e, format!("the invoice is already {} at the gateway", status.as_str())).await
    }
}

/// A refusal the gateway documents (GATEWAY-API.md: `pay`'s errors, "Bad Invoice", 401, 403),
/// answered by the gateway itself to this send ([`in_flight::gateway_answered`]): it refused
/// before acting. Not: an undocumented answer (`Other`, which may come after the gateway acted),
/// a 5xx, a 429, an answer that does not read, nor no answer at all.
fn documented_refusal(err: &GatewayError) -> bool {
    in_flight::gateway_answered(err)
        && !matches!(
            err,
            GatewayError::Other { .. }
                | GatewayError::Server { .. }
                | GatewayError::RateLimited { .. }
                | GatewayError::InvalidResponse { .. }
        )
}

/// What the gateway's invoice says of the full wallet payment.
enum WalletRead {
    /// Cannot tell now (why).
    Unknown(String),
    /// Still outstanding: the wallet payment did not settle it.
    Outstanding,
    /// Paid by a wallet payment that matches ours, of this amount in the invoice's currency.
    Ours(Money),
    /// Paid by a wallet payment that matches ours but for its time, which the gateway did not
    /// give (or not readably): ours once our payment cannot land any more (the note says so).
    Undated(Money, String),
    /// Paid, with wallet payments of which none matches ours (why, for a clerk).
    Unmatched(String),
    /// Settled otherwise (another payment, or cancelled).
    PaidOtherwise(gateway::InvoiceStatus),
}

/// The full wallet payment, journaled as what the gateway's answer states: the amount paid in
/// the **invoice's** currency, with that currency (the answer of `pay` gives no wallet-currency
/// figure or rate). `wallet_amount` is always in `wallet_currency`, on both paths.
fn record_wallet_payment(e: &mut Entry, amount: Money) {
    let text = amount.to_decimal_string();
    e.wallet_amount = Some(text.clone());
    e.wallet_currency = Some(amount.currency().code().to_owned());
    e.wallet_in_invoice_currency = Some(text);
    e.exchange_rate = None;
}
