//! "Test connection": a one-row invoice list at the gateway, an OAuth token at PayPal.

use super::Desk;
use crate::{audit, DeskError};
use serde::Serialize;
use ts_rs::TS;

impl Desk {
    /// Tries both services with the credentials in use: a one-row invoice list at the gateway,
    /// an OAuth token at PayPal. Moves nothing.
    pub async fn test_connection(&self) -> ConnectionReport {
        let started = std::time::Instant::now();
        let gateway = match self.gateway.as_ref().map_err(Clone::clone) {
            Err(e) => ConnectionCheck::failed(e, started),
            Ok(gw) => {
                let q = gateway::InvoiceListQuery { limit: 1, ..gateway::InvoiceListQuery::default() };
                match gw.list_invoices(&q).await {
                    Ok(p) => {
                        self.note_reachability(None);
                        let n = p.total.map_or_else(String::new, |t| format!(" ({t} outstanding invoices)"));
                        ConnectionCheck::ok(format!("The gateway answered{n}."), started)
                    }
                    Err(e) => {
                        let e = DeskError::from(e);
                        self.note_reachability(Some(&e));
                        ConnectionCheck::failed(e, started)
                    }
                }
            }
        };
        let started = std::time::Instant::now();
        let paypal = match self.paypal.as_ref().map_err(Clone::clone) {
            Err(e) => ConnectionCheck::failed(e, started),
            Ok(pp) => match pp.access_token().await {
                Ok(_) => ConnectionCheck::ok("PayPal accepted the client id and secret.".to_owned(), started),
                Err(e) => ConnectionCheck::failed(DeskError::from(e), started),
            },
        };
        let report = ConnectionReport { gateway, paypal };
        let detail = serde_json::json!({ "gateway": report.gateway.ok, "paypal": report.paypal.ok });
        if let Err(e) = audit::record(
            self.pool(),
            &self.settings().staff_name,
            self.environment(),
            audit::AuditAction::ConnectionTested,
            None,
            detail,
        )
        .await
        {
            tracing::warn!(error = %e, "could not audit the connection test");
        }
        report
    }
}

/// The outcome of one "test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConnectionCheck {
    pub ok: bool,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<DeskError>,
    #[ts(type = "number")]
    pub millis: u64,
}

impl ConnectionCheck {
    fn ok(message: String, started: std::time::Instant) -> Self {
        ConnectionCheck { ok: true, message, error: None, millis: millis(started) }
    }
    fn failed(e: DeskError, started: std::time::Instant) -> Self {
        tracing::warn!(code = ?e.code, detail = ?e.detail, "connection test failed");
        ConnectionCheck { ok: false, message: e.message.clone(), error: Some(e), millis: millis(started) }
    }
}

fn millis(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConnectionReport {
    pub gateway: ConnectionCheck,
    pub paypal: ConnectionCheck,
}
