//! FNV-1a, 64 bits: a digest stable across builds, versions and machines (std's hasher promises
//! none of that), for keys and pins that must come out the same every time: the approval pin,
//! an over-long PayPal request id, the app's single-instance bus name. Not for security.

/// FNV-1a (64 bits) of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    #[test]
    fn it_is_the_published_function() {
        // test vectors of the FNV reference (http://www.isthe.com/chongo/tech/comp/fnv/)
        assert_eq!(super::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(super::fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
