//! Exact decimal amounts for the checker: the sandbox's JSON numbers and strings compared and
//! subtracted without floating point.

use std::cmp::Ordering;
use std::fmt;

/// `mantissa × 10^-scale`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dec {
    mantissa: i128,
    scale: u32,
}

impl Dec {
    /// `"12.30"`, `"-4"`, `"1e-5"`, `"2.5E3"`; `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Dec> {
        let text = text.trim();
        let (number, exponent) = match text.split_once(['e', 'E']) {
            Some((n, e)) => (n, e.parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (negative, digits) = match number.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, number),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty() || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
            return None;
        }
        let mut mantissa: i128 = 0;
        for c in int.chars().chain(frac.chars()) {
            mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(c.to_digit(10)?))?;
        }
        let mut scale = i32::try_from(frac.len()).ok()? - exponent;
        while scale < 0 {
            mantissa = mantissa.checked_mul(10)?;
            scale += 1;
        }
        let scale = u32::try_from(scale).ok().filter(|s| *s <= 30)?;
        Some(Dec { mantissa: if negative { -mantissa } else { mantissa }, scale })
    }

    /// A JSON number or string holding one.
    pub(crate) fn from_json(v: &serde_json::Value) -> Option<Dec> {
        match v {
            serde_json::Value::Number(n) => Dec::parse(&n.to_string()),
            serde_json::Value::String(s) => Dec::parse(s),
            _ => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn zero() -> Dec {
        Dec { mantissa: 0, scale: 0 }
    }

    fn rescaled(self, scale: u32) -> Option<i128> {
        self.mantissa.checked_mul(10i128.checked_pow(scale.checked_sub(self.scale)?)?)
    }

    fn aligned(self, other: Dec) -> Option<(i128, i128, u32)> {
        let scale = self.scale.max(other.scale);
        Some((self.rescaled(scale)?, other.rescaled(scale)?, scale))
    }

    pub(crate) fn checked_sub(self, other: Dec) -> Option<Dec> {
        let (a, b, scale) = self.aligned(other)?;
        Some(Dec { mantissa: a.checked_sub(b)?, scale })
    }

    /// With exactly `scale` decimals (`None` if that would drop digits).
    pub(crate) fn fixed(self, scale: u32) -> Option<String> {
        let m = self.rescaled(scale)?;
        let sign = if m < 0 { "-" } else { "" };
        let digits = format!("{:0>width$}", m.unsigned_abs(), width = scale as usize + 1);
        let (int, frac) = digits.split_at(digits.len() - scale as usize);
        Some(if scale == 0 { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") })
    }

    pub(crate) fn is_negative(self) -> bool {
        self.mantissa < 0
    }

    pub(crate) fn is_zero(self) -> bool {
        self.mantissa == 0
    }
}

impl PartialEq for Dec {
    fn eq(&self, other: &Dec) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Dec {}

impl PartialOrd for Dec {
    fn partial_cmp(&self, other: &Dec) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dec {
    fn cmp(&self, other: &Dec) -> Ordering {
        match self.aligned(*other) {
            Some((a, b, _)) => a.cmp(&b),
            // out of range only past 10^38: compare the signs and then the integer parts
            None => (self.mantissa.signum(), self.mantissa / 10i128.pow(self.scale))
                .cmp(&(other.mantissa.signum(), other.mantissa / 10i128.pow(other.scale))),
        }
    }
}

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mut m, mut scale) = (self.mantissa, self.scale);
        while scale > 0 && m % 10 == 0 {
            m /= 10;
            scale -= 1;
        }
        let sign = if m < 0 { "-" } else { "" };
        let digits = m.unsigned_abs().to_string();
        let scale = scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).expect(s)
    }

    #[test]
    fn equal_amounts_in_any_notation_are_equal() {
        assert_eq!(d("100.10"), d("100.1"));
        assert_eq!(d("79657"), d("79657.00"));
        assert_eq!(d("1e-5"), d("0.00001"));
        assert_eq!(d("2.5E3"), d("2500"));
        assert_ne!(d("206.03"), d("206.3"));
        assert!(d("-0.01") < Dec::zero());
        assert_eq!(d("0.00").to_string(), "0");
        assert_eq!(d("-0.050").to_string(), "-0.05");
        assert_eq!(d("6400.46").to_string(), "6400.46");
    }

    #[test]
    fn fixed_decimals_keep_every_digit() {
        assert_eq!(d("240").fixed(2).as_deref(), Some("240.00"));
        assert_eq!(d("0.5").fixed(2).as_deref(), Some("0.50"));
        assert_eq!(d("-3.1").fixed(2).as_deref(), Some("-3.10"));
        assert_eq!(d("12.345").fixed(2), None);
    }

    #[test]
    fn subtraction_is_exact() {
        assert_eq!(d("96.54").checked_sub(d("96.54")).map(|x| x.is_zero()), Some(true));
        assert_eq!(d("40.5").checked_sub(d("40.51")).map(|x| x.to_string()), Some("-0.01".to_owned()));
    }

    #[test]
    fn non_numbers_are_refused() {
        for bad in ["", "-", ".", "1.2.3", "12a", "1e", "--1", " 1 2"] {
            assert!(Dec::parse(bad).is_none(), "{bad:?}");
        }
        assert_eq!(Dec::from_json(&serde_json::json!(96.54)), Some(d("96.54")));
        assert_eq!(Dec::from_json(&serde_json::json!("0.10")), Some(d("0.1")));
        assert_eq!(Dec::from_json(&serde_json::json!(null)), None);
    }
}
