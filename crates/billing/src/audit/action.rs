//! What an audit entry records: one enum, whose word is stored in `audit_log.action` and whose
//! label is what the Activity view shows a clerk. The log is append-only, so a word once written
//! is never renamed; a word this version does not know (a later version's) shows as itself.

use crate::capture::journal::State;

/// Every action the desk audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// An invoice sync ended well (`sync`) or not (`sync_failed`).
    Sync,
    SyncFailed,
    CredentialSaved,
    CredentialRemoved,
    ConnectionTested,
    SettingsSaved,
    BatchSettingsSaved,
    /// An old single-database data directory split per environment.
    DataMigrated,
    /// A capture attempt reached this journal state (`capture.planned` … `capture.finalized`).
    Capture(State),
    PaypalReauthorized,
    PaypalReauthorizeFailed,
    BatchCreated,
    BatchExcluded,
    BatchIncluded,
    BatchPreflighted,
    BatchApprovalRefused,
    BatchApproved,
    BatchRunStarted,
    BatchRunResumed,
    BatchItemEnded,
    BatchPaused,
    BatchCompleted,
    BatchCancelled,
}

const STATES: [State; 10] = [
    State::Planned,
    State::PartProcessed,
    State::PaypalCaptureSent,
    State::PaypalCaptured,
    State::Verified,
    State::FinalizeSent,
    State::WalletPaySent,
    State::Finalized,
    State::Rejected,
    State::NeedsAttention,
];

/// The actions without a journal state, with their words and labels.
const PLAIN: [(AuditAction, &str, &str); 22] = [
    (AuditAction::Sync, "sync", "Invoices synced"),
    (AuditAction::SyncFailed, "sync_failed", "Invoice sync failed"),
    (AuditAction::CredentialSaved, "credential.saved", "Credential saved in the keyring"),
    (AuditAction::CredentialRemoved, "credential.removed", "Credential removed from the keyring"),
    (AuditAction::ConnectionTested, "connection.tested", "Connections tested"),
    (AuditAction::SettingsSaved, "settings.saved", "Settings saved"),
    (AuditAction::BatchSettingsSaved, "settings.batch_saved", "Batch settings saved"),
    (AuditAction::DataMigrated, "data.migrated", "Data split per environment"),
    (AuditAction::PaypalReauthorized, "paypal.reauthorized", "PayPal payment reauthorized"),
    (AuditAction::PaypalReauthorizeFailed, "paypal.reauthorize_failed", "PayPal reauthorization not made"),
    (AuditAction::BatchCreated, "batch.created", "Batch created"),
    (AuditAction::BatchExcluded, "batch.excluded", "Batch item excluded"),
    (AuditAction::BatchIncluded, "batch.included", "Batch item included again"),
    (AuditAction::BatchPreflighted, "batch.preflighted", "Batch preflighted"),
    (AuditAction::BatchApprovalRefused, "batch.approval_refused", "Batch approval refused"),
    (AuditAction::BatchApproved, "batch.approved", "Batch approved"),
    (AuditAction::BatchRunStarted, "batch.run_started", "Batch run started"),
    (AuditAction::BatchRunResumed, "batch.run_resumed", "Batch run resumed"),
    (AuditAction::BatchItemEnded, "batch.item_ended", "Batch item ended"),
    (AuditAction::BatchPaused, "batch.paused", "Batch paused"),
    (AuditAction::BatchCompleted, "batch.completed", "Batch completed"),
    (AuditAction::BatchCancelled, "batch.cancelled", "Batch cancelled"),
];

fn capture_label(state: State) -> &'static str {
    match state {
        State::Planned => "Capture planned",
        State::PartProcessed => "Capture: wallet part prepared at the gateway",
        State::PaypalCaptureSent => "Capture: sent to PayPal",
        State::PaypalCaptured => "Capture: captured at PayPal",
        State::Verified => "Capture: verified at PayPal",
        State::FinalizeSent => "Capture: reported to the gateway",
        State::WalletPaySent => "Capture: wallet payment reported to the gateway",
        State::Finalized => "Capture done: invoice paid",
        State::Rejected => "Capture rejected",
        State::NeedsAttention => "Capture needs attention",
    }
}

impl AuditAction {
    /// Every action, each once.
    pub fn all() -> impl Iterator<Item = AuditAction> {
        PLAIN.iter().map(|(a, _, _)| *a).chain(STATES.into_iter().map(AuditAction::Capture))
    }

    /// The word stored in the log.
    pub fn word(self) -> String {
        match self {
            AuditAction::Capture(state) => format!("capture.{}", state.as_str()),
            plain => PLAIN.iter().find(|(a, _, _)| *a == plain).map(|(_, w, _)| (*w).to_owned()).unwrap_or_default(),
        }
    }

    /// What a clerk reads.
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::Capture(state) => capture_label(state),
            plain => PLAIN.iter().find(|(a, _, _)| *a == plain).map(|(_, _, l)| *l).unwrap_or_default(),
        }
    }

    /// The action a stored word names, if this version knows it.
    pub fn from_word(word: &str) -> Option<AuditAction> {
        if let Some(state) = word.strip_prefix("capture.") {
            return State::parse(state).ok().map(AuditAction::Capture);
        }
        PLAIN.iter().find(|(_, w, _)| *w == word).map(|(a, _, _)| *a)
    }
}

/// The label of a stored word: its action's, or the word itself when this version does not know it.
pub fn label_of(word: &str) -> String {
    AuditAction::from_word(word).map_or_else(|| word.to_owned(), |a| a.label().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn each_action_has_one_word_and_one_label_and_reads_back() {
        let all: Vec<AuditAction> = AuditAction::all().collect();
        assert_eq!(all.len(), 22 + STATES.len());
        let words: HashSet<String> = all.iter().map(|a| a.word()).collect();
        let labels: HashSet<&str> = all.iter().map(|a| a.label()).collect();
        assert_eq!(words.len(), all.len(), "a word twice");
        assert_eq!(labels.len(), all.len(), "a label twice");
        for a in all {
            assert!(!a.word().is_empty() && !a.label().is_empty(), "{a:?}");
            assert_eq!(AuditAction::from_word(&a.word()), Some(a), "{a:?}");
            assert_ne!(label_of(&a.word()), a.word(), "{a:?} shows its raw word");
        }
    }

    #[test]
    fn the_stored_words_stay_as_written() {
        // words already in users' logs: renaming one would orphan its entries
        assert_eq!(AuditAction::Capture(State::Finalized).word(), "capture.finalized");
        assert_eq!(AuditAction::Capture(State::Planned).word(), "capture.planned");
        assert_eq!(AuditAction::BatchApprovalRefused.word(), "batch.approval_refused");
        assert_eq!(AuditAction::Sync.word(), "sync");
        assert_eq!(AuditAction::PaypalReauthorizeFailed.word(), "paypal.reauthorize_failed");
        assert_eq!(label_of("capture.finalized"), "Capture done: invoice paid");
    }

    #[test]
    fn an_unknown_word_shows_as_itself() {
        assert_eq!(label_of("batch.something_later"), "batch.something_later");
        assert_eq!(label_of("capture.unknown_state"), "capture.unknown_state");
        assert_eq!(AuditAction::from_word(""), None);
    }
}
