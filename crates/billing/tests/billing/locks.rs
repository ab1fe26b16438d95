//! The locks: one driver per open entry, recovery order, lease timing and ownership.
