//! Gateway outcomes after a finalization was sent.
