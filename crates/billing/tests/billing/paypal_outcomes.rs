//! PayPal outcomes after a capture was sent.
